"""The run status machine: which status may follow which, in one table.

Every status change of a run goes through this module, whether an API
request or an executor makes it, and each change is recorded as a
`RunTransition` row with its time. A change the table does not allow is
rejected, so a late report from an executor can never move an ended run.
"""

import logging

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from pdtrain_orchestrator.models import (
    TERMINAL_STATUSES,
    Run,
    RunTransition,
    utcnow,
)

LOG = logging.getLogger(__name__)

# Status -> statuses that may follow it. A status may follow itself when
# only the secondary status or the message changes. `pending` may go back
# to `submitting` when a restarted orchestrator queues the run again. A
# queued run may end without being seen `running`, because an executor
# that polls a remote service can miss a short running phase.
_QUEUED_NEXT = frozenset(
    {
        "submitting",
        "pending",
        "running",
        "stopping",
        "completed",
        "failed",
        "stopped",
    }
)
TRANSITIONS: dict[str, frozenset[str]] = {
    "created": frozenset({"submitting", "stopped", "failed"}),
    "submitting": _QUEUED_NEXT,
    "pending": _QUEUED_NEXT,
    "running": frozenset(
        {"running", "stopping", "completed", "failed", "stopped"}
    ),
    "stopping": frozenset({"stopping", "completed", "failed", "stopped"}),
    "completed": frozenset(),
    "failed": frozenset(),
    "stopped": frozenset(),
}


class IllegalTransition(ValueError):
    """A status change that TRANSITIONS does not allow."""


def allowed(current: str, target: str) -> bool:
    """Return True when a run in status current may move to target."""
    return target in TRANSITIONS.get(current, frozenset())


def sources(target: str) -> tuple[str, ...]:
    """Return the statuses from which a run may move to target."""
    return tuple(
        status for status, nexts in TRANSITIONS.items() if target in nexts
    )


def check(current: str, target: str) -> None:
    """Raise IllegalTransition unless current may move to target."""
    if not allowed(current, target):
        raise IllegalTransition(
            f"a run in status {current} cannot become {target}"
        )


def record(session: Session, run: Run) -> None:
    """Add a transition row for run's current status (not committed)."""
    session.add(
        RunTransition(
            run_id=run.id,
            status=run.status,
            secondary_status=run.secondary_status,
            message=run.status_message,
            at=run.updated_at or utcnow(),
        )
    )


def move(
    session: Session,
    run_id: str,
    target: str,
    only_from: tuple[str, ...] | None = None,
    **values,
) -> bool:
    """Set run_id to target if the table allows it from its status now.

    only_from narrows the statuses the move starts from. The check and
    the update are one UPDATE ... WHERE status IN (...), so two requests
    racing cannot both move the run. Commits, and returns False when the
    run's status did not allow the change.
    """
    starts = sources(target)
    if only_from is not None:
        starts = tuple(status for status in starts if status in only_from)
    now = utcnow()
    if target in TERMINAL_STATUSES:
        values.setdefault("ended_at", now)
    result = session.execute(
        update(Run)
        .where(Run.id == run_id, Run.status.in_(starts))
        .values(status=target, updated_at=now, **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        session.commit()
        return False
    run = session.get(Run, run_id)
    session.refresh(run)
    record(session, run)
    session.commit()
    return True


def transitions(session: Session, run_id: str) -> list[dict]:
    """Return the run's transitions, each with its start and end time.

    A transition ends when the next one starts; the last has no end.
    """
    rows = session.scalars(
        select(RunTransition)
        .where(RunTransition.run_id == run_id)
        .order_by(RunTransition.id)
    ).all()
    found = []
    for index, row in enumerate(rows):
        following = rows[index + 1] if index + 1 < len(rows) else None
        found.append(
            {
                "status": row.status,
                "secondary_status": row.secondary_status,
                "message": row.message,
                "start_time": row.at,
                "end_time": following.at if following else None,
            }
        )
    return found
