"""Write what an executor reports (status, log lines, artifacts) to the DB.

The executor calls these methods from its own threads. Each call opens
its own session, and a lock keeps this process's writes in one queue so
SQLite's writer lock is never contended by them.
"""

import logging
import threading
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

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

    A terminal run never changes again, and a run being stopped stays
    `stopping` until the executor reports a terminal status.
    """
    if run.status in TERMINAL_STATUSES:
        return False
    if run.status == "stopping" and status not in TERMINAL_STATUSES:
        status = "stopping"
    now = utcnow()
    run.status = status
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
            previous = run.status
            changed = apply_status(
                run,
                status,
                secondary_status,
                message,
                failure_reason,
                exit_code,
            )
            session.commit()
        if not changed:
            LOG.info(
                "Run %s is %s already; ignored status %s",
                run_id,
                previous,
                status,
            )
        elif status in ("failed",):
            LOG.warning("Run %s failed: %s", run_id, failure_reason)
        else:
            LOG.info("Run %s is %s (%s)", run_id, status, secondary_status)

    def log(self, run_id, stream, message, timestamp_ms):
        event = LogEvent(
            run_id=run_id,
            stream=stream,
            message=message.rstrip("\r\n"),
            timestamp_ms=int(timestamp_ms),
        )
        with self._lock, self._sessions() as session:
            session.add(event)
            session.commit()

    def artifact(self, run_id, name, path, size_bytes, sha256):
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
            session.add(found)
            session.commit()
        LOG.info(
            "Run %s stored artifact %s (%d bytes)", run_id, name, size_bytes
        )
