"""One scheduling process per deployment, however many workers serve.

A team server runs several uvicorn worker processes against one
database. Any worker accepts API requests, but only one of them, the
leader, hands runs to the executor, forwards stop requests and polls
SageMaker. The leader holds a lock that the operating system or the
database frees when its process dies:

- PostgreSQL: a session advisory lock (`pg_try_advisory_lock`) on a
  connection kept open for as long as the process leads;
- SQLite: an exclusive `flock` on `<home>/scheduler.lock`, since every
  worker of a SQLite deployment shares one home on one machine.

Workers that do not lead only write what a request needs: a
submitted run stays `submitting` and a stopped one `stopping`, and the
leader picks both up within `scheduler_poll_seconds`. The other workers
retry the lock on the same interval, and the one that gets it after a
leader dies first settles the runs the dead leader left (see
run_control.recover_runs). Inside the leader one re-entrant lock orders
hand-overs and stops, so a run is never handed to the executor twice
and a stop never misses a run that is being handed over.
"""

import fcntl
import logging
import os
import threading
import time
import zlib

from sqlalchemy import select, text
from sqlalchemy.engine import Engine

from pdtrain_orchestrator import lifecycle, run_control, upload_expiry
from pdtrain_orchestrator.errors import Conflict
from pdtrain_orchestrator.executors.base import Deferred
from pdtrain_orchestrator.models import Run

LOG = logging.getLogger(__name__)

LOCK_FILE = "scheduler.lock"


