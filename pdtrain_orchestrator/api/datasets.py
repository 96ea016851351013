"""Datasets: presigned uploads, finalize, list, show, download, delete."""

import datetime
import logging

from fastapi import APIRouter
from sqlalchemy import select
from sqlalchemy.orm import Session

from pdtrain_orchestrator import (
    dataset_retries,
    dataset_uploads,
    multipart_uploads,
)
from pdtrain_orchestrator.api.common import get_owned, paginate
from pdtrain_orchestrator.api.storage import expiry_seconds
from pdtrain_orchestrator.deps import (
    BaseUrlDep,
    LimitDep,
    OffsetDep,
    OwnerDep,
    SessionDep,
    SettingsDep,
    StoreDep,
    VersionPath,
    VersionQuery,
)
from pdtrain_orchestrator.errors import Conflict, NotFound
from pdtrain_orchestrator.models import (
    TERMINAL_STATUSES,
    Dataset,
    DatasetFile,
    DatasetVersion,
    Run,
    Upload,
)
from pdtrain_orchestrator.schemas import (
    DatasetFinalizeRequest,
    DatasetFinalizeResponse,
    DatasetListResponse,
    DatasetPresignRequest,
    DatasetPresignResponse,
    DatasetResponse,
    DeletedResponse,
    DownloadResponse,
)

LOG = logging.getLogger(__name__)

router = APIRouter(prefix="/v1/datasets", tags=["datasets"])


def _versions_of(session: Session, dataset_ids: list[str]) -> dict:
    rows = session.scalars(
        select(DatasetVersion)
        .where(DatasetVersion.dataset_id.in_(dataset_ids))
        .order_by(DatasetVersion.version)
    )
    found: dict[str, list[DatasetVersion]] = {key: [] for key in dataset_ids}
    for row in rows:
        found[row.dataset_id].append(row)
    return found


def dataset_dict(dataset: Dataset, versions: list[DatasetVersion]) -> dict:
    """Return the API form of a dataset and its versions."""
    current = [v for v in versions if v.version == dataset.current_version]
    return {
        "id": dataset.id,
        "name": dataset.name,
        "description": dataset.description,
        "current_version": dataset.current_version,
        "visibility": dataset.visibility,
        "tags": dataset.tags or [],
        "size_bytes": current[0].size_bytes if current else 0,
        "versions": [
            {
                "version": v.version,
                "size_bytes": v.size_bytes,
                "num_files": v.num_files,
                "archive": v.archive,
                "description": v.description,
                # Versions stored before content checks may have none.
                "validation": v.validation or None,
                "created_at": v.created_at,
            }
            for v in versions
        ],
        "created_at": dataset.created_at,
        "updated_at": dataset.updated_at,
    }


@router.post("/presign", response_model=DatasetPresignResponse)
def presign_dataset(
    body: DatasetPresignRequest,
    owner: OwnerDep,
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
    base_url: BaseUrlDep,
):
    """Reserve a dataset version and return one presigned POST per file."""
    upload = dataset_uploads.reserve_upload(session, owner, body)
    seconds = expiry_seconds(settings, body.expires_in)
    presigned = []
    for entry in upload.files:
        post = store.presigned_post(
            base_url, entry["key"], seconds, entry["content_type"]
        )
        presigned.append(
            {**post, "path": entry["path"], "s3_key": entry["key"]}
        )
    LOG.info(
        "Reserved dataset %s version %d (upload %s)",
        upload.dataset_id,
        upload.version,
        upload.id,
    )
    expires_at = datetime.datetime.now(datetime.timezone.utc)
    return {
        "dataset_id": upload.dataset_id,
        "version": upload.version,
        "upload_id": upload.id,
        "presigned": presigned,
        "expires_at": expires_at + datetime.timedelta(seconds=seconds),
    }


