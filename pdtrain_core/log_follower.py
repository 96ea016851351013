"""Read a run's log page by page without losing or repeating a line.

With the server's ``log_cursor`` capability each request passes the
last ``next_token`` and gets only later events, so a follower resumes
exactly where it stopped, even after a reconnect. Without it, requests
fetch the latest events and drop those already printed, by timestamp
and by count of identical lines within one millisecond; a burst of
more than FALLBACK_LIMIT lines between two requests loses the excess.
"""

import collections
import datetime
import re
from dataclasses import dataclass

from pdtrain_core.exceptions import UsageError

# Events per request. The server accepts up to 10,000.
PAGE_LIMIT = 1000
FALLBACK_LIMIT = 1000
# The token that starts a forward read at the first event.
FIRST_TOKEN = "0"
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass
class LogQuery:
    """Which lines to print first and which to keep.

    tail: print the last N lines first; None prints from the first line.
    start_time: epoch milliseconds; earlier lines are left out.
    stream: "stdout" or "stderr"; None keeps both.
    """

    tail: int | None = None
    start_time: int | None = None
    stream: str | None = None

    def keeps(self, event) -> bool:
        """Return True when event passes the time and stream filters."""
        if self.stream and event.get("stream", "stdout") != self.stream:
            return False
        stamp = event.get("timestamp") or 0
        return self.start_time is None or stamp >= self.start_time


def parse_since(text: str, now=None) -> int:
    """Return epoch ms for "10m", "2h", "30s", "1d" ago or an ISO time."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    match = _DURATION.match(text.strip().lower())
    if match:
        seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        moment = now - datetime.timedelta(seconds=seconds)
        return int(moment.timestamp() * 1000)
    try:
        moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"Invalid --since {text!r}: expected a duration such as 30s, "
            "10m, 2h or 1d, or an ISO-8601 time such as 2024-05-01T12:00Z"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return int(moment.timestamp() * 1000)


class LogFollower:
    """Emit a run's log events in order, each exactly once."""

    def __init__(
        self,
        client,
        run_id,
        emit,
        query: LogQuery,
        use_cursor: bool,
        server_filters: bool = False,
    ):
        self.client = client
        self.run_id = run_id
        self.emit = emit
        self.query = query
        self.use_cursor = use_cursor
        self.server_filters = server_filters
        self.token = None
        self._last_ms = None
        self._seen_at_last = collections.Counter()

    def _get(self, limit, next_token=None) -> dict:
        kwargs = {"limit": limit, "next_token": next_token}
        if self.server_filters:
            if self.query.start_time is not None:
                kwargs["start_time"] = self.query.start_time
            if self.query.stream:
                kwargs["stream"] = self.query.stream
        return self.client.get_logs(self.run_id, **kwargs)

    def first(self) -> None:
        """Emit the first lines: the last `tail`, or all from the start.

        Calling it again after a failure carries on from the last page
        emitted, so a retry repeats no line.
        """
        if self.query.tail is None and self.use_cursor:
            if self.token is None:
                self.token = FIRST_TOKEN
            self.poll()
            return
        limit = self.query.tail if self.query.tail is not None else None
        # Servers reject limit=0, so a tail of 0 still fetches one event
        # to learn the cursor and the newest timestamp.
        body = self._get(max(limit or FALLBACK_LIMIT, 1))
        events = self._kept(body.get("events", []))
        self.token = body.get("next_token")
        self._remember(body.get("events", []))
        if limit is not None:
            events = events[-limit:] if limit else []
        self._send(events)

    def poll(self) -> int:
        """Emit every new event; return how many were emitted."""
        total = 0
        while True:
            if self.use_cursor and self.token is not None:
                body = self._get(PAGE_LIMIT, self.token)
                raw = body.get("events", [])
                full = len(raw) >= PAGE_LIMIT
            else:
                body = self._get(FALLBACK_LIMIT)
                raw = self._unseen(body.get("events", []))
                full = False
            self.token = body.get("next_token") or self.token
            self._remember(raw)
            events = self._kept(raw)
            self._send(events)
            total += len(events)
            if not full:
                return total

    def _kept(self, events):
        if self.server_filters:
            return events
        return [event for event in events if self.query.keeps(event)]

    def _send(self, events) -> None:
        if events:
            self.emit(events)

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