class LeaderLock:
    """The lock that makes one process of a deployment the leader."""

    def __init__(self, engine: Engine, home):
        self.engine = engine
        self.path = os.path.join(home, LOCK_FILE)
        self._connection = None
        self._handle = None

    def acquire(self) -> bool:
        """Try to take the lock without waiting; return True if held."""
        if self.engine.dialect.name == "postgresql":
            return self._acquire_advisory()
        handle = open(self.path, "a")  # noqa: SIM115 - held while leading
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._handle = handle
        return True

    def _acquire_advisory(self) -> bool:
        connection = self.engine.connect()
        try:
            schema = connection.scalar(text("SELECT current_schema()"))
            # One lock per schema, so deployments that share a database
            # in separate schemas each get a leader.
            key = zlib.crc32(f"pdtrain-scheduler:{schema}".encode())
            held = connection.scalar(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": key}
            )
            connection.commit()
        except Exception:
            connection.close()
            raise
        if not held:
            connection.close()
            return False
        self._connection = connection
        return True

    def held(self) -> bool:
        """Return False when the lock's database connection has gone."""
        if self._connection is None:
            return self._handle is not None
        try:
            self._connection.scalar(text("SELECT 1"))
            self._connection.commit()
        except Exception:
            LOG.exception("Lost the connection that holds the leader lock")
            self._connection.invalidate()
            self._connection = None
            return False
        return True

    def release(self) -> None:
        if self._connection is not None:
            # The pool keeps connections open, so the lock is released
            # explicitly before the connection goes back to it.
            try:
                self._connection.execute(
                    text("SELECT pg_advisory_unlock_all()")
                )
                self._connection.commit()
            finally:
                self._connection.close()
                self._connection = None
        if self._handle is not None:
            fcntl.flock(self._handle.fileno(), fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


class Scheduler:
    """Stand between the API and the executor in every worker process.

    The API calls `submit` and `stop` as it would call the executor. In
    the leader they reach the executor; elsewhere `submit` raises
    Deferred and `stop` returns None, and the leader's loop does the
    work from the statuses the database stores.
    """

    def __init__(self, sessions, executor, settings, store, lock):
        self.sessions = sessions
        self.executor = executor
        self.settings = settings
        self.store = store
        self.lock = lock
        self.leading = False
        self.survives_restart = getattr(executor, "survives_restart", False)
        self._order = threading.RLock()
        self._handed: set[str] = set()
        self._stops: set[str] = set()
        self._closing = threading.Event()
        self._swept_at = None
        self._thread = threading.Thread(
            target=self._loop, name="pdtrain-scheduler", daemon=True
        )

    def start(self) -> None:
        """Try to lead at once, then keep checking in the background."""
        self._try_to_lead()
        self._thread.start()

    def shutdown(self) -> None:
        self._closing.set()
        if self._thread.is_alive():
            self._thread.join()
        with self._order:
            self.executor.shutdown()
            self.lock.release()
            self.leading = False

    def _try_to_lead(self) -> None:
        if not self.lock.acquire():
            return
        LOG.info("Process %d schedules runs", os.getpid())
        with self._order:
            self.leading = True
            run_control.recover_runs(
                self.sessions, self, self.settings, self.store
            )

    def submit(self, spec) -> None:
        """Hand a run to the executor once; raise Deferred if not leading."""
        with self._order:
            if not self.leading:
                raise Deferred(spec.run_id)
            if spec.run_id in self._handed:
                return
            self.executor.submit(spec)
            self._handed.add(spec.run_id)

    def stop(self, run_id: str):
        """Forward a stop to the executor; None when another process leads.

        A run the executor has never seen (stopped while it waited to be
        handed over) becomes `stopped` here.
        """
        with self._order:
            if not self.leading:
                return None
            self._stops.add(run_id)
            known = self.executor.stop(run_id)
            if known is False:
                with self.sessions() as session:
                    lifecycle.move(
                        session,
                        run_id,
                        "stopped",
                        only_from=("stopping",),
                        status_message="stopped before it started",
                    )
            return known

    def _loop(self) -> None:
        while not self._closing.wait(self.settings.scheduler_poll_seconds):
            try:
                self.tick()
            except Exception:
                LOG.exception("Scheduler tick failed")

    def tick(self) -> None:
        """Lead if possible, then hand over, stop and poll what is due."""
        if not self.leading:
            self._try_to_lead()
            if not self.leading:
                return
        if not self.lock.held():
            # NOTE: runs this process started keep running; another
            # process may lead from now on.
            LOG.error("Process %d no longer leads", os.getpid())
            self.leading = False
            return
        self._dispatch_waiting()
        self._forward_stops()
        self._expire_uploads()
        poll = getattr(self.executor, "poll", None)
        if poll is not None:
            poll()

    def _expire_uploads(self) -> None:
        """Sweep abandoned presigns on the first tick, then hourly."""
        now = time.monotonic()
        if self._swept_at is not None and (
            now - self._swept_at < upload_expiry.SWEEP_SECONDS
        ):
            return
        self._swept_at = now
        upload_expiry.expire_uploads(
            self.sessions, self.store, upload_expiry.max_age(self.settings)
        )

    def _ids(self, status: str) -> list[str]:
        with self.sessions() as session:
            return list(
                session.scalars(
                    select(Run.id)
                    .where(Run.status == status)
                    .order_by(Run.submitted_at)
                )
            )

    def _dispatch_waiting(self) -> None:
        for run_id in self._ids("submitting"):
            with self._order, self.sessions() as session:
                run = session.get(Run, run_id)
                if run.status != "submitting" or run_id in self._handed:
                    continue
                LOG.info("Handing over run %s submitted elsewhere", run_id)
                try:
                    spec = run_control.build_spec(
                        session, run, self.settings, self.store
                    )
                except Conflict as error:
                    lifecycle.move(
                        session,
                        run_id,
                        "failed",
                        only_from=("submitting",),
                        failure_reason=error.detail,
                    )
                    continue
                run_control.hand_over(session, run, spec, self)

    def _forward_stops(self) -> None:
        stopping = set(self._ids("stopping"))
        self._stops &= stopping
        for run_id in stopping - self._stops:
            LOG.info("Forwarding the stop of run %s", run_id)
            self.stop(run_id)