@router.post("/finalize", response_model=DatasetFinalizeResponse)
def finalize_dataset(
    body: DatasetFinalizeRequest,
    owner: OwnerDep,
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
):
    """Check the uploaded files and make the dataset version visible.

    Validation is synchronous. When it fails, status is "failed", the
    validation lists the errors, version is null and no version exists:
    the uploaded files are deleted. The version is numbered when it is
    committed, so the answer's version may differ from the one presign
    reserved. Finalizing an upload that is already committed returns
    the version it made, found by its files' sha256 when the request
    lists them.
    """
    upload = dataset_uploads.find_upload(
        session, owner, body.dataset_id, body.version
    )
    if upload is not None:
        validation, number = dataset_uploads.finalize_upload(
            session, upload, body, settings, store
        )
        if number is not None:
            LOG.info("Created dataset %s version %d", body.dataset_id, number)
    else:
        done = dataset_retries.find_committed(session, owner, body)
        if done is None:
            raise NotFound(
                f"no pending upload of dataset {body.dataset_id} version "
                f"{body.version}; call presign first"
            )
        validation, number = done.validation, done.version
    return {
        "status": "ready" if number is not None else "failed",
        "dataset_id": body.dataset_id,
        "version": number,
        "validation": validation,
    }


def _find_version(session, owner, dataset_id, version):
    return session.scalar(
        select(DatasetVersion)
        .join(Dataset, Dataset.id == DatasetVersion.dataset_id)
        .where(
            Dataset.owner == owner,
            Dataset.id == dataset_id,
            DatasetVersion.version == version,
        )
    )


@router.get("", response_model=DatasetListResponse)
def list_datasets(
    owner: OwnerDep,
    session: SessionDep,
    limit: LimitDep = 100,
    offset: OffsetDep = 0,
    name: str | None = None,
):
    """List datasets, newest first, as {items, total}."""
    query = select(Dataset).where(Dataset.owner == owner)
    if name:
        query = query.where(Dataset.name == name)
    query = query.order_by(Dataset.created_at.desc())
    rows, total = paginate(session, query, limit, offset)
    versions = _versions_of(session, [row.id for row in rows])
    items = [dataset_dict(row, versions[row.id]) for row in rows]
    return {"items": items, "total": total}


@router.get("/{dataset_id}", response_model=DatasetResponse)
def show_dataset(dataset_id: str, owner: OwnerDep, session: SessionDep):
    """Return one dataset with its versions."""
    dataset = get_owned(session, Dataset, dataset_id, owner, "dataset")
    return dataset_dict(
        dataset, _versions_of(session, [dataset.id])[dataset.id]
    )


def _uses(run: Run, dataset_id: str, version: int | None) -> bool:
    for item in run.inputs:
        if item.get("dataset_id") != dataset_id:
            continue
        if version is None or item.get("version") in (None, version):
            return True
    return False


def _check_unused(
    session: Session, owner: str, dataset_id: str, version=None
) -> None:
    """Raise Conflict when a run that has not ended reads the dataset.

    A created run counts: its inputs are resolved again at submit, and a
    later upload may take the deleted version's number, so the run would
    train on other data.
    """
    active = session.scalars(
        select(Run).where(
            Run.owner == owner, Run.status.not_in(TERMINAL_STATUSES)
        )
    )
    label = f"dataset {dataset_id}"
    if version is not None:
        label += f" version {version}"
    for run in active:
        if _uses(run, dataset_id, version):
            raise Conflict(
                f"{label} is an input of run {run.id}, which is "
                f"{run.status}; stop it or wait for it to end"
            )


