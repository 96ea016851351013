"""Dataset uploads: reserve at presign, number and commit at finalize.

Nothing of an upload is visible in the dataset API until finalize has
checked every file. A failed finalize deletes the uploaded objects and
the reservation, so the client starts again with a new presign.
"""

import contextlib
import dataclasses
import logging
import posixpath
import re
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pdtrain_core.archive import file_sha256
from pdtrain_orchestrator import fault_points, quota
from pdtrain_orchestrator.dataset_check import describe_dataset
from pdtrain_orchestrator.errors import (
    Conflict,
    Invalid,
    NotFound,
    QuotaExceeded,
)
from pdtrain_orchestrator.models import (
    Dataset,
    DatasetFile,
    DatasetVersion,
    Upload,
    new_id,
)
from pdtrain_orchestrator.settings import Settings
from pdtrain_orchestrator.storage.local import LocalObjectStore, check_key

LOG = logging.getLogger(__name__)

NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
ARCHIVE_KINDS = ("directory",)
MAX_FILES = 10_000
# Concurrent finalizes of one dataset may pick the same version number;
# the unique constraint rejects all but one, and the others retry.
COMMIT_ATTEMPTS = 5

# TODO: a presign that is never finalized keeps its Upload row and any
# uploaded objects until its dataset is deleted (it no longer holds a
# version number). Remove once stale uploads expire.


@dataclasses.dataclass
class StoredFile:
    """One uploaded file of a dataset version, checked at finalize."""

    path: str
    key: str
    size_bytes: int
    sha256: str
    content_type: str | None
    location: Path


def check_dataset_name(name: str) -> str:
    if not NAME_PATTERN.fullmatch(name):
        raise Invalid(
            f"invalid dataset name {name!r}: use 1 to 128 letters, digits, "
            "'.', '_' or '-', starting with a letter or digit"
        )
    return name


def check_file_paths(paths: list[str]) -> None:
    """Reject absolute, escaping, duplicate or too many file paths."""
    if len(paths) > MAX_FILES:
        raise Invalid(f"{len(paths)} files is over the limit of {MAX_FILES}")
    seen = set()
    for path in paths:
        check_key(path)
        if path.startswith("/") or posixpath.normpath(path) != path:
            raise Invalid(f"invalid file path {path!r}: use a relative path")
        if path in seen:
            raise Invalid(f"file path {path!r} is listed twice")
        seen.add(path)


def _find_dataset_id(session: Session, owner: str, body) -> str:
    """Return the id for the upload: an existing or reserved one, or new."""
    if body.dataset_id:
        dataset = session.get(Dataset, body.dataset_id)
        pending = session.scalar(
            select(Upload.id)
            .where(Upload.dataset_id == body.dataset_id, Upload.owner == owner)
            .limit(1)
        )
        if (dataset is None or dataset.owner != owner) and not pending:
            raise NotFound(f"dataset {body.dataset_id} not found")
        return body.dataset_id
    dataset_id = session.scalar(
        select(Dataset.id).where(
            Dataset.owner == owner, Dataset.name == body.dataset_name
        )
    )
    # A second upload of a name not yet finalized shares the first's id.
    dataset_id = dataset_id or session.scalar(
        select(Upload.dataset_id)
        .where(Upload.owner == owner, Upload.dataset_name == body.dataset_name)
        .limit(1)
    )
    return dataset_id or new_id()


def _next_version(session: Session, dataset_id: str) -> int:
    finalized = session.scalar(
        select(func.max(DatasetVersion.version)).where(
            DatasetVersion.dataset_id == dataset_id
        )
    )
    reserved = session.scalar(
        select(func.max(Upload.version)).where(Upload.dataset_id == dataset_id)
    )
    deleted = session.scalar(
        select(Dataset.last_version).where(Dataset.id == dataset_id)
    )
    return max(finalized or 0, reserved or 0, deleted or 0) + 1


def _version_exists(session: Session, dataset_id: str, version: int):
    return (
        session.scalar(
            select(DatasetVersion.id).where(
                DatasetVersion.dataset_id == dataset_id,
                DatasetVersion.version == version,
            )
        )
        is not None
    )


