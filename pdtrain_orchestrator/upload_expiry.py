"""Drop dataset presigns that were never finalized.

A presign stores an Upload row and, once the client sends them, the
files under `<owner>/datasets/<dataset-id>/<upload-id>/`. A client that
gives up leaves both behind. An upload older than the longest signed
URL lifetime plus GRACE can receive no more bytes through its URLs, so
the leader's scheduler tick removes its row, its open multipart
uploads and its objects.
"""

import datetime
import logging

from sqlalchemy import select

from pdtrain_orchestrator import multipart_uploads
from pdtrain_orchestrator.models import Upload, utcnow

LOG = logging.getLogger(__name__)

GRACE = datetime.timedelta(days=1)
# Seconds between two sweeps of one leader.
SWEEP_SECONDS = 3600.0


def max_age(settings) -> datetime.timedelta:
    """Return the age past which a presign is abandoned."""
    return datetime.timedelta(seconds=settings.max_url_expiry_seconds) + GRACE


def expire_uploads(sessions, store, age: datetime.timedelta) -> int:
    """Remove uploads created more than age ago; return how many."""
    cutoff = utcnow() - age
    with sessions() as session:
        stale = session.scalars(
            select(Upload).where(Upload.created_at < cutoff)
        ).all()
        for upload in stale:
            prefix = (
                f"{upload.owner}/datasets/{upload.dataset_id}/{upload.id}/"
            )
            multipart_uploads.abort_under(session, store, upload.owner, prefix)
            for entry in upload.files:
                store.delete(entry["key"])
            LOG.info(
                "Removed dataset upload %s of %s, never finalized",
                upload.id,
                upload.owner,
            )
            session.delete(upload)
        session.commit()
    return len(stale)
