"""Multipart uploads: who may start one, how big its parts are, and
the bookkeeping around the object store's multipart methods.

An upload writes to a key that a bundle or dataset presign returned
to the same owner. Nothing exists at the key until complete; the bundle
or dataset itself exists only after its finalize, as with a single PUT.
"""

import datetime
import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from pdtrain_orchestrator import quota
from pdtrain_orchestrator.errors import Conflict, Invalid, NotFound
from pdtrain_orchestrator.models import (
    Dataset,
    MultipartUpload,
    Upload,
    utcnow,
)
from pdtrain_orchestrator.settings import Settings
from pdtrain_orchestrator.storage.multipart import part_count

LOG = logging.getLogger(__name__)

MIB = 1024**2
# S3's limits, kept for every store so a client sees one set of rules:
# parts of 5 MiB to 5 GiB (the last may be smaller), at most 10,000.
MIN_PART_SIZE = 5 * MIB
MAX_PART_SIZE = 5 * 1024 * MIB
MAX_PARTS = 10_000
DEFAULT_PART_SIZE = 16 * MIB
# Open uploads older than this are aborted when a new one starts.
STALE_AFTER = datetime.timedelta(days=7)


def choose_part_size(size_bytes: int, requested: int | None) -> int:
    """Return the part size for an upload of size_bytes.

    The request is honoured within 5 MiB to 5 GiB and raised, in whole
    MiB, until the upload fits in 10,000 parts.
    """
    part_size = requested or DEFAULT_PART_SIZE
    part_size = min(max(part_size, MIN_PART_SIZE), MAX_PART_SIZE)
    needed = -(-size_bytes // MAX_PARTS)
    if part_size < needed:
        part_size = -(-needed // MIB) * MIB
    if part_size > MAX_PART_SIZE:
        raise Invalid(
            f"{size_bytes} bytes do not fit in {MAX_PARTS} parts of at "
            f"most {MAX_PART_SIZE} bytes"
        )
    return part_size


def _pending_dataset_upload(session, owner, key) -> Upload:
    for upload in session.scalars(select(Upload).where(Upload.owner == owner)):
        if any(entry["key"] == key for entry in upload.files):
            return upload
    raise NotFound(
        f"no pending dataset upload has key {key}; call dataset presign first"
    )


def check_quota(session, owner, key, size_bytes, settings) -> None:
    """Raise NotFound for a key owner may not write, or QuotaExceeded.

    This runs before any byte is sent; finalize checks quota again.
    """
    if key.startswith(f"{owner}/bundles/"):
        quota.check_bundle_quota(session, owner, settings, size_bytes)
        return
    if key.startswith(f"{owner}/datasets/"):
        upload = _pending_dataset_upload(session, owner, key)
        new_dataset = session.get(Dataset, upload.dataset_id) is None
        quota.check_dataset_quota(
            session, owner, settings, size_bytes, new_dataset
        )
        return
    raise NotFound(
        f"no upload at s3_key {key}; use the s3_key or form key that a "
        "bundle or dataset presign returned"
    )


def create_upload(
    session: Session, store, owner: str, body, settings: Settings
) -> MultipartUpload:
    """Check key, size and quota, then start the upload in the store."""
    check_quota(session, owner, body.s3_key, body.size_bytes, settings)
    abort_stale(session, store, owner)
    part_size = choose_part_size(body.size_bytes, body.part_size)
    store_id = store.create_multipart(body.s3_key, body.size_bytes, part_size)
    row = MultipartUpload(
        owner=owner,
        s3_key=body.s3_key,
        store_upload_id=store_id,
        size_bytes=body.size_bytes,
        part_size=part_size,
    )
    session.add(row)
    session.commit()
    LOG.info(
        "Multipart upload %s: %s, %d bytes in parts of %d",
        row.id,
        row.s3_key,
        row.size_bytes,
        part_size,
    )
    return row


def get_upload(session: Session, owner: str, upload_id: str):
    """Return owner's upload, or raise NotFound (also for others')."""
    row = session.get(MultipartUpload, upload_id)
    if row is None or row.owner != owner or row.status == "aborted":
        raise NotFound(f"multipart upload {upload_id} not found")
    return row


def require_open(row: MultipartUpload) -> None:
    if row.status != "open":
        raise Conflict(f"multipart upload {row.id} is {row.status}")


def upload_dict(row: MultipartUpload, parts=None) -> dict:
    """Return the API form of an upload."""
    return {
        "upload_id": row.id,
        "s3_key": row.s3_key,
        "size_bytes": row.size_bytes,
        "part_size": row.part_size,
        "part_count": part_count(row.size_bytes, row.part_size),
        "status": row.status,
        "created_at": row.created_at,
        "parts": parts,
    }


def part_urls(store, base_url, row, numbers, seconds) -> list[dict]:
    """Return a signed URL and the expected size of each part number."""
    count = part_count(row.size_bytes, row.part_size)
    urls = []
    for number in numbers:
        if not 1 <= number <= count:
            raise Invalid(f"part number {number} is outside 1 to {count}")
        offset = (number - 1) * row.part_size
        urls.append(
            {
                "part_number": number,
                "size_bytes": min(row.part_size, row.size_bytes - offset),
                "url": store.presign_part(
                    base_url, row.s3_key, row.store_upload_id, number, seconds
                ),
            }
        )
    return urls


def complete_upload(session: Session, store, row, parts) -> None:
    """Join the parts into the object and mark the upload completed."""
    pairs = [(part.part_number, part.etag.strip('"')) for part in parts]
    store.complete_multipart(row.s3_key, row.store_upload_id, pairs)
    row.status = "completed"
    row.completed_at = utcnow()
    session.commit()


def abort_upload(session: Session, store, row) -> None:
    """Drop an open upload's parts; a finished one is left alone."""
    if row.status == "open":
        try:
            store.abort_multipart(row.s3_key, row.store_upload_id)
        except NotFound:
            LOG.info("Multipart upload %s was already gone", row.id)
    row.status = "aborted" if row.status == "open" else row.status
    session.commit()


def abort_under(session: Session, store, owner: str, prefix: str) -> None:
    """Abort owner's open uploads to keys under prefix."""
    rows = session.scalars(
        select(MultipartUpload).where(
            MultipartUpload.owner == owner,
            MultipartUpload.status == "open",
            MultipartUpload.s3_key.startswith(prefix, autoescape=True),
        )
    ).all()
    for row in rows:
        abort_upload(session, store, row)


def abort_stale(session: Session, store, owner: str) -> None:
    """Abort owner's uploads that have stayed open past STALE_AFTER."""
    cutoff = utcnow() - STALE_AFTER
    rows = session.scalars(
        select(MultipartUpload).where(
            MultipartUpload.owner == owner,
            MultipartUpload.status == "open",
            MultipartUpload.created_at < cutoff,
        )
    ).all()
    for row in rows:
        LOG.info("Aborting stale multipart upload %s", row.id)
        abort_upload(session, store, row)
