"""Find the dataset version that an earlier finalize already committed.

A client repeats a finalize when it lost the response. The reservation
that presign made is gone by then, and the committed number may differ
from the reserved one: versions are numbered at commit, so an abandoned
upload or a concurrent one shifts them. The repeat is therefore matched
by content when the request lists its files (path, size and sha256),
and by the reserved number, size and file count otherwise.
"""

from sqlalchemy import select
from sqlalchemy.orm import Session

from pdtrain_orchestrator.models import Dataset, DatasetFile, DatasetVersion


def _versions(session: Session, owner: str, dataset_id: str):
    return session.scalars(
        select(DatasetVersion)
        .join(Dataset, Dataset.id == DatasetVersion.dataset_id)
        .where(Dataset.owner == owner, Dataset.id == dataset_id)
        .order_by(DatasetVersion.version.desc())
    ).all()


def _stored_files(session: Session, version: DatasetVersion) -> set:
    rows = session.execute(
        select(
            DatasetFile.path, DatasetFile.size_bytes, DatasetFile.sha256
        ).where(DatasetFile.version_id == version.id)
    ).all()
    return {tuple(row) for row in rows}


def _matches_files(session, version, files) -> bool:
    if version.num_files != len(files):
        return False
    stored = _stored_files(session, version)
    for item in files:
        found = [row for row in stored if row[0] == item.path]
        if not found:
            return False
        path, size, digest = found[0]
        if item.size_bytes is not None and item.size_bytes != size:
            return False
        if item.sha256 is not None and item.sha256.lower() != digest:
            return False
    return True


def _matches_totals(version: DatasetVersion, body) -> bool:
    if body.size_bytes is not None and body.size_bytes != version.size_bytes:
        return False
    return body.num_files is None or body.num_files == version.num_files


def find_committed(
    session: Session, owner: str, body
) -> DatasetVersion | None:
    """Return the version a finalize like body committed, or None.

    When every listed file has a sha256, the newest version holding
    exactly those files is returned. NOTE: that may be an older upload
    of the same content when this upload was rejected after its files
    were checked (a quota error), and the dataset still contains the content.
    """
    versions = _versions(session, owner, body.dataset_id)
    if body.files and all(item.sha256 for item in body.files):
        for version in versions:
            if _matches_files(session, version, body.files):
                return version
        return None
    for version in versions:
        if version.version == body.version and _matches_totals(version, body):
            return version
    return None
