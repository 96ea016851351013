"""Bundles: finalize an uploaded archive, list, show and delete versions."""

import logging
import re
from pathlib import Path

from fastapi import APIRouter, Response
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pdtrain_core.archive import file_sha256
from pdtrain_orchestrator import quota
from pdtrain_orchestrator.api.common import (
    TOTAL_HEADER,
    get_owned,
    paginate,
    status_filter,
)
from pdtrain_orchestrator.bundle_check import (
    DEFAULT_ENTRY,
    UNPACK_RATIO,
    check_bundle,
    check_entry,
)
from pdtrain_orchestrator.deps import (
    LimitDep,
    OffsetDep,
    OwnerDep,
    SessionDep,
    SettingsDep,
    StoreDep,
)
from pdtrain_orchestrator.errors import (
    Conflict,
    Invalid,
    NotFound,
    QuotaExceeded,
)
from pdtrain_orchestrator.models import TERMINAL_STATUSES, Bundle, Run, utcnow
from pdtrain_orchestrator.schemas import (
    BundleDeletedResponse,
    BundleFinalizeRequest,
    BundleResponse,
)
from pdtrain_orchestrator.settings import Settings
from pdtrain_orchestrator.storage.local import LocalObjectStore

LOG = logging.getLogger(__name__)

router = APIRouter(prefix="/v1/bundles", tags=["bundles"])

NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz")
BUNDLE_STATUSES = ("validating", "ready", "failed")
# Concurrent finalizes of one name may pick the same version; the unique
# constraint rejects all but one, and the others retry this many times.
VERSION_ATTEMPTS = 5


def bundle_dict(bundle: Bundle) -> dict:
    """Return the API form of a bundle row."""
    fields = BundleResponse.model_fields
    return {name: getattr(bundle, name) for name in fields}


def get_live_bundle(session: Session, bundle_id: str, owner: str) -> Bundle:
    """Return owner's bundle version, or raise NotFound if it was deleted."""
    bundle = get_owned(session, Bundle, bundle_id, owner, "bundle")
    if bundle.deleted_at is not None:
        raise NotFound(
            f"bundle {bundle_id} ({bundle.name} version {bundle.version}) "
            "was deleted; upload the code again or use another version"
        )
    return bundle


def name_from_key(key: str) -> str:
    """Derive a bundle name from the uploaded file name."""
    file_name = key.rsplit("/", 1)[-1]
    for suffix in ARCHIVE_SUFFIXES:
        if file_name.lower().endswith(suffix):
            file_name = file_name[: -len(suffix)]
            break
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", file_name)
    name = name.lstrip("._-")[:128]
    return name or "bundle"


def check_name(name: str) -> str:
    if not NAME_PATTERN.fullmatch(name):
        raise Invalid(
            f"invalid bundle name {name!r}: use 1 to 128 letters, digits, "
            "'.', '_' or '-', starting with a letter or digit"
        )
    return name


def _check_object(body: BundleFinalizeRequest, path: Path):
    size = path.stat().st_size
    if body.size_bytes is not None and body.size_bytes != size:
        raise Invalid(
            f"size mismatch for {body.s3_key}: expected {body.size_bytes} "
            f"bytes, stored {size}; upload the file again"
        )
    digest = file_sha256(path)
    if body.sha256 is not None and body.sha256.lower() != digest:
        raise Invalid(
            f"sha256 mismatch for {body.s3_key}: expected {body.sha256}, "
            f"stored {digest}; upload the file again"
        )
    return size, digest


def _find_by_key(session: Session, owner: str, key: str) -> Bundle | None:
    return session.scalar(
        select(Bundle).where(Bundle.s3_key == key, Bundle.owner == owner)
    )


def _insert(session: Session, bundle: Bundle) -> Bundle:
    for _ in range(VERSION_ATTEMPTS):
        latest = session.scalar(
            select(func.max(Bundle.version)).where(
                Bundle.owner == bundle.owner, Bundle.name == bundle.name
            )
        )
        bundle.version = (latest or 0) + 1
        session.add(bundle)
        try:
            session.commit()
            return bundle
        except IntegrityError:
            session.rollback()
            # A concurrent finalize of the same key won the race.
            winner = _find_by_key(session, bundle.owner, bundle.s3_key)
            if winner is not None:
                return winner
            LOG.info(
                "Version %d of bundle %s taken; retrying",
                bundle.version,
                bundle.name,
            )
    raise Invalid(f"could not pick a version for bundle {bundle.name!r}")


