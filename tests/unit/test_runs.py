import pytest

from pdtrain_core import runs
from pdtrain_core.exceptions import WaitTimedOut


class LogServer:
    """Log endpoint of one run, with or without the cursor extension."""

    def __init__(self, cursor):
        self.cursor = cursor
        self.events = []
        self.status = "running"

    def add(self, timestamp, message):
        self.events.append(
            {
                "id": len(self.events) + 1,
                "timestamp": timestamp,
                "message": message,
            }
        )

    def has(self, capability):
        return self.cursor and capability == "log_cursor"

    def get_logs(self, run_id, limit=None, next_token=None):
        if next_token is not None:
            events = [e for e in self.events if e["id"] > next_token]
            events = events[:limit]
        else:
            events = self.events[-limit:] if limit else []
        body = {"events": events, "status": self.status}
        if self.cursor:
            body["next_token"] = events[-1]["id"] if events else next_token
        return body

    def get_run(self, run_id):
        return {"id": run_id, "status": self.status}


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

    run = runs.follow_logs(server, "r1", written.append, lines=10, sleep=sleep)

    assert written == ["epoch 1\n", "same\n", "same\n", "epoch 2\n"]
    assert run["status"] == "completed"


def test_follow_logs_reads_lines_written_after_the_end():
    server = LogServer(cursor=True)
    server.add(1, "start")
    server.status = "failed"
    original = server.get_logs
    calls = []

    def get_logs(run_id, limit=None, next_token=None):
        calls.append(next_token)
        if len(calls) == 2:
            server.add(2, "Traceback")
        return original(run_id, limit, next_token)

    server.get_logs = get_logs
    written = []

    runs.follow_logs(server, "r1", written.append, sleep=lambda s: None)

    assert written == ["start\n", "Traceback\n"]


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