def reserve_upload(session: Session, owner: str, body) -> Upload:
    """Create the Upload row that reserves a dataset id and version."""
    check_dataset_name(body.dataset_name)
    check_file_paths([item.path for item in body.files])
    dataset_id = _find_dataset_id(session, owner, body)
    version = body.version or _next_version(session, dataset_id)
    if _version_exists(session, dataset_id, version):
        raise Conflict(f"dataset {dataset_id} already has version {version}")

    upload = Upload(
        id=new_id(),
        owner=owner,
        dataset_id=dataset_id,
        version=version,
        dataset_name=body.dataset_name,
        description=body.description,
    )
    prefix = f"{owner}/datasets/{dataset_id}/{upload.id}"
    upload.files = [
        {
            "path": item.path,
            "key": f"{prefix}/{item.path}",
            "content_type": item.content_type,
        }
        for item in body.files
    ]
    session.add(upload)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict(
            f"version {version} of dataset {dataset_id} is being uploaded "
            "already; retry without a version"
        ) from None
    return upload


def _check_file(entry: dict, expected, store: LocalObjectStore, stack):
    if not store.exists(entry["key"]):
        raise Invalid(f"file {entry['path']!r} was not uploaded")
    # fetch downloads the object when the store is S3; stack removes the
    # copy once finalize is done with it.
    location = stack.enter_context(store.fetch(entry["key"]))
    size = location.stat().st_size
    digest = file_sha256(location)
    if expected and expected.size_bytes not in (None, size):
        raise Invalid(
            f"size mismatch for {entry['path']!r}: expected "
            f"{expected.size_bytes} bytes, stored {size}"
        )
    if expected and expected.sha256 and expected.sha256.lower() != digest:
        raise Invalid(
            f"sha256 mismatch for {entry['path']!r}: expected "
            f"{expected.sha256}, stored {digest}"
        )
    return StoredFile(
        entry["path"],
        entry["key"],
        size,
        digest,
        entry.get("content_type"),
        location,
    )


def check_files(upload: Upload, body, store: LocalObjectStore, stack):
    """Check every uploaded file against the finalize request.

    Local copies of the files live until stack (an ExitStack) closes.
    """
    expected = {item.path: item for item in body.files or []}
    unknown = set(expected) - {entry["path"] for entry in upload.files}
    if unknown:
        raise Invalid(f"files not in the presign: {sorted(unknown)}")
    files = [
        _check_file(entry, expected.get(entry["path"]), store, stack)
        for entry in upload.files
    ]
    total = sum(item.size_bytes for item in files)
    if body.size_bytes is not None and body.size_bytes != total:
        raise Invalid(
            f"size_bytes is {body.size_bytes}, uploaded files total {total}"
        )
    if body.num_files is not None and body.num_files != len(files):
        raise Invalid(
            f"num_files is {body.num_files}, {len(files)} files uploaded"
        )
    return files


def check_archive(files: list[StoredFile], archive: str | None) -> None:
    """Check that a packed directory is one tar.gz file.

    Whether it is safe to unpack is part of the content validation, and
    member paths, links and sizes are checked again when the archive is
    extracted, by the executor and by `dataset download`.
    """
    if archive is None:
        return
    if archive not in ARCHIVE_KINDS:
        raise Invalid(f"unknown archive {archive!r}; accepted: directory")
    if len(files) != 1 or not files[0].path.endswith(".tar.gz"):
        raise Invalid("archive 'directory' needs exactly one .tar.gz file")


def _dataset_of(session: Session, upload: Upload) -> Dataset:
    dataset = session.get(Dataset, upload.dataset_id)
    if dataset is None:
        dataset = Dataset(
            id=upload.dataset_id,
            owner=upload.owner,
            name=upload.dataset_name,
            description=upload.description,
        )
        session.add(dataset)
    return dataset


def _file_row(version_id: int, item: StoredFile) -> DatasetFile:
    return DatasetFile(
        version_id=version_id,
        path=item.path,
        s3_key=item.key,
        size_bytes=item.size_bytes,
        sha256=item.sha256,
        content_type=item.content_type,
    )


