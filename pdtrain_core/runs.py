"""Wait for runs to end and follow their logs.

One loop, `watch`, polls the orchestrator-api at a fixed interval for a
run's status and, when given a LogFollower, its new log lines. It reports
through callbacks so commands decide where output goes. A lost
connection or a 5xx answer is retried for up to RECONNECT_SECONDS, so a
follower survives a network drop or a server restart; with the server's
cursor it then carries on after the last line it printed.
"""

import logging
import os
import time
from dataclasses import dataclass, field

from pdtrain_core import spinner
from pdtrain_core.exceptions import (
    PdtrainError,
    ServerError,
    ServerUnavailable,
    UsageError,
    WaitTimedOut,
)
from pdtrain_core.log_follower import LogFollower, LogQuery

LOG = logging.getLogger(__name__)

TERMINAL_STATUSES = frozenset({"completed", "failed", "stopped"})
STATUSES = (
    "created",
    "submitting",
    "pending",
    "running",
    "stopping",
    "completed",
    "failed",
    "stopped",
)
# How long a follower keeps retrying after the server stops responding.
FIRST_PAUSE = 0.25  # seconds before the second status poll of a wait
RECONNECT_SECONDS = 300.0
RECONNECT_ENV = "PDTRAIN_RECONNECT_SECONDS"
RETRY_SECONDS = 1.0

__all__ = ["LogFollower", "LogQuery", "Retrier", "follow_logs", "watch"]


def reconnect_seconds() -> float:
    """Return the reconnect window from PDTRAIN_RECONNECT_SECONDS."""
    text = os.environ.get(RECONNECT_ENV, "")
    if not text:
        return RECONNECT_SECONDS
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < float("inf"):
        raise UsageError(
            f"Invalid {RECONNECT_ENV}={text!r}: expected seconds, such as "
            f"{RECONNECT_SECONDS:g}"
        )
    return seconds


def is_terminal(run) -> bool:
    """Return True when run's status is completed, failed or stopped."""
    return (run or {}).get("status") in TERMINAL_STATUSES


def describe(run) -> str:
    """Return "running (Training): message" for progress notes."""
    text = str(run.get("status"))
    if run.get("secondary_status"):
        text += f" ({run['secondary_status']})"
    message = run.get("status_message") or run.get("failure_reason")
    if message:
        text += f": {message}"
    return text


@dataclass
class Retrier:
    """Call a function again while the server is unreachable or failing.

    on_lost(error) is called once when a failure streak starts and
    on_back() when a call succeeds again. After `window` seconds of
    failures the last error is raised.
    """

    window: float = field(default_factory=reconnect_seconds)
    on_lost: object = None
    on_back: object = None
    sleep: object = time.sleep
    pause: float = RETRY_SECONDS

    def call(self, function, *args, **kwargs):
        """Return function(*args, **kwargs), retrying transient errors."""
        lost_at = None
        while True:
            try:
                result = function(*args, **kwargs)
            except (ServerUnavailable, ServerError) as error:
                now = time.monotonic()
                if lost_at is None:
                    lost_at = now
                    if self.on_lost:
                        self.on_lost(error)
                if now - lost_at >= self.window:
                    raise
                LOG.debug("Retrying after %s", error)
                self.sleep(self.pause)
                continue
            if lost_at is not None and self.on_back:
                self.on_back()
            return result


class RunNotSubmitted(PdtrainError):
    """Raised when waiting on a run that was created but never submitted.

    Such a run never changes status on its own, so waiting would never end.
    """


def _not_submitted(run_id):
    return RunNotSubmitted(
        f"run {run_id} is created, not submitted; submit it with "
        f"`pdtrain run submit {run_id}`"
    )


def _timed_out(run_id, timeout, run):
    return WaitTimedOut(
        f"Run {run_id} is still {run.get('status')} after {timeout:g} s; "
        f"it keeps running: follow it with `pdtrain run watch {run_id}`"
    )


@spinner.suppressed()  # status notes and log lines own the terminal
def watch(
    client,
    run_id,
    interval=5.0,
    timeout=None,
    on_change=None,
    follower=None,
    retrier=None,
    sleep=time.sleep,
):
    """Poll a run until it ends and return it.

    on_change(run) is called with the first state and each change of
    status or secondary status. With a follower, its new log lines are
    printed on each poll, and once the run has ended the lines written
    before the end. Raises WaitTimedOut after timeout seconds (None
    waits forever) and RunNotSubmitted for a run still in "created".
    """
    retrier = retrier or Retrier(sleep=sleep)
    started = time.monotonic()
    last = None
    read = None if follower is None else follower.first
    # Short runs end within a second or two, so the pause starts short
    # and doubles up to interval.
    pause = min(FIRST_PAUSE, interval)
    while True:
        run = retrier.call(client.get_run, run_id)
        if run.get("status") == "created":
            raise _not_submitted(run_id)
        ended = is_terminal(run)
        state = (run.get("status"), run.get("secondary_status"))
        if state != last and on_change and not ended:
            on_change(run)
        if read is not None:
            # Read after the status: once the run has ended, every line
            # it wrote is stored, so this read prints the last of them.
            retrier.call(read)
            read = follower.poll
        if ended:
            if state != last and on_change:
                on_change(run)
            return run
        last = state
        elapsed = time.monotonic() - started
        if timeout is not None and elapsed >= timeout:
            raise _timed_out(run_id, timeout, run)
        left = None if timeout is None else max(timeout - elapsed, 0.05)
        sleep(pause if left is None else min(pause, left))
        pause = min(pause * 2, interval)


def wait_for_run(client, run_id, interval=5.0, timeout=None, **kwargs):
    """Poll a run until it ends and return it (see watch)."""
    return watch(client, run_id, interval, timeout, **kwargs)


def follow_logs(
    client,
    run_id,
    emit,
    query=None,
    interval=0.5,
    timeout=None,
    retrier=None,
    sleep=time.sleep,
) -> dict:
    """Print a run's log lines until it ends; return the ended run.

    emit(events) receives each batch of new events in order.
    """
    follower = LogFollower(
        client,
        run_id,
        emit,
        query or LogQuery(),
        use_cursor=client.has("log_cursor"),
        server_filters=client.has("log_filters"),
    )
    return watch(
        client,
        run_id,
        interval,
        timeout,
        follower=follower,
        retrier=retrier,
        sleep=sleep,
    )
