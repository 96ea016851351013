"""Multipart uploads of large bundle and dataset files.

A client presigns as usual and starts a multipart upload to the key it
got. It then requests signed part URLs (again whenever they expire),
PUTs the parts in any order and in parallel, and completes the upload
with the part list before it finalizes the bundle or dataset. GET on an upload
lists the parts already stored, which is how an interrupted upload
resumes.
"""

import datetime
import logging

from fastapi import APIRouter, Response

from pdtrain_orchestrator import multipart_uploads
from pdtrain_orchestrator.api.storage import expiry_seconds
from pdtrain_orchestrator.deps import (
    BaseUrlDep,
    OwnerDep,
    SessionDep,
    SettingsDep,
    StoreDep,
)
from pdtrain_orchestrator.transfer_schemas import (
    MultipartCompleteRequest,
    MultipartCreateRequest,
    MultipartUploadResponse,
    PartUrlsRequest,
    PartUrlsResponse,
)

LOG = logging.getLogger(__name__)

router = APIRouter(prefix="/v1/storage/multipart", tags=["storage"])


@router.post("", response_model=MultipartUploadResponse)
def create_multipart(
    body: MultipartCreateRequest,
    owner: OwnerDep,
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
):
    """Start a multipart upload to a presigned key.

    Checks size and quota first, so an upload that cannot be finalized
    is refused before any byte is sent.
    """
    row = multipart_uploads.create_upload(
        session, store, owner, body, settings
    )
    return multipart_uploads.upload_dict(row)


@router.get("/{upload_id}", response_model=MultipartUploadResponse)
def show_multipart(
    upload_id: str, owner: OwnerDep, session: SessionDep, store: StoreDep
):
    """Return an upload with the parts stored so far."""
    row = multipart_uploads.get_upload(session, owner, upload_id)
    parts = []
    if row.status == "open":
        parts = store.list_parts(row.s3_key, row.store_upload_id)
    return multipart_uploads.upload_dict(row, parts)


@router.post("/{upload_id}/parts", response_model=PartUrlsResponse)
def presign_parts(
    upload_id: str,
    body: PartUrlsRequest,
    owner: OwnerDep,
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
    base_url: BaseUrlDep,
):
    """Return signed PUT URLs for the listed part numbers."""
    row = multipart_uploads.get_upload(session, owner, upload_id)
    multipart_uploads.require_open(row)
    seconds = expiry_seconds(settings, body.expires_in)
    parts = multipart_uploads.part_urls(
        store, base_url, row, body.part_numbers, seconds
    )
    expires_at = datetime.datetime.now(datetime.timezone.utc)
    expires_at += datetime.timedelta(seconds=seconds)
    return {"parts": parts, "expires_at": expires_at}


@router.post("/{upload_id}/complete", response_model=MultipartUploadResponse)
def complete_multipart(
    upload_id: str,
    body: MultipartCompleteRequest,
    owner: OwnerDep,
    session: SessionDep,
    store: StoreDep,
):
    """Join the parts into the object at the upload's key.

    Completing a completed upload again returns it unchanged.
    """
    row = multipart_uploads.get_upload(session, owner, upload_id)
    if row.status == "open":
        multipart_uploads.complete_upload(session, store, row, body.parts)
    return multipart_uploads.upload_dict(row)


@router.delete("/{upload_id}", status_code=204)
def abort_multipart(
    upload_id: str, owner: OwnerDep, session: SessionDep, store: StoreDep
):
    """Abort an upload and delete the parts stored for it."""
    row = multipart_uploads.get_upload(session, owner, upload_id)
    multipart_uploads.abort_upload(session, store, row)
    return Response(status_code=204)
