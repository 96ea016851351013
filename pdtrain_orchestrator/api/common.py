"""Helpers shared by the routers: ownership lookups and pagination."""

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from pdtrain_orchestrator.errors import Invalid, NotFound

TOTAL_HEADER = "X-Total-Count"


def get_owned(session: Session, model, item_id: str, owner: str, label: str):
    """Return the row of model with item_id owned by owner.

    Another owner's row raises NotFound like a missing one, so ids of
    other owners cannot be probed.
    """
    row = session.get(model, item_id)
    if row is None or row.owner != owner:
        raise NotFound(f"{label} {item_id} not found")
    return row


def paginate(session: Session, query: Select, limit: int, offset: int):
    """Return (rows of one page, total rows) of query."""
    total = session.scalar(
        select(func.count()).select_from(query.order_by(None).subquery())
    )
    rows = session.scalars(query.limit(limit).offset(offset)).all()
    return rows, total


def split_filter(value: str | None) -> list[str]:
    """Split a comma-separated filter such as 'running,pending'."""
    if not value:
        return []
    return [part.strip() for part in value.split(",") if part.strip()]


def status_filter(value: str | None, allowed: tuple[str, ...]) -> list[str]:
    """Split a status filter, rejecting statuses that do not exist.

    An unknown status would match nothing, which reads as "no such runs"
    when the filter is only misspelt.
    """
    statuses = split_filter(value)
    unknown = [status for status in statuses if status not in allowed]
    if unknown:
        raise Invalid(
            f"status: unknown status {unknown[0][:40]!r}; use one or more "
            f"of {', '.join(allowed)}, separated by commas"
        )
    return statuses
