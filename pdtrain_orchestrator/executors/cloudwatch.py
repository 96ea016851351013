"""Read a training job's CloudWatch Logs streams from a saved position.

SageMaker writes one stream per instance, `<job>/algo-<n>-<epoch>`, in
the group `/aws/sagemaker/TrainingJobs`, and creates it only when the
container first writes. Each stream is read forward with
GetLogEvents(startFromHead=True) and its nextForwardToken; a token equal
to the one sent marks the current end.

Tokens expire after 24 hours, so a position also keeps the timestamp of
the last event read and how many events at that millisecond were read.
Without a usable token, reading restarts at that timestamp and skips
those events, so nothing repeats or goes missing even when many lines
share a millisecond.
"""

import dataclasses
import logging
import re

from pdtrain_orchestrator.aws import error_code

LOG = logging.getLogger(__name__)

LOG_GROUP = "/aws/sagemaker/TrainingJobs"
# Upper bound of events read per stream in one poll, so one transaction
# stays small; the rest comes in the next poll.
MAX_EVENTS_PER_POLL = 10_000
_HOST = re.compile(r"(algo-\d+)-\d+$")


@dataclasses.dataclass
class StreamPosition:
    """How far one stream has been read."""

    name: str
    next_token: str | None = None
    last_timestamp_ms: int = 0
    seen_at_last: int = 0


@dataclasses.dataclass
class LogLine:
    """One event read from a stream."""

    timestamp_ms: int
    host: str
    message: str


def host_of(stream_name: str) -> str:
    """Return `algo-1` for the stream `job/algo-1-1733325158`."""
    tail = stream_name.rsplit("/", 1)[-1]
    match = _HOST.search(tail)
    return match.group(1) if match else tail[:16]


def list_streams(client, job_name: str) -> list[str]:
    """Return the names of the job's streams; none before any output."""
    names = []
    kwargs = {"logGroupName": LOG_GROUP, "logStreamNamePrefix": f"{job_name}/"}
    while True:
        try:
            page = client.describe_log_streams(**kwargs)
        except Exception as error:
            if error_code(error) == "ResourceNotFoundException":
                return names
            raise
        names += [item["logStreamName"] for item in page["logStreams"]]
        token = page.get("nextToken")
        if not token:
            return sorted(names)
        kwargs["nextToken"] = token


def _advance(position: StreamPosition, events: list[dict]) -> None:
    for event in events:
        if event["timestamp"] == position.last_timestamp_ms:
            position.seen_at_last += 1
        else:
            position.last_timestamp_ms = event["timestamp"]
            position.seen_at_last = 1


def _page(client, position: StreamPosition, token: str | None) -> dict:
    kwargs = {
        "logGroupName": LOG_GROUP,
        "logStreamName": position.name,
        "startFromHead": True,
    }
    if token:
        kwargs["nextToken"] = token
    elif position.last_timestamp_ms:
        kwargs["startTime"] = position.last_timestamp_ms
    return client.get_log_events(**kwargs)


def _drop_seen(position: StreamPosition, events: list[dict]) -> list[dict]:
    """Skip the events at the saved timestamp that were read already."""
    skip = position.seen_at_last
    kept = []
    for event in events:
        if skip and event["timestamp"] == position.last_timestamp_ms:
            skip -= 1
            continue
        kept.append(event)
    return kept


def read_stream(client, position: StreamPosition) -> list[dict]:
    """Return the stream's events after position and move position on."""
    found: list[dict] = []
    token = position.next_token
    resumed = token is None and position.last_timestamp_ms > 0
    while len(found) < MAX_EVENTS_PER_POLL:
        try:
            page = _page(client, position, token)
        except Exception as error:
            if error_code(error) != "InvalidParameterException" or not token:
                raise
            LOG.info("Log token of %s expired; resuming", position.name)
            token, position.next_token, resumed = None, None, True
            continue
        events = page.get("events", [])
        if resumed:
            events = _drop_seen(position, events)
            resumed = False
        _advance(position, events)
        found += events
        following = page.get("nextForwardToken")
        if not following or following == token:
            break
        token = position.next_token = following
    return found


def read_new_lines(
    client, job_name: str, positions: dict[str, StreamPosition]
) -> list[LogLine]:
    """Read every stream of the job after positions, merged by time.

    positions (stream name -> StreamPosition) is updated in place and
    gains an entry for each new stream.
    """
    lines: list[LogLine] = []
    for name in list_streams(client, job_name):
        position = positions.setdefault(name, StreamPosition(name))
        host = host_of(name)
        for event in read_stream(client, position):
            lines.append(LogLine(event["timestamp"], host, event["message"]))
    # sort is stable: lines of one stream with equal timestamps keep
    # their order.
    lines.sort(key=lambda line: line.timestamp_ms)
    return lines
