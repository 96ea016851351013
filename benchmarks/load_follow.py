"""Follow a run's log stream to its end and check it against GET /logs.

benchmarks/load.py uses this for its following clients: each submits
the runs it creates and reads `GET /v1/runs/{id}/logs/stream` (server-
sent events `log`, `status`, `error` and `done`) until `done`. The lines
the stream sent are then compared with every page of
`GET /v1/runs/{id}/logs`, so a line lost or sent twice is counted.
"""

import dataclasses
import json
import time

# Seconds a stream may take to reach `done`, queueing for a run slot
# included; past it the stream counts as an error.
FOLLOW_TIMEOUT = 120.0
# Seconds without a byte; the server sends a keepalive every 15 s.
READ_TIMEOUT = 30.0
PAGE_LIMIT = 1000
# Lines the load bundle's train.py prints, as "line 0" to "line 29".
SCRIPT_LINES = 30
TRAIN_SCRIPT = (
    f"for i in range({SCRIPT_LINES}):\n    print('line', i, flush=True)\n"
).encode()


class StreamTimedOut(Exception):
    """A log stream did not reach `done` within FOLLOW_TIMEOUT."""


@dataclasses.dataclass
class Followed:
    """Events of one log stream, in the order they came."""

    # (event id, message) of each `log` event.
    lines: list = dataclasses.field(default_factory=list)
    statuses: list = dataclasses.field(default_factory=list)
    done: dict | None = None
    error: dict | None = None


def read_events(response, deadline: float):
    """Yield (event, data) pairs of a text/event-stream response."""
    kind, data = None, []
    for line in response.iter_lines(decode_unicode=True):
        if time.monotonic() > deadline:
            raise StreamTimedOut(f"no `done` within {FOLLOW_TIMEOUT:g} s")
        if line == "":
            if kind is not None:
                yield kind, json.loads("\n".join(data))
            kind, data = None, []
        elif line.startswith("event:"):
            kind = line.removeprefix("event:").strip()
        elif line.startswith("data:"):
            data.append(line.removeprefix("data:").strip())
        # Comments (": keepalive") and `id:` lines carry nothing more.


def follow(response) -> Followed:
    """Read an open stream response until `done` or `error`."""
    followed = Followed()
    deadline = time.monotonic() + FOLLOW_TIMEOUT
    for kind, data in read_events(response, deadline):
        if kind == "log":
            followed.lines.append((data["id"], data["message"]))
        elif kind == "status":
            followed.statuses.append(data["status"])
        elif kind == "error":
            followed.error = data
            return followed
        elif kind == "done":
            followed.done = data
            return followed
    return followed


def stored_lines(session, url: str, run_id: str) -> list:
    """Return (id, message) of every stored event, read page by page."""
    token, found = "0", []
    while True:
        response = session.get(
            f"{url}/v1/runs/{run_id}/logs",
            params={"next_token": token, "limit": PAGE_LIMIT},
            timeout=60,
        )
        response.raise_for_status()
        page = response.json()
        found += [(event["id"], event["message"]) for event in page["events"]]
        if not page["events"]:
            return found
        token = page["next_token"]


def compare(followed: Followed, stored: list) -> dict:
    """Count the lines the stream lost or repeated against stored."""
    ids = [event_id for event_id, _ in followed.lines]
    streamed = set(followed.lines)
    messages = [message for _, message in followed.lines]
    script = [f"line {i}" for i in range(SCRIPT_LINES)]
    return {
        "lines": len(followed.lines),
        "repeated": len(ids) - len(set(ids)),
        "lost": sum(1 for item in stored if item not in streamed),
        "unknown": len(streamed - set(stored)),
        "out_of_order": int(ids != sorted(ids)),
        "script_lines_missing": sum(
            1 for line in script if messages.count(line) != 1
        ),
    }
