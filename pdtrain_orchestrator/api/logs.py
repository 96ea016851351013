"""Run logs: pages with a cursor, and a server-sent event stream.

The cursor (`next_token`) is the id of the last event returned. Ids grow
with every inserted line, so paging by id never repeats or skips a line,
even when many lines share one millisecond.
"""

import asyncio
import dataclasses
import json
import logging
import time

import regex
from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from pdtrain_orchestrator.api.common import get_owned
from pdtrain_orchestrator.deps import OwnerDep, SessionDep, SettingsDep
from pdtrain_orchestrator.errors import Invalid, OrchestratorError
from pdtrain_orchestrator.models import TERMINAL_STATUSES, LogEvent, Run
from pdtrain_orchestrator.schemas import LogsResponse

LOG = logging.getLogger(__name__)

router = APIRouter(prefix="/v1/runs", tags=["logs"])

DEFAULT_LIMIT = 300
STREAMS = ("stdout", "stderr")
MAX_LIMIT = 10_000
# Events per database read while streaming.
STREAM_BATCH = 500
# A comment line this often keeps proxies from closing an idle stream.
KEEPALIVE_SECONDS = 15.0
# Event ids are signed 64-bit integers in the database.
MAX_TOKEN = 2**63 - 1
# Rows a grep reads per query, and at most per response. A scan that
# stops early sets `more`, so a follower requests again at once.
GREP_BATCH = 2000
GREP_SCAN_MAX = 100_000
MAX_PATTERN = 1000
# Seconds one grep response may scan, and one line may take to match.
# Python's re cannot be stopped and holds the GIL, so a pattern such as
# (a|aa)+$ would stall the whole server. The regex package, in its
# re-compatible V0 mode, takes a timeout and releases the GIL.
GREP_SECONDS = 2.0


def parse_token(token: str | None) -> int | None:
    if token is None or token == "":
        return None
    try:
        value = int(token)
    except ValueError:
        raise Invalid(
            f"invalid next_token {token!r}: pass back the next_token of "
            "an earlier answer"
        ) from None
    if value < 0:
        raise Invalid(f"invalid next_token {token!r}: it cannot be negative")
    if value > MAX_TOKEN:
        raise Invalid(
            f"invalid next_token {token[:40]!r}: it is past the largest "
            f"event id {MAX_TOKEN}"
        )
    return value


@dataclasses.dataclass(frozen=True)
class EventFilter:
    """Which events a logs request asks for besides the cursor."""

    # Epoch milliseconds; events stamped earlier are left out.
    start_time: int | None = None
    # "stdout" or "stderr"; None returns both.
    stream: str | None = None
    # Kept events' messages match this with search; None keeps all.
    pattern: regex.Pattern | None = None


@dataclasses.dataclass
class Page:
    """Events for one response and where the next read starts."""

    events: list
    # Id of the last event read, matching or not; None when none was.
    cursor: int | None
    # True when events after cursor were left unread for this response.
    more: bool = False


def compile_grep(
    pattern: str | None, ignore_case: bool
) -> regex.Pattern | None:
    """Compile a grep parameter, raising Invalid naming a bad pattern."""
    if pattern is None or pattern == "":
        return None
    if len(pattern) > MAX_PATTERN:
        raise Invalid(
            f"invalid grep pattern {pattern[:40]!r}...: it is longer than "
            f"{MAX_PATTERN} characters"
        )
    flags = regex.V0 | (regex.IGNORECASE if ignore_case else 0)
    try:
        return regex.compile(pattern, flags)
    except regex.error as error:
        raise Invalid(
            f"invalid grep pattern {pattern!r}: {error}; pass a Python "
            "regular expression"
        ) from None


def check_stream(stream: str | None) -> str | None:
    """Return stream if it is a known stream name, else raise Invalid."""
    if stream is not None and stream not in STREAMS:
        raise Invalid(
            f"invalid stream {stream!r}: use one of {', '.join(STREAMS)}"
        )
    return stream


