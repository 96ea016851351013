"""Run logs: pages with a cursor, and a server-sent event stream.

The cursor (`next_token`) is the id of the last event returned. Ids grow
with every inserted line, so paging by id never repeats or skips a line,
even when many lines share one millisecond.
"""

import asyncio
import dataclasses
import json
import logging

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from pdtrain_orchestrator.api.common import get_owned
from pdtrain_orchestrator.deps import OwnerDep, SessionDep, SettingsDep
from pdtrain_orchestrator.errors import Invalid
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


def check_stream(stream: str | None) -> str | None:
    """Return stream if it is a known stream name, else raise Invalid."""
    if stream is not None and stream not in STREAMS:
        raise Invalid(
            f"invalid stream {stream!r}: use one of {', '.join(STREAMS)}"
        )
    return stream


def read_events(
    session: Session,
    run_id: str,
    token: int | None,
    limit: int,
    only: EventFilter = EventFilter(),
) -> list[LogEvent]:
    """Return the first limit events after token, or the last limit.

    Filters apply before the limit, so the last limit events are the
    last ones that match.
    """
    query = select(LogEvent).where(LogEvent.run_id == run_id)
    if only.start_time is not None:
        query = query.where(LogEvent.timestamp_ms >= only.start_time)
    if only.stream is not None:
        query = query.where(LogEvent.stream == only.stream)
    if token is None:
        query = query.order_by(LogEvent.id.desc()).limit(limit)
        return list(reversed(session.scalars(query).all()))
    query = query.where(LogEvent.id > token).order_by(LogEvent.id)
    return list(session.scalars(query.limit(limit)).all())


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
):
    """Return log events in ascending order, with the cursor to go on.

    Without next_token the last limit events come back; with it, the
    first limit events after it. start_time (epoch ms) and stream
    (stdout or stderr) filter the events.
    """
    run = get_owned(session, Run, run_id, owner, "run")
    token = parse_token(next_token)
    only = EventFilter(start_time, check_stream(stream))
    events = read_events(session, run.id, token, limit, only)
    if events:
        cursor = events[-1].id
    else:
        cursor = token or 0
    return {
        "events": [event_dict(event) for event in events],
        "next_token": str(cursor),
        "status": run.status,
    }


def _sse(kind: str, data: dict, event_id: int | None = None) -> str:
    lines = [f"event: {kind}"]
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines.append(f"data: {json.dumps(data)}")
    return "\n".join(lines) + "\n\n"


def _poll(sessions: sessionmaker, run_id: str, token: int):
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
        events = read_events(session, run_id, token, STREAM_BATCH)
        return state, [event_dict(event) for event in events]


async def follow(
    request: Request, run_id: str, token: int, poll_seconds: float
):
    """Yield server-sent events until the run ends or the client leaves."""
    last_state = None
    waited = 0.0
    try:
        while not await request.is_disconnected():
            state, events = await run_in_threadpool(
                _poll, request.app.state.sessionmaker, run_id, token
            )
            for event in events:
                token = event["id"]
                yield _sse("log", event, token)
            if state != last_state:
                last_state = state
                yield _sse("status", state)
            ended = state["status"] in TERMINAL_STATUSES
            if ended and len(events) < STREAM_BATCH:
                yield _sse(
                    "done",
                    {"status": state["status"], "next_token": str(token)},
                )
                return
            if events:
                continue
            await asyncio.sleep(poll_seconds)
            waited += poll_seconds
            if waited >= KEEPALIVE_SECONDS:
                waited = 0.0
                yield ": keepalive\n\n"
    except Exception as error:
        LOG.exception("Log stream of run %s failed", run_id)
        yield _sse("error", {"detail": str(error), "code": "internal"})


@router.get("/{run_id}/logs/stream")
def stream_logs(
    run_id: str,
    owner: OwnerDep,
    session: SessionDep,
    request: Request,
    settings: SettingsDep,
    next_token: str | None = None,
):
    """Stream `log`, `status`, `error` and `done` server-sent events.

    Starts after next_token (or the Last-Event-ID header), else from the
    first line. `done` comes after the last line of an ended run.
    """
    run = get_owned(session, Run, run_id, owner, "run")
    token = parse_token(next_token or request.headers.get("last-event-id"))
    return StreamingResponse(
        follow(request, run.id, token or 0, settings.log_poll_seconds),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
