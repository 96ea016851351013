import json

import pytest

from pdtrain_orchestrator.models import LogEvent

TIMESTAMP_MS = 1_700_000_000_000


@pytest.fixture
def run(client, auth, bundle):
    """A submitted run, so that the tests may report it ended."""
    created = client.post(
        "/v1/runs", headers=auth, json={"bundle_id": bundle["id"]}
    ).json()
    return client.post(
        f"/v1/runs/{created['id']}/submit", headers=auth
    ).json()


def _insert_lines(app, run_id, count):
    with app.state.sessionmaker() as session:
        session.add_all(
            LogEvent(
                run_id=run_id,
                stream="stdout",
                message=f"line {i}",
                timestamp_ms=TIMESTAMP_MS,
            )
            for i in range(count)
        )
        session.commit()


def _logs(client, auth, run_id, **params):
    response = client.get(
        f"/v1/runs/{run_id}/logs", headers=auth, params=params
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_logs_cursor_never_repeats_or_loses(client, auth, app, run):
    _insert_lines(app, run["id"], 2000)

    seen = []
    token = "0"
    while True:
        page = _logs(client, auth, run["id"], next_token=token, limit=300)
        if not page["events"]:
            break
        seen.extend(event["message"] for event in page["events"])
        token = page["next_token"]

    assert seen == [f"line {i}" for i in range(2000)]
    assert page["next_token"] == token


def test_logs_follower_sees_only_new_lines(client, auth, app, run):
    _insert_lines(app, run["id"], 5)
    first = _logs(client, auth, run["id"], next_token="0")
    _insert_lines(app, run["id"], 3)

    second = _logs(client, auth, run["id"], next_token=first["next_token"])

    assert len(first["events"]) == 5
    assert len(second["events"]) == 3
    assert second["events"][0]["id"] > first["events"][-1]["id"]


def test_logs_without_token_return_last_lines(client, auth, app, run):
    _insert_lines(app, run["id"], 10)

    page = _logs(client, auth, run["id"], limit=3)

    messages = [event["message"] for event in page["events"]]
    assert messages == ["line 7", "line 8", "line 9"]
    assert page["next_token"] == str(page["events"][-1]["id"])
    assert page["status"] == "pending"


def test_logs_events_carry_published_fields(client, auth, app, run):
    app.state.executor.events.log(run["id"], "stderr", "oops\n", TIMESTAMP_MS)

    event = _logs(client, auth, run["id"])["events"][0]

    assert event["timestamp"] == TIMESTAMP_MS
    assert event["message"] == "oops"
    assert event["stream"] == "stderr"
    assert isinstance(event["id"], int)


def test_logs_empty_run_returns_zero_token(client, auth, run):
    page = _logs(client, auth, run["id"])

    assert page["events"] == []
    assert page["next_token"] == "0"


def test_logs_reject_bad_token(client, auth, run):
    response = client.get(
        f"/v1/runs/{run['id']}/logs?next_token=abc", headers=auth
    )

    assert response.status_code == 422
    assert "next_token 'abc'" in response.json()["detail"]


def _parse_sse(text):
    events = []
    for block in text.strip().split("\n\n"):
        fields = dict(
            line.split(": ", 1)
            for line in block.splitlines()
            if not line.startswith(":")
        )
        events.append((fields["event"], json.loads(fields["data"])))
    return events


def test_logs_stream_sends_lines_status_and_done(client, auth, app, run):
    _insert_lines(app, run["id"], 4)
    app.state.executor.events.status(
        run["id"], "failed", "Failed", failure_reason="exit code 2"
    )

    response = client.get(f"/v1/runs/{run['id']}/logs/stream", headers=auth)

    assert response.headers["content-type"].startswith("text/event-stream")
    events = _parse_sse(response.text)
    kinds = [kind for kind, _ in events]
    assert kinds == ["log"] * 4 + ["status", "done"]
    assert events[4][1]["failure_reason"] == "exit code 2"
    assert events[5][1]["status"] == "failed"


def test_logs_stream_resumes_after_token(client, auth, app, run):
    _insert_lines(app, run["id"], 4)
    app.state.executor.events.status(run["id"], "completed", "Completed")
    token = _logs(client, auth, run["id"], limit=2)["events"][0]["id"]

    response = client.get(
        f"/v1/runs/{run['id']}/logs/stream",
        headers=auth,
        params={"next_token": token},
    )

    lines = [
        data["message"]
        for kind, data in _parse_sse(response.text)
        if kind == "log"
    ]
    assert lines == ["line 3"]
