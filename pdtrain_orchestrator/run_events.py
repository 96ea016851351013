"""Write what an executor reports (status, log lines, artifacts) to the DB.

The executor calls these methods from its own threads. Each call opens
its own session, and a lock keeps this process's writes in one queue so
SQLite's writer lock is never contended by them.
"""

import logging
import threading
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.orm import sessionmaker

from pdtrain_orchestrator import lifecycle
from pdtrain_orchestrator.models import (
    TERMINAL_STATUSES,
    Artifact,
    LogEvent,
    Run,
    utcnow,
)
from pdtrain_orchestrator.storage.local import LocalObjectStore

LOG = logging.getLogger(__name__)


def artifact_key(run: Run, name: str) -> str:
    return f"{run.owner}/artifacts/{run.id}/{name}"


def apply_status(
    run: Run,
    status: str,
    secondary_status: str | None,
    message=None,
    failure_reason=None,
    exit_code=None,
) -> bool:
    """Move run to status; return False when the change is ignored.

    A run being stopped stays `stopping` until the executor reports a
    terminal status; any change lifecycle.TRANSITIONS does not allow
    (such as any change of an ended run) is ignored.
    """
    if run.status == "stopping" and status not in TERMINAL_STATUSES:
        status = "stopping"
    if not lifecycle.allowed(run.status, status):
        return False
    now = utcnow()
    run.status = status
    run.updated_at = now
    if secondary_status is not None:
        run.secondary_status = secondary_status
    if message is not None:
        run.status_message = message
    if failure_reason is not None:
        run.failure_reason = failure_reason
    if exit_code is not None:
        run.exit_code = exit_code
    if status == "running" and run.started_at is None:
        run.started_at = now
    if status in TERMINAL_STATUSES:
        run.ended_at = now
    return True


class DatabaseRunEvents:
    """RunEvents that store each report in the orchestrator's database."""

    def __init__(self, sessions: sessionmaker, store: LocalObjectStore):
        self._sessions = sessions
        self._store = store
        self._lock = threading.Lock()

    @property
    def sessions(self) -> sessionmaker:
        return self._sessions

    @property
    def store(self):
        return self._store

    def status(
        self,
        run_id,
        status,
        secondary_status,
        message=None,
        failure_reason=None,
        exit_code=None,
    ):
        with self._lock, self._sessions() as session:
            run = session.get(Run, run_id)
            if run is None:
                LOG.warning("Status %s for unknown run %s", status, run_id)
                return
            previous = (run.status, run.secondary_status)
            changed = apply_status(
                run,
                status,
                secondary_status,
                message,
                failure_reason,
                exit_code,
            )
            if changed and (run.status, run.secondary_status) != previous:
                lifecycle.record(session, run)
            session.commit()
        if not changed:
            LOG.info(
                "Run %s is %s already; ignored status %s",
                run_id,
                previous[0],
                status,
            )
        elif status in ("failed",):
            LOG.warning("Run %s failed: %s", run_id, failure_reason)
        else:
            LOG.info("Run %s is %s (%s)", run_id, status, secondary_status)

    def log(self, run_id, stream, message, timestamp_ms):
        self.log_lines(run_id, stream, [(message, timestamp_ms, None)])

    def log_lines(self, run_id, stream, lines):
        """Store [(message, timestamp_ms, source_offset)] in one commit.

        The lock keeps ids in commit order, so a reader paging by id
        never passes a line that commits later with a smaller id.
        """
        rows = [
            {
                "run_id": run_id,
                "stream": stream,
                "message": message.rstrip("\r\n"),
                "timestamp_ms": int(timestamp_ms),
                "source_offset": offset,
            }
            for message, timestamp_ms, offset in lines
        ]
        if not rows:
            return
        with self._lock, self._sessions() as session:
            session.execute(insert(LogEvent), rows)
            session.commit()

    def metrics(self, run_id, values: dict):
        """Store the JSON object a run wrote to model/metrics.json."""
        with self._lock, self._sessions() as session:
            run = session.get(Run, run_id)
            if run is None:
                LOG.warning("Metrics for unknown run %s", run_id)
                return
            run.metrics = values
            session.commit()

    def artifact(self, run_id, name, path, size_bytes, sha256, files=None):
        with self._lock, self._sessions() as session:
            run = session.get(Run, run_id)
            if run is None:
                LOG.warning("Artifact %s for unknown run %s", name, run_id)
                return
            key = artifact_key(run, name)
            self._store.store_file(Path(path), key)
            found = session.scalar(
                select(Artifact).where(
                    Artifact.run_id == run_id, Artifact.name == name
                )
            )
            found = found or Artifact(run_id=run_id, name=name)
            found.s3_key = key
            found.size_bytes = size_bytes
            found.sha256 = sha256
            found.files = files
            session.add(found)
            session.commit()
        LOG.info(
            "Run %s stored artifact %s (%d bytes)", run_id, name, size_bytes
        )
