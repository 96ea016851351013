"""Wait for runs to end and follow their logs.

Both loops poll the orchestrator-api at a fixed interval. They report
progress through callbacks so commands decide where lines go.
"""

import collections
import logging
import time

from pdtrain_core.exceptions import WaitTimedOut

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
# Events asked for per poll when following without a cursor. A burst of
# more lines than this between two polls loses the excess.
FALLBACK_POLL_LIMIT = 1000
CURSOR_POLL_LIMIT = 1000


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


def _timed_out(run_id, timeout, run):
    return WaitTimedOut(
        f"Run {run_id} is still {run.get('status')} after {timeout:g} s; "
        f"it keeps running: follow it with `pdtrain run watch {run_id}`"
    )


def wait_for_run(
    client,
    run_id,
    interval=5.0,
    timeout=None,
    on_change=None,
    sleep=time.sleep,
):
    """Poll a run until it ends and return it.

    on_change(run) is called with the first state and each change of
    status or secondary status. Raises WaitTimedOut after timeout
    seconds (None waits forever).
    """
    started = time.monotonic()
    last = None
    while True:
        run = client.get_run(run_id)
        state = (run.get("status"), run.get("secondary_status"))
        if state != last and on_change:
            on_change(run)
        last = state
        if is_terminal(run):
            return run
        elapsed = time.monotonic() - started
        if timeout is not None and elapsed >= timeout:
            raise _timed_out(run_id, timeout, run)
        sleep(
            interval
            if timeout is None
            else min(interval, max(timeout - elapsed, 0.1))
        )


class LogFollower:
    """Print a run's new log events in order until the run ends.

    With the server's ``log_cursor`` capability each poll passes the
    last ``next_token`` and gets only later events. Without it, polls
    fetch the latest events and drop those already printed, by
    timestamp and by count of identical lines within one millisecond.
    """

    def __init__(self, client, run_id, write, use_cursor):
        self.client = client
        self.run_id = run_id
        self.write = write
        self.use_cursor = use_cursor
        self.token = None
        self._last_ms = None
        self._seen_at_last = collections.Counter()

    def first(self, lines) -> str | None:
        """Print the last `lines` events; return the run status if sent."""
        # Servers reject limit=0, so zero lines still fetches one event to
        # learn the cursor and the newest timestamp, and prints nothing.
        body = self.client.get_logs(self.run_id, limit=max(lines, 1))
        events = body.get("events", [])
        self.token = body.get("next_token")
        self._remember(events)
        self._emit(events[-lines:] if lines else [])
        return body.get("status")

    def poll(self) -> tuple[int, str | None]:
        """Print new events; return (count printed, run status if sent)."""
        if self.use_cursor and self.token is not None:
            body = self.client.get_logs(
                self.run_id, limit=CURSOR_POLL_LIMIT, next_token=self.token
            )
            events = body.get("events", [])
        else:
            body = self.client.get_logs(self.run_id, limit=FALLBACK_POLL_LIMIT)
            events = self._unseen(body.get("events", []))
        self.token = body.get("next_token") or self.token
        self._remember(events)
        self._emit(events)
        return len(events), body.get("status")

    def drain(self) -> None:
        """Poll until no new events arrive (after the run has ended)."""
        while True:
            count, _ = self.poll()
            if count < CURSOR_POLL_LIMIT or not self.use_cursor:
                return

    def _emit(self, events):
        for event in events:
            message = str(event.get("message", ""))
            self.write(message if message.endswith("\n") else message + "\n")

    def _unseen(self, events):
        if self._last_ms is None:
            return events
        seen = collections.Counter()
        fresh = []
        for event in events:
            stamp = event.get("timestamp") or 0
            if stamp < self._last_ms:
                continue
            if stamp == self._last_ms:
                message = event.get("message")
                seen[message] += 1
                if seen[message] <= self._seen_at_last[message]:
                    continue
            fresh.append(event)
        return fresh

    def _remember(self, events):
        for event in events:
            stamp = event.get("timestamp") or 0
            if self._last_ms is None or stamp > self._last_ms:
                self._last_ms = stamp
                self._seen_at_last = collections.Counter()
            if stamp == self._last_ms:
                self._seen_at_last[event.get("message")] += 1


def follow_logs(
    client, run_id, write, lines=300, interval=5.0, sleep=time.sleep
) -> dict:
    """Write a run's last lines, then new ones until it ends; return it."""
    follower = LogFollower(
        client, run_id, write, use_cursor=client.has("log_cursor")
    )
    status = follower.first(lines)
    while True:
        if status is None:
            status = client.get_run(run_id).get("status")
        if status in TERMINAL_STATUSES:
            # Lines written just before the end may arrive after the
            # status changed, so fetch once more before returning.
            follower.drain()
            return client.get_run(run_id)
        sleep(interval)
        _, status = follower.poll()
