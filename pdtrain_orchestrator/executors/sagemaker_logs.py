"""Store a training job's new CloudWatch log lines with their positions.

Lines and stream positions are written in one transaction. Each
position row is updated only if it still contains the values this reader
started from; when another process stored the same lines first, the
update matches no row, the transaction is rolled back and nothing is
stored twice.
"""

import logging

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pdtrain_orchestrator.executors.cloudwatch import (
    StreamPosition,
    read_new_lines,
)
from pdtrain_orchestrator.models import LogEvent, RunLogStream

LOG = logging.getLogger(__name__)


class PositionMoved(Exception):
    """Another reader stored lines of the same stream first."""


def _load(session: Session, run_id: str) -> dict[str, StreamPosition]:
    rows = session.scalars(
        select(RunLogStream).where(RunLogStream.run_id == run_id)
    )
    return {
        row.name: StreamPosition(
            row.name, row.next_token, row.last_timestamp_ms, row.seen_at_last
        )
        for row in rows
    }


def _save(session, run_id, before: StreamPosition | None, after) -> None:
    values = {
        "next_token": after.next_token,
        "last_timestamp_ms": after.last_timestamp_ms,
        "seen_at_last": after.seen_at_last,
    }
    if before is None:
        session.add(RunLogStream(run_id=run_id, name=after.name, **values))
        return
    result = session.execute(
        update(RunLogStream)
        .where(
            RunLogStream.run_id == run_id,
            RunLogStream.name == after.name,
            RunLogStream.next_token.is_not_distinct_from(before.next_token),
            RunLogStream.last_timestamp_ms == before.last_timestamp_ms,
            RunLogStream.seen_at_last == before.seen_at_last,
        )
        .values(**values)
    )
    if result.rowcount != 1:
        raise PositionMoved(after.name)


def store_new_lines(sessions, client, run_id: str, job_name: str) -> int:
    """Read and store the job's new lines; return how many were stored."""
    with sessions() as session:
        before = _load(session, run_id)
        positions = {
            name: StreamPosition(**vars(position))
            for name, position in before.items()
        }
        lines = read_new_lines(client, job_name, positions)
        for line in lines:
            session.add(
                LogEvent(
                    run_id=run_id,
                    stream=line.host,
                    message=line.message.rstrip("\r\n"),
                    timestamp_ms=line.timestamp_ms,
                )
            )
        try:
            for name, after in positions.items():
                if before.get(name) != after:
                    _save(session, run_id, before.get(name), after)
            session.commit()
        except (PositionMoved, IntegrityError):
            session.rollback()
            LOG.info("Run %s: log lines stored by another reader", run_id)
            return 0
    if lines:
        LOG.debug("Run %s: stored %d log lines", run_id, len(lines))
    return len(lines)
