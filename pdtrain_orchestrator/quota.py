"""Storage use per owner, and the checks that keep it within limits."""

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pdtrain_orchestrator.errors import QuotaExceeded
from pdtrain_orchestrator.models import (
    Artifact,
    Bundle,
    Dataset,
    DatasetVersion,
    Run,
)
from pdtrain_orchestrator.settings import Settings

GIB = 1024**3
# How many of the largest items the quota report lists per kind.
LARGEST_COUNT = 5


def bundle_usage(session: Session, owner: str) -> tuple[int, int]:
    """Return (bytes, count) of owner's bundle versions not deleted."""
    size, count = session.execute(
        select(
            func.coalesce(func.sum(Bundle.size_bytes), 0), func.count()
        ).where(Bundle.owner == owner, Bundle.deleted_at.is_(None))
    ).one()
    return int(size), int(count)


def dataset_usage(session: Session, owner: str) -> tuple[int, int]:
    """Return (bytes of all versions, number of datasets) of owner."""
    size = session.scalar(
        select(func.coalesce(func.sum(DatasetVersion.size_bytes), 0))
        .join(Dataset, Dataset.id == DatasetVersion.dataset_id)
        .where(Dataset.owner == owner)
    )
    count = session.scalar(
        select(func.count()).select_from(Dataset).where(Dataset.owner == owner)
    )
    return int(size), int(count)


def artifact_usage(session: Session, owner: str) -> tuple[int, int]:
    """Return (bytes, count) of the artifacts of owner's runs.

    NOTE: the framework environment cache and the files extracted from
    archives for single-file downloads are left out. Runs of every owner
    share the cache, and the extracted files are copies the server may
    drop, so neither belongs to one owner's usage.
    """
    size, count = session.execute(
        select(func.coalesce(func.sum(Artifact.size_bytes), 0), func.count())
        .select_from(Artifact)
        .join(Run, Run.id == Artifact.run_id)
        .where(Run.owner == owner)
    ).one()
    return int(size), int(count)


def largest_bundles(session: Session, owner: str) -> list[dict]:
    """Return owner's largest bundle versions, largest first."""
    rows = session.scalars(
        select(Bundle)
        .where(Bundle.owner == owner, Bundle.deleted_at.is_(None))
        .order_by(Bundle.size_bytes.desc(), Bundle.created_at)
        .limit(LARGEST_COUNT)
    )
    return [
        _item(row.id, row.name, row.version, row.size_bytes) for row in rows
    ]


def largest_datasets(session: Session, owner: str) -> list[dict]:
    """Return owner's largest dataset versions, largest first."""
    rows = session.execute(
        select(
            Dataset.id,
            Dataset.name,
            DatasetVersion.version,
            DatasetVersion.size_bytes,
        )
        .join(Dataset, Dataset.id == DatasetVersion.dataset_id)
        .where(Dataset.owner == owner)
        .order_by(DatasetVersion.size_bytes.desc(), DatasetVersion.id)
        .limit(LARGEST_COUNT)
    )
    return [_item(*row) for row in rows]


def _item(item_id: str, name: str, version: int, size_bytes: int) -> dict:
    return {
        "id": item_id,
        "name": name,
        "version": version,
        "size_bytes": size_bytes,
    }


def _usage(
    size: int, count: int, max_gb: float, max_count: int | None
) -> dict:
    used_gb = size / GIB
    percentage = 100.0 * used_gb / max_gb if max_gb else 0.0
    return {
        "current_storage_gb": used_gb,
        "max_storage_gb": max_gb,
        "storage_percentage_used": percentage,
        "current_count": count,
        "max_count": max_count,
    }


def quota_report(session: Session, owner: str, settings: Settings) -> dict:
    """Return the body of `GET /v1/storage/quota`."""
    # The usage groups stay all-numeric, as the published contract has
    # them; the largest items are an additive top-level field.
    return {
        "datasets": _usage(
            *dataset_usage(session, owner),
            settings.max_dataset_storage_gb,
            settings.max_dataset_count,
        ),
        "bundles": _usage(
            *bundle_usage(session, owner),
            settings.max_bundle_storage_gb,
            settings.max_bundle_count,
        ),
        # Additive: artifact storage has no count limit, so max_count is
        # null here, unlike in the two published groups.
        "artifacts": _usage(
            *artifact_usage(session, owner),
            settings.max_artifact_storage_gb,
            None,
        ),
        "largest": {
            "datasets": largest_datasets(session, owner),
            "bundles": largest_bundles(session, owner),
        },
        "limits": {
            "max_single_dataset_size_gb": settings.max_single_dataset_size_gb,
            "max_single_bundle_size_mb": settings.max_single_bundle_size_mb,
            "dataset_retention_days": settings.dataset_retention_days,
        },
    }


def check_bundle_quota(
    session: Session, owner: str, settings: Settings, size_bytes: int
) -> None:
    """Raise QuotaExceeded if one more bundle of size_bytes won't fit."""
    if size_bytes > settings.max_bundle_bytes:
        raise QuotaExceeded(
            f"bundle is {size_bytes} bytes, over the limit of "
            f"{settings.max_single_bundle_size_mb} MB"
        )
    used, count = bundle_usage(session, owner)
    if count + 1 > settings.max_bundle_count:
        raise QuotaExceeded(
            f"bundle count limit {settings.max_bundle_count} reached"
        )
    if used + size_bytes > settings.max_bundle_storage_gb * GIB:
        raise QuotaExceeded(
            f"bundle storage limit of {settings.max_bundle_storage_gb} GB "
            "reached"
        )


def check_dataset_quota(
    session: Session,
    owner: str,
    settings: Settings,
    size_bytes: int,
    new_dataset: bool,
) -> None:
    """Raise QuotaExceeded if a dataset version of size_bytes won't fit."""
    if size_bytes > settings.max_dataset_bytes:
        raise QuotaExceeded(
            f"dataset version is {size_bytes} bytes, over the limit of "
            f"{settings.max_single_dataset_size_gb} GB"
        )
    used, count = dataset_usage(session, owner)
    if new_dataset and count + 1 > settings.max_dataset_count:
        raise QuotaExceeded(
            f"dataset count limit {settings.max_dataset_count} reached"
        )
    if used + size_bytes > settings.max_dataset_storage_gb * GIB:
        raise QuotaExceeded(
            f"dataset storage limit of {settings.max_dataset_storage_gb} GB "
            "reached"
        )
