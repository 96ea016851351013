"""Signed object URLs: PUT, S3-style presigned POST and ranged GET.

These routes take no API key; the signature in the URL or form grants
one method on one key until it expires.
"""

import logging
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from pdtrain_orchestrator.api.ranged_file import file_response
from pdtrain_orchestrator.deps import SettingsDep, StoreDep
from pdtrain_orchestrator.errors import Invalid, NotFound
from pdtrain_orchestrator.settings import Settings
from pdtrain_orchestrator.storage.presigned_post import (
    PresignedPostReceiver,
)

LOG = logging.getLogger(__name__)

router = APIRouter(prefix="/v1/objects", tags=["objects"])

# S3 lets a presigned POST pick its success status with this field.
SUCCESS_STATUSES = {"200": 200, "201": 201, "204": 204}


def size_limit(settings: Settings, key: str) -> int:
    """Return the largest object accepted under key."""
    parts = key.split("/")
    if len(parts) > 1 and parts[1] == "bundles":
        return settings.max_bundle_bytes
    return settings.max_dataset_bytes


@router.put("/{key:path}")
async def put_object(
    key: str,
    request: Request,
    store: StoreDep,
    settings: SettingsDep,
    expires: str | None = None,
    signature: str | None = None,
    upload_id: Annotated[str | None, Query(alias="uploadId")] = None,
    part_number: Annotated[int | None, Query(alias="partNumber")] = None,
):
    """Store the request body at key (signed PUT URL).

    With uploadId and partNumber (a signed part URL) the body is one
    part of a multipart upload instead.
    """
    if upload_id is not None or part_number is not None:
        return await _put_part(
            key, request, store, upload_id, part_number, expires, signature
        )
    store.verify("PUT", key, expires, signature)
    writer = store.writer(key, size_limit(settings, key))
    await _receive(request, writer)
    LOG.info("Stored object %s (%d bytes)", key, writer.size)
    return Response(status_code=200, headers={"ETag": f'"{writer.sha256}"'})


async def _receive(request: Request, writer) -> None:
    """Stream the request body into writer; abort it on any failure."""
    try:
        async for chunk in request.stream():
            writer.write(chunk)
        writer.commit()
    except BaseException:
        writer.abort()
        raise


async def _put_part(
    key, request, store, upload_id, part_number, expires, signature
):
    if upload_id is None or part_number is None:
        raise Invalid("a part upload needs both uploadId and partNumber")
    writer = store.part_writer(key, upload_id, part_number, expires, signature)
    declared = request.headers.get("content-length")
    if declared is not None and declared != str(writer.expected):
        writer.abort()
        raise Invalid(
            f"part {part_number} must have {writer.expected} bytes, the "
            f"request declares {declared}"
        )
    await _receive(request, writer)
    LOG.debug("Stored part %d of upload %s", part_number, upload_id)
    return Response(status_code=200, headers={"ETag": f'"{writer.etag}"'})


@router.post("")
async def post_object(
    request: Request, store: StoreDep, settings: SettingsDep
):
    """Store the `file` part of an S3-style presigned POST."""
    receiver = PresignedPostReceiver(
        store, lambda key: size_limit(settings, key)
    )
    content_type = request.headers.get("content-type", "")
    key = await receiver.receive(content_type, request.stream())
    LOG.info("Stored object %s (%d bytes)", key, receiver.size)
    status = receiver.fields.get("success_action_status", "204")
    return Response(status_code=SUCCESS_STATUSES.get(status, 204))


@router.get("/{key:path}")
@router.head("/{key:path}", include_in_schema=False)
async def get_object(
    key: str,
    request: Request,
    store: StoreDep,
    expires: str | None = None,
    signature: str | None = None,
):
    """Serve the object at key, with 206 for a `Range` (signed GET URL)."""
    store.verify("GET", key, expires, signature)
    path = store.path_for(key)
    if not path.is_file():
        raise NotFound(f"object {key} not found")
    return file_response(
        path, request.headers.get("range"), head=request.method == "HEAD"
    )
