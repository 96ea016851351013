"""End local runs that a killed orchestrator left `running`.

A local run's process does not survive as a tracked run: nobody waits
for it any more, so it cannot report its end. At startup, before the
other recovery steps, each such run has its process group killed, the
output lines it wrote after the last stored one are stored, and it
becomes `failed` ("orchestrator restarted"), or `stopped` if a stop was
under way.
"""

import logging

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pdtrain_orchestrator import lifecycle
from pdtrain_orchestrator.executors import reclaim
from pdtrain_orchestrator.executors.layout import RunLayout
from pdtrain_orchestrator.models import LogEvent, Run, utcnow

LOG = logging.getLogger(__name__)

RESTARTED = "orchestrator restarted"


def stored_offsets(session: Session, run_id: str) -> dict[str, int]:
    """Return the largest stored file offset of each stream of run_id."""
    rows = session.execute(
        select(LogEvent.stream, func.max(LogEvent.source_offset))
        .where(LogEvent.run_id == run_id)
        .group_by(LogEvent.stream)
    ).all()
    return {stream: offset for stream, offset in rows if offset is not None}


def _store_lines(session: Session, run_id: str, found: dict) -> int:
    rows = [
        LogEvent(
            run_id=run_id,
            stream=stream,
            message=message,
            timestamp_ms=stamp,
            source_offset=offset,
        )
        for stream, lines in found.items()
        for message, stamp, offset in lines
    ]
    session.add_all(rows)
    session.commit()
    return len(rows)


def settle_local_run(session: Session, run: Run, runs_dir) -> None:
    """Kill run's orphaned process, store its unread lines, end it."""
    logs_dir = RunLayout(runs_dir / run.id).logs_dir
    killed = reclaim.end_orphan(logs_dir)
    found = reclaim.unread_lines(logs_dir, stored_offsets(session, run.id))
    count = _store_lines(session, run.id, found)
    stopping = run.status == "stopping"
    lifecycle.move(
        session,
        run.id,
        "stopped" if stopping else "failed",
        only_from=(run.status,),
        secondary_status="Stopped" if stopping else "Failed",
        status_message=RESTARTED,
        failure_reason=None if stopping else RESTARTED,
        ended_at=utcnow(),
    )
    LOG.warning(
        "Run %s ended after a restart: %d unread lines stored, process %s",
        run.id,
        count,
        "killed" if killed else "already gone",
    )


def settle_local_runs(session: Session, runs_dir) -> None:
    """Settle every run a dead local executor left running or stopping."""
    left = session.scalars(
        select(Run).where(
            Run.status.in_(("running", "stopping")),
            Run.job_arn.is_(None),
        )
    ).all()
    for run in left:
        settle_local_run(session, run, runs_dir)