def _filtered(run_id: str, only: EventFilter):
    # Plain columns rather than ORM objects: a grep may scan many rows.
    query = select(
        LogEvent.id, LogEvent.timestamp_ms, LogEvent.stream, LogEvent.message
    ).where(LogEvent.run_id == run_id)
    if only.start_time is not None:
        query = query.where(LogEvent.timestamp_ms >= only.start_time)
    if only.stream is not None:
        query = query.where(LogEvent.stream == only.stream)
    return query


def read_page(
    session: Session,
    run_id: str,
    token: int | None,
    limit: int,
    only: EventFilter = EventFilter(),
) -> Page:
    """Return the first limit events after token, or the last limit.

    Filters apply before the limit, so the last limit events are the
    last ones that match.
    """
    if only.pattern is not None:
        return _grep_page(session, run_id, token, limit, only)
    query = _filtered(run_id, only)
    if token is None:
        query = query.order_by(LogEvent.id.desc()).limit(limit)
        rows = list(reversed(session.execute(query).all()))
    else:
        query = query.where(LogEvent.id > token).order_by(LogEvent.id)
        rows = list(session.execute(query.limit(limit)).all())
    cursor = rows[-1].id if rows else None
    return Page(rows, cursor, more=token is not None and len(rows) >= limit)


