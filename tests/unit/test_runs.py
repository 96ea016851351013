import datetime

import pytest

from pdtrain_core import runs
from pdtrain_core.exceptions import (
    ServerUnavailable,
    UsageError,
    WaitTimedOut,
)
from pdtrain_core.log_follower import parse_since


class LogServer:
    """Log endpoint of one run, with or without the cursor extension."""

    def __init__(self, cursor):
        self.cursor = cursor
        self.events = []
        self.status = "running"
        self.failures = []

    def add(self, timestamp, message, stream="stdout"):
        self.events.append(
            {
                "id": len(self.events) + 1,
                "timestamp": timestamp,
                "stream": stream,
                "message": message,
            }
        )

    def has(self, capability):
        return self.cursor and capability == "log_cursor"

    def get_logs(self, run_id, limit=None, next_token=None):
        if self.failures:
            raise self.failures.pop(0)
        if next_token is not None:
            token = int(next_token)
            events = [e for e in self.events if e["id"] > token]
            events = events[:limit]
        else:
            events = self.events[-limit:] if limit else []
        body = {"events": events, "status": self.status}
        if self.cursor:
            body["next_token"] = events[-1]["id"] if events else next_token
        return body

    def get_run(self, run_id):
        return {"id": run_id, "status": self.status}


def _messages(batches):
    return [event["message"] for batch in batches for event in batch]


@pytest.mark.parametrize("cursor", [True, False])
def test_follow_logs_prints_same_millisecond_lines_once(cursor):
    server = LogServer(cursor)
    server.add(1000, "epoch 1")
    server.add(1000, "same")
    written = []

    def sleep(seconds):
        # Two identical lines share the last millisecond, then it ends.
        server.add(1000, "same")
        server.add(1001, "epoch 2")
        server.status = "completed"

    run = runs.follow_logs(
        server, "r1", written.append, runs.LogQuery(tail=10), sleep=sleep
    )

    assert _messages(written) == ["epoch 1", "same", "same", "epoch 2"]
    assert run["status"] == "completed"


def test_follow_logs_prints_lines_stored_before_the_end():
    server = LogServer(cursor=True)
    server.add(1, "start")
    original = server.get_run

    def get_run(run_id):
        # The executor stores its last lines, then the final status.
        if server.status == "running":
            server.add(2, "Traceback")
            server.status = "failed"
        return original(run_id)

    server.get_run = get_run
    written = []

    run = runs.follow_logs(server, "r1", written.append, sleep=lambda s: 0)

    assert _messages(written) == ["start", "Traceback"]
    assert run["status"] == "failed"


def test_follow_logs_resumes_after_lost_server():
    server = LogServer(cursor=True)
    for number in range(3):
        server.add(5, f"line {number}")
    lost = []

    def sleep(seconds):
        if server.status == "running" and not server.failures:
            server.failures = [ServerUnavailable("http://x", "refused")] * 2
            server.add(5, "line 3")
            server.status = "completed"

    written = []
    retrier = runs.Retrier(on_lost=lost.append, sleep=lambda s: None)
    runs.follow_logs(
        server, "r1", written.append, retrier=retrier, sleep=sleep
    )

    assert _messages(written) == [f"line {n}" for n in range(4)]
    assert len(lost) == 1


def test_retrier_gives_up_after_window():
    def broken():
        raise ServerUnavailable("http://x", "refused")

    retrier = runs.Retrier(window=0, sleep=lambda s: None)

    with pytest.raises(ServerUnavailable):
        retrier.call(broken)


def test_log_query_filters_stream_and_time():
    query = runs.LogQuery(start_time=10, stream="stderr")

    assert query.keeps({"timestamp": 10, "stream": "stderr"})
    assert not query.keeps({"timestamp": 9, "stream": "stderr"})
    assert not query.keeps({"timestamp": 11, "stream": "stdout"})


def test_parse_since_reads_ages_and_times():
    now = datetime.datetime(2024, 5, 1, 12, tzinfo=datetime.timezone.utc)
    noon_ms = int(now.timestamp() * 1000)

    assert parse_since("10m", now) == noon_ms - 600_000
    assert parse_since("2h", now) == noon_ms - 7_200_000
    assert parse_since("2024-05-01T12:00:00Z", now) == noon_ms
    with pytest.raises(UsageError, match="Invalid --since 'soon'"):
        parse_since("soon", now)


class StatusServer:
    def __init__(self, statuses):
        self.statuses = list(statuses)

    def get_run(self, run_id):
        status = (
            self.statuses.pop(0)
            if len(self.statuses) > 1
            else (self.statuses[0])
        )
        return {"id": run_id, "status": status}


def test_wait_for_run_reports_each_change():
    server = StatusServer(["pending", "pending", "running", "completed"])
    seen = []

    run = runs.wait_for_run(
        server,
        "r1",
        interval=0,
        on_change=lambda r: seen.append(r["status"]),
        sleep=lambda s: None,
    )

    assert run["status"] == "completed"
    assert seen == ["pending", "running", "completed"]


def test_wait_for_run_times_out_with_hint():
    server = StatusServer(["running"])

    with pytest.raises(WaitTimedOut) as caught:
        runs.wait_for_run(server, "r1", interval=0.01, timeout=0.05)

    assert "still running after 0.05 s" in str(caught.value)
    assert "pdtrain run watch r1" in str(caught.value)