def _create(
    body,
    owner: str,
    session: Session,
    settings: Settings,
    store: LocalObjectStore,
) -> Bundle:
    name = check_name(body.name) if body.name else name_from_key(body.s3_key)
    # The published contract names no entry at finalize; such clients
    # pick it when they create a run, so a missing train.py only warns.
    strict = body.entry is not None
    entry = check_entry(body.entry or DEFAULT_ENTRY)
    # The stored size is checked before fetch, which downloads the
    # object when the store is S3.
    quota.check_bundle_quota(session, owner, settings, store.size(body.s3_key))
    with store.fetch(body.s3_key) as path:
        size, digest = _check_object(body, path)
        quota.check_bundle_quota(session, owner, settings, size)
        found = check_bundle(
            path, entry, UNPACK_RATIO * settings.max_bundle_bytes, strict
        )

    bundle = Bundle(
        owner=owner,
        name=name,
        s3_key=body.s3_key,
        size_bytes=size,
        sha256=digest,
        validation_status="failed" if found.errors else "ready",
        validation_errors=found.errors,
        validation_warnings=found.warnings,
        has_requirements_txt=found.has_requirements_txt,
        entry_point=entry,
        entry_point_verified=found.entry_point_verified,
        total_files=found.total_files,
    )
    return _insert(session, bundle)


@router.post("/finalize", response_model=BundleResponse)
def finalize_bundle(
    body: BundleFinalizeRequest,
    owner: OwnerDep,
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
):
    """Validate an uploaded archive and record it as a new version.

    An unreadable or unsafe archive is rejected (422) and deleted. When
    the request names an entry that the bundle lacks, the version is
    recorded with validation_status `failed` and the reason in
    validation_errors. Finalizing the same s3_key again returns the
    bundle it made.
    """
    existing = _find_by_key(session, owner, body.s3_key)
    if existing is not None:
        return bundle_dict(get_live_bundle(session, existing.id, owner))
    if not body.s3_key.startswith(f"{owner}/bundles/"):
        raise NotFound(f"no upload at s3_key {body.s3_key}")
    if not store.exists(body.s3_key):
        raise NotFound(
            f"no upload at s3_key {body.s3_key}; PUT the file to the "
            "presigned URL first"
        )

    try:
        bundle = _create(body, owner, session, settings, store)
    except (Invalid, QuotaExceeded) as error:
        store.delete(body.s3_key)
        LOG.info("Rejected bundle upload %s: %s", body.s3_key, error.detail)
        raise
    LOG.info(
        "Created bundle %s version %d (%s): %s",
        bundle.name,
        bundle.version,
        bundle.id,
        bundle.validation_status,
    )
    return bundle_dict(bundle)


@router.get("", response_model=list[BundleResponse])
def list_bundles(
    owner: OwnerDep,
    session: SessionDep,
    response: Response,
    limit: LimitDep = 100,
    offset: OffsetDep = 0,
    name: str | None = None,
    status: str | None = None,
):
    """List bundle versions, newest first; the total is in X-Total-Count."""
    query = select(Bundle).where(
        Bundle.owner == owner, Bundle.deleted_at.is_(None)
    )
    if name:
        query = query.where(Bundle.name == name)
    if statuses := status_filter(status, BUNDLE_STATUSES):
        query = query.where(Bundle.validation_status.in_(statuses))
    query = query.order_by(Bundle.created_at.desc(), Bundle.version.desc())
    rows, total = paginate(session, query, limit, offset)
    response.headers[TOTAL_HEADER] = str(total)
    return [bundle_dict(row) for row in rows]


@router.get("/{bundle_id}", response_model=BundleResponse)
def show_bundle(bundle_id: str, owner: OwnerDep, session: SessionDep):
    """Return one bundle version. A deleted version is not found (404)."""
    return bundle_dict(get_live_bundle(session, bundle_id, owner))


def _check_unused(session: Session, bundle: Bundle) -> None:
    """Raise Conflict when a run that has not ended uses the bundle."""
    run = session.scalar(
        select(Run)
        .where(
            Run.bundle_id == bundle.id,
            Run.status.not_in(TERMINAL_STATUSES),
        )
        .order_by(Run.created_at)
        .limit(1)
    )
    if run is not None:
        raise Conflict(
            f"bundle {bundle.name} version {bundle.version} is used by run "
            f"{run.id}, which is {run.status}; stop that run or wait for "
            "it to end, then delete the bundle"
        )


@router.delete("/{bundle_id}", response_model=BundleDeletedResponse)
def delete_bundle(
    bundle_id: str, owner: OwnerDep, session: SessionDep, store: StoreDep
):
    """Delete one bundle version and its stored archive, freeing quota.

    A version that a run uses until the run ends (created, submitting,
    pending, running or stopping) is not deleted (409, naming the run).
    The version number is not reused, and runs that used the version
    still show it, with bundle.deleted_at set.
    """
    bundle = get_live_bundle(session, bundle_id, owner)
    _check_unused(session, bundle)
    bundle.deleted_at = utcnow()
    session.commit()
    # Checked again after the commit: a run created in between saw the
    # bundle live, so the mark is undone and that run keeps its code.
    try:
        _check_unused(session, bundle)
    except Conflict:
        bundle.deleted_at = None
        session.commit()
        raise

    # NOTE: if the store fails here the request fails (500) but the
    # version stays deleted, so its archive is left for the operator.
    store.delete(bundle.s3_key)
    LOG.info(
        "Deleted bundle %s version %d (%s), %d bytes",
        bundle.name,
        bundle.version,
        bundle.id,
        bundle.size_bytes,
    )
    return {
        **bundle_dict(bundle),
        "deleted": True,
        "deleted_at": bundle.deleted_at,
    }
