"""Bundle upload URLs and storage quota."""

import datetime
import logging
import uuid

from fastapi import APIRouter

from pdtrain_orchestrator import quota
from pdtrain_orchestrator.deps import (
    BaseUrlDep,
    OwnerDep,
    SessionDep,
    SettingsDep,
    StoreDep,
)
from pdtrain_orchestrator.errors import Invalid
from pdtrain_orchestrator.schemas import (
    PresignRequest,
    PresignResponse,
    QuotaResponse,
)
from pdtrain_orchestrator.settings import Settings
from pdtrain_orchestrator.storage.local import check_key

LOG = logging.getLogger(__name__)

router = APIRouter(tags=["storage"])

BUNDLE_PREFIX = "bundles/"


def expiry_seconds(settings: Settings, requested: int | None) -> int:
    """Return the lifetime of a signed URL, capped by the settings."""
    seconds = requested or settings.url_expiry_seconds
    return min(seconds, settings.max_url_expiry_seconds)


def bundle_key(owner: str, path: str) -> str:
    """Map a client path `bundles/<file>` to a fresh key of owner."""
    if not path.startswith(BUNDLE_PREFIX) or ".." in path.split("/"):
        raise Invalid(
            f"invalid path {path!r}: it must start with 'bundles/' and "
            "contain no '..'"
        )
    relative = path[len(BUNDLE_PREFIX) :]
    check_key(relative)
    return f"{owner}/bundles/{uuid.uuid4().hex}/{relative}"


@router.post("/v1/storage/presign", response_model=PresignResponse)
@router.post("/v1/bundles/presign", response_model=PresignResponse)
def presign_bundle(
    body: PresignRequest,
    owner: OwnerDep,
    settings: SettingsDep,
    store: StoreDep,
    base_url: BaseUrlDep,
):
    """Return a signed PUT URL and the s3_key for one bundle archive."""
    if body.operation != "put_object":
        raise Invalid(
            f"unsupported operation {body.operation!r}; use 'put_object'"
        )
    key = bundle_key(owner, body.path)
    seconds = expiry_seconds(settings, body.expires_in)
    expires_at = datetime.datetime.now(datetime.timezone.utc)
    expires_at += datetime.timedelta(seconds=seconds)
    return {
        "presigned_url": store.signed_url(base_url, "PUT", key, seconds),
        "s3_key": key,
        "expires_at": expires_at,
    }


@router.get("/v1/storage/quota", response_model=QuotaResponse)
@router.get("/v1/quota", response_model=QuotaResponse)
def show_quota(owner: OwnerDep, session: SessionDep, settings: SettingsDep):
    """Return storage use and limits of the key's owner."""
    return quota.quota_report(session, owner, settings)