@router.delete("/{dataset_id}", response_model=DeletedResponse)
def delete_dataset(
    dataset_id: str, owner: OwnerDep, session: SessionDep, store: StoreDep
):
    """Delete a dataset, all its versions and their stored files."""
    dataset = get_owned(session, Dataset, dataset_id, owner, "dataset")
    _check_unused(session, owner, dataset_id)
    keys = list(
        session.scalars(
            select(DatasetFile.s3_key)
            .join(DatasetVersion, DatasetVersion.id == DatasetFile.version_id)
            .where(DatasetVersion.dataset_id == dataset_id)
        )
    )
    uploads = session.scalars(
        select(Upload).where(Upload.dataset_id == dataset_id)
    ).all()
    for upload in uploads:
        keys.extend(entry["key"] for entry in upload.files)
        session.delete(upload)
    session.delete(dataset)
    session.commit()
    multipart_uploads.abort_under(
        session, store, owner, f"{owner}/datasets/{dataset_id}/"
    )

    for key in keys:
        store.delete(key)
    LOG.info("Deleted dataset %s (%d objects)", dataset_id, len(keys))
    return {"id": dataset_id, "deleted": True}


@router.delete(
    "/{dataset_id}/versions/{version}", response_model=DeletedResponse
)
def delete_dataset_version(
    dataset_id: str,
    version: VersionPath,
    owner: OwnerDep,
    session: SessionDep,
    store: StoreDep,
):
    """Delete one version and its files, freeing their quota.

    Deleting the only version deletes the dataset. A version that a run
    reads until it ends (created, pending, running and the states
    between) is not deleted (409, naming the run).
    """
    dataset = get_owned(session, Dataset, dataset_id, owner, "dataset")
    found = _find_version(session, owner, dataset_id, version)
    if found is None:
        raise NotFound(f"dataset {dataset_id} has no version {version}")
    others = session.scalars(
        select(DatasetVersion.version).where(
            DatasetVersion.dataset_id == dataset_id,
            DatasetVersion.version != version,
        )
    ).all()
    if not others:
        return delete_dataset(dataset_id, owner, session, store)
    _check_unused(session, owner, dataset_id, version)

    keys = list(
        session.scalars(
            select(DatasetFile.s3_key).where(
                DatasetFile.version_id == found.id
            )
        )
    )
    session.delete(found)
    if dataset.current_version == version:
        dataset.current_version = max(others)
    session.commit()
    for key in keys:
        store.delete(key)
    LOG.info("Deleted version %d of dataset %s", version, dataset_id)
    return {"id": dataset_id, "deleted": True}


def _download(
    session, owner, dataset_id, version, store, settings, base_url
) -> dict:
    dataset = get_owned(session, Dataset, dataset_id, owner, "dataset")
    number = version or dataset.current_version
    found = _find_version(session, owner, dataset_id, number)
    if found is None:
        raise NotFound(f"dataset {dataset_id} has no version {number}")
    files = session.scalars(
        select(DatasetFile)
        .where(DatasetFile.version_id == found.id)
        .order_by(DatasetFile.id)
    )
    seconds = settings.url_expiry_seconds
    return {
        "version": found.version,
        "archive": found.archive,
        "files": [
            {
                "file_name": item.path,
                "size_bytes": item.size_bytes,
                "sha256": item.sha256,
                "download_url": store.signed_url(
                    base_url, "GET", item.s3_key, seconds
                ),
            }
            for item in files
        ],
    }


@router.get(
    "/{dataset_id}/versions/{version}/download",
    response_model=DownloadResponse,
)
def download_version(
    dataset_id: str,
    version: VersionPath,
    owner: OwnerDep,
    session: SessionDep,
    store: StoreDep,
    settings: SettingsDep,
    base_url: BaseUrlDep,
):
    """Return signed GET URLs for the files of one dataset version."""
    return _download(
        session, owner, dataset_id, version, store, settings, base_url
    )


@router.get("/{dataset_id}/download", response_model=DownloadResponse)
def download_dataset(
    dataset_id: str,
    owner: OwnerDep,
    session: SessionDep,
    store: StoreDep,
    settings: SettingsDep,
    base_url: BaseUrlDep,
    version: VersionQuery = None,
):
    """Return signed GET URLs for a version, by default the current one."""
    return _download(
        session, owner, dataset_id, version, store, settings, base_url
    )