def _store_version(
    session: Session,
    upload: Upload,
    body,
    files: list[StoredFile],
    validation: dict,
) -> int:
    dataset = _dataset_of(session, upload)
    number = max(
        _next_committed_version(session, dataset.id),
        (dataset.last_version or 0) + 1,
    )
    version = DatasetVersion(
        dataset_id=dataset.id,
        version=number,
        size_bytes=sum(item.size_bytes for item in files),
        num_files=len(files),
        archive=body.archive,
        description=upload.description,
        validation=validation,
    )
    session.add(version)
    session.flush()
    session.add_all(_file_row(version.id, item) for item in files)

    if body.set_current or dataset.current_version is None:
        dataset.current_version = number
    dataset.last_version = number
    if upload.description:
        dataset.description = upload.description
    session.delete(upload)
    return number


def _next_committed_version(session: Session, dataset_id: str) -> int:
    # Versions are numbered when they are committed, not when presign
    # reserves them, so uploads that were abandoned leave no gaps.
    latest = session.scalar(
        select(func.max(DatasetVersion.version)).where(
            DatasetVersion.dataset_id == dataset_id
        )
    )
    return (latest or 0) + 1


def _commit_version(session, upload, body, files, validation) -> int:
    """Commit the version under the next free number and return it."""
    for _ in range(COMMIT_ATTEMPTS):
        number = _store_version(session, upload, body, files, validation)
        try:
            session.commit()
            return number
        except IntegrityError:
            # A concurrent finalize took the number (or created the
            # dataset); the rollback brings the reservation back.
            session.rollback()
            LOG.info(
                "Version %d of dataset %s was taken; retrying",
                number,
                upload.dataset_id,
            )
    raise Conflict(
        f"dataset {upload.dataset_name!r} is being changed by other "
        "uploads; finalize again"
    )


def discard_upload(
    session: Session, upload: Upload, store: LocalObjectStore
) -> None:
    """Delete an upload's objects and its reservation."""
    session.rollback()
    keys = [entry["key"] for entry in upload.files]
    session.delete(upload)
    session.commit()
    for key in keys:
        store.delete(key)


def _reject(session, upload, store, validation) -> None:
    LOG.info(
        "Dataset %s version %d failed validation: %s",
        upload.dataset_id,
        upload.version,
        "; ".join(validation["errors"]),
    )
    discard_upload(session, upload, store)


def find_upload(
    session: Session, owner: str, dataset_id: str, version: int
) -> Upload | None:
    """Return the pending upload that presign reserved, or None."""
    return session.scalar(
        select(Upload).where(
            Upload.owner == owner,
            Upload.dataset_id == dataset_id,
            Upload.version == version,
        )
    )


def finalize_upload(
    session: Session,
    upload: Upload,
    body,
    settings: Settings,
    store: LocalObjectStore,
) -> dict:
    """Check the files of upload and commit its dataset version.

    Returns (validation result, committed version number). A failed
    validation commits nothing: the upload is discarded and the number
    is None. On Invalid or QuotaExceeded the upload is discarded before
    the error propagates.
    """
    stack = contextlib.ExitStack()
    try:
        files = check_files(upload, body, store, stack)
        check_archive(files, body.archive)
        new_dataset = session.get(Dataset, upload.dataset_id) is None
        total = sum(item.size_bytes for item in files)
        quota.check_dataset_quota(
            session, upload.owner, settings, total, new_dataset
        )
        validation = describe_dataset(
            [(item.path, item.location) for item in files],
            body.archive,
            settings.dataset_full_parse_bytes,
        )
        if validation["status"] == "failed":
            _reject(session, upload, store, validation)
            return validation, None
        fault_points.reach("dataset_finalize")
        number = _commit_version(session, upload, body, files, validation)
    except (Invalid, QuotaExceeded) as error:
        LOG.info(
            "Rejected upload of dataset %s version %d: %s",
            upload.dataset_id,
            upload.version,
            error.detail,
        )
        discard_upload(session, upload, store)
        raise
    finally:
        stack.close()
    return validation, number
