"""Read a run's log page by page without losing or repeating a line.

With the server's ``log_cursor`` capability each request passes the
last ``next_token`` and gets only later events, so a follower resumes
exactly where it stopped, even after a reconnect. Without it, requests
fetch the latest events and drop those already printed, by timestamp
and by count of identical lines within one millisecond; a burst of
more than FALLBACK_LIMIT lines between two requests loses the excess.

Filters (time, stream, a --grep pattern) run on the server when it
lists the matching capability and in the client otherwise.
"""

import collections
import datetime
import re
import warnings
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
    pattern: lines whose message it finds (re.search) are kept.
    """

    tail: int | None = None
    start_time: int | None = None
    stream: str | None = None
    pattern: re.Pattern | None = None

    def keeps(self, event) -> bool:
        """Return True when event passes every filter."""
        return self.in_window(event) and self.matches(event)

    def in_window(self, event) -> bool:
        """Return True when event passes the time and stream filters."""
        if self.stream and event.get("stream", "stdout") != self.stream:
            return False
        stamp = event.get("timestamp") or 0
        return self.start_time is None or stamp >= self.start_time

    def matches(self, event) -> bool:
        """Return True when there is no pattern or the message matches."""
        if self.pattern is None:
            return True
        return bool(self.pattern.search(str(event.get("message", ""))))


def compile_grep(text: str, ignore_case: bool = False) -> re.Pattern:
    """Compile a --grep pattern, raising UsageError when it is invalid."""
    flags = re.IGNORECASE if ignore_case else 0
    try:
        # re warns about forms such as [[:alpha:]] that may change
        # meaning in later Pythons. That warning would break the one
        # line a command prints on stderr.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            return re.compile(text, flags)
    except re.error as error:
        raise UsageError(
            f"Invalid --grep {text!r}: {error}; pass a Python regular "
            "expression, such as 'loss|acc' or 'epoch [0-9]+'"
        ) from None


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
        self.server_grep = query.pattern is not None and client.has("log_grep")
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
        if self.server_grep:
            kwargs["grep"] = self.query.pattern.pattern
            kwargs["ignore_case"] = bool(
                self.query.pattern.flags & re.IGNORECASE
            )
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
        if self.use_cursor and self._local_checks():
            self._scan_tail()
            return
        limit = self.query.tail if self.query.tail is not None else None
        # Servers reject limit=0, so a tail of 0 still fetches one event
        # to learn the cursor and the newest timestamp.
        count = max(limit or FALLBACK_LIMIT, 1)
        if self._local_checks():
            # NOTE: without a cursor only the last FALLBACK_LIMIT events
            # can be searched for the `tail` that match.
            count = max(count, FALLBACK_LIMIT)
        body = self._get(count)
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
                # `more`: a server-side grep stopped its scan early.
                full = len(raw) >= PAGE_LIMIT or bool(body.get("more"))
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

    def _scan_tail(self) -> None:
        """Emit the last `tail` lines that pass filters the server lacks.

        The last `tail` events on the server may contain fewer matches,
        so the whole log is read. Each call starts again at the first
        event and emits only at the end, so a retry repeats no line.
        """
        kept = collections.deque(maxlen=self.query.tail)
        token = FIRST_TOKEN
        while True:
            body = self._get(PAGE_LIMIT, token)
            raw = body.get("events", [])
            token = body.get("next_token") or token
            kept.extend(self._kept(raw))
            if len(raw) < PAGE_LIMIT and not body.get("more"):
                break
        self.token = token
        self._send(list(kept))

    def _local_checks(self):
        """Return the filters that the server does not apply."""
        checks = []
        windowed = self.query.start_time is not None or self.query.stream
        if windowed and not self.server_filters:
            checks.append(self.query.in_window)
        if self.query.pattern is not None and not self.server_grep:
            checks.append(self.query.matches)
        return checks

    def _kept(self, events):
        checks = self._local_checks()
        if not checks:
            return events
        return [e for e in events if all(check(e) for check in checks)]

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