def _grep_page(session, run_id, token, limit, only) -> Page:
    """Scan rows in batches, keeping those whose message matches.

    A forward read's cursor moves past every row scanned, matching or
    not, so a follower never scans a filtered-out line twice. A read of
    the last lines returns the newest row's id as its cursor. One
    response scans at most GREP_SCAN_MAX rows for about GREP_SECONDS.
    """
    forward = token is not None
    order = LogEvent.id if forward else LogEvent.id.desc()
    query = _filtered(run_id, only).order_by(order)
    matches, newest, edge = [], None, token
    deadline = time.monotonic() + GREP_SECONDS
    for _ in range(GREP_SCAN_MAX // GREP_BATCH):
        batch = query
        if edge is not None:
            after = LogEvent.id > edge if forward else LogEvent.id < edge
            batch = query.where(after)
        rows = session.execute(batch.limit(GREP_BATCH)).all()
        if newest is None and rows:
            newest = rows[0].id
        for row in rows:
            if time.monotonic() > deadline:
                return _grep_result(matches, forward, edge, newest, True)
            edge = row.id
            if not _search(only.pattern, row.message or ""):
                continue
            matches.append(row)
            if len(matches) == limit:
                return _grep_result(matches, forward, edge, newest, True)
        if len(rows) < GREP_BATCH:
            return _grep_result(matches, forward, edge, newest, False)
    return _grep_result(matches, forward, edge, newest, True)


def _search(pattern, message):
    try:
        return pattern.search(message, timeout=GREP_SECONDS, concurrent=True)
    except TimeoutError:
        raise Invalid(
            f"grep pattern {pattern.pattern[:80]!r} timed out after "
            f"{GREP_SECONDS:g} s on one log line: simplify it, for "
            "example without nested repeats such as (a+)+"
        ) from None


def _grep_result(matches, forward, edge, newest, stopped_early) -> Page:
    if forward:
        return Page(matches, edge, more=stopped_early)
    # NOTE: a read of the last lines that stops early leaves older
    # matches out, as a tail does; there is nothing after the cursor.
    return Page(list(reversed(matches)), newest)


def event_dict(event: LogEvent) -> dict:
    return {
        "id": event.id,
        "timestamp": event.timestamp_ms,
        "stream": event.stream,
        "message": event.message,
    }


@router.get("/{run_id}/logs", response_model=LogsResponse)
def get_logs(
    run_id: str,
    owner: OwnerDep,
    session: SessionDep,
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    next_token: str | None = None,
    start_time: int | None = Query(None, ge=0),
    stream: str | None = None,
    grep: str | None = None,
    ignore_case: bool = False,
):
    """Return log events in ascending order, with the cursor to go on.

    Without next_token the last limit events come back; with it, the
    first limit events after it. start_time (epoch ms) and stream
    (stdout or stderr) filter the events, and grep keeps the events
    whose message matches that Python regular expression (re.search;
    ignore_case=true ignores case). `more` is true when later events
    were left unread: ask again with next_token at once.
    """
    run = get_owned(session, Run, run_id, owner, "run")
    token = parse_token(next_token)
    only = EventFilter(
        start_time, check_stream(stream), compile_grep(grep, ignore_case)
    )
    page = read_page(session, run.id, token, limit, only)
    cursor = page.cursor if page.cursor is not None else token or 0
    return {
        "events": [event_dict(event) for event in page.events],
        "next_token": str(cursor),
        "status": run.status,
        "more": page.more,
    }


def _sse(kind: str, data: dict, event_id: int | None = None) -> str:
    lines = [f"event: {kind}"]
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines.append(f"data: {json.dumps(data)}")
    return "\n".join(lines) + "\n\n"


def _poll(sessions: sessionmaker, run_id: str, token: int, only):
    with sessions() as session:
        # The run is read before its events: once it is terminal, every
        # line written before the final status is visible to the query.
        run = session.get(Run, run_id)
        state = {
            "status": run.status,
            "secondary_status": run.secondary_status,
            "status_message": run.status_message,
            "failure_reason": run.failure_reason,
            "exit_code": run.exit_code,
        }
        page = read_page(session, run_id, token, STREAM_BATCH, only)
        page.events = [event_dict(event) for event in page.events]
        return state, page


async def follow(
    request: Request,
    run_id: str,
    token: int,
    poll_seconds: float,
    only: EventFilter = EventFilter(),
):
    """Yield server-sent events until the run ends or the client leaves."""
    last_state = None
    waited = 0.0
    try:
        while not await request.is_disconnected():
            state, page = await run_in_threadpool(
                _poll, request.app.state.sessionmaker, run_id, token, only
            )
            for event in page.events:
                yield _sse("log", event, event["id"])
            if page.cursor is not None:
                token = page.cursor
            if state != last_state:
                last_state = state
                yield _sse("status", state)
            ended = state["status"] in TERMINAL_STATUSES
            if ended and not page.more:
                yield _sse(
                    "done",
                    {"status": state["status"], "next_token": str(token)},
                )
                return
            if page.cursor is not None:
                continue
            await asyncio.sleep(poll_seconds)
            waited += poll_seconds
            if waited >= KEEPALIVE_SECONDS:
                waited = 0.0
                yield ": keepalive\n\n"
    except OrchestratorError as error:
        LOG.warning("Log stream of run %s ended: %s", run_id, error.detail)
        yield _sse("error", {"detail": error.detail, "code": error.code})
    except Exception as error:
        LOG.exception("Log stream of run %s failed", run_id)
        yield _sse("error", {"detail": str(error), "code": "internal"})


class EventStreamResponse(StreamingResponse):
    """A streamed response of server-sent events."""

    media_type = "text/event-stream"


# The stream's 200 response is text/event-stream, not JSON. Before OpenAPI
# 3.2 (which calls it itemSchema) the schema of such a media type
# describes one event, and schemathesis checks each event against it.
EVENT_SCHEMA = {
    "type": "object",
    "required": ["event", "data"],
    "properties": {
        "event": {"enum": ["log", "status", "error", "done"]},
        "id": {"type": "string"},
        "data": {"type": "string", "description": "one JSON object"},
    },
}
STREAM_RESPONSES = {
    200: {
        "description": "Server-sent events `log`, `status`, `error` and "
        "`done`",
        "content": {"text/event-stream": {"schema": EVENT_SCHEMA}},
    }
}


@router.get(
    "/{run_id}/logs/stream",
    response_class=EventStreamResponse,
    responses=STREAM_RESPONSES,
)
def stream_logs(
    run_id: str,
    owner: OwnerDep,
    session: SessionDep,
    request: Request,
    settings: SettingsDep,
    next_token: str | None = None,
    grep: str | None = None,
    ignore_case: bool = False,
):
    """Stream `log`, `status`, `error` and `done` server-sent events.

    Starts after next_token (or the Last-Event-ID header), else from the
    first line. `done` comes after the last line of an ended run. grep
    and ignore_case keep only matching lines, as on GET .../logs.
    """
    run = get_owned(session, Run, run_id, owner, "run")
    token = parse_token(next_token or request.headers.get("last-event-id"))
    only = EventFilter(pattern=compile_grep(grep, ignore_case))
    return EventStreamResponse(
        follow(request, run.id, token or 0, settings.log_poll_seconds, only),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
