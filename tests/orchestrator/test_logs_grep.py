"""The grep filter of GET /v1/runs/{id}/logs and its event stream."""

import json

import pytest

from pdtrain_orchestrator.api import logs as logs_api
from pdtrain_orchestrator.models import LogEvent

TIMESTAMP_MS = 1_700_000_000_000


@pytest.fixture
def run(client, auth, bundle):
    created = client.post(
        "/v1/runs", headers=auth, json={"bundle_id": bundle["id"]}
    ).json()
    return client.post(
        f"/v1/runs/{created['id']}/submit", headers=auth
    ).json()


def _insert(app, run_id, messages):
    with app.state.sessionmaker() as session:
        session.add_all(
            LogEvent(
                run_id=run_id,
                stream="stdout",
                message=message,
                timestamp_ms=TIMESTAMP_MS,
            )
            for message in messages
        )
        session.commit()


def _logs(client, auth, run_id, **params):
    response = client.get(
        f"/v1/runs/{run_id}/logs", headers=auth, params=params
    )
    assert response.status_code == 200, response.text
    return response.json()


def _messages(page):
    return [event["message"] for event in page["events"]]


def test_grep_keeps_matching_lines_in_order(client, auth, app, run):
    _insert(app, run["id"], [f"step {i} loss" for i in range(20)])

    page = _logs(client, auth, run["id"], next_token="0", grep=r"step 1\d")

    assert _messages(page) == [f"step {i} loss" for i in range(10, 20)]
    assert page["more"] is False


def test_grep_cursor_moves_past_unmatched_lines(client, auth, app, run):
    _insert(app, run["id"], ["ERROR one", "ok", "ok", "ok"])
    first = _logs(client, auth, run["id"], next_token="0", grep="ERROR")
    _insert(app, run["id"], ["ok again"])
    second = _logs(
        client, auth, run["id"], next_token=first["next_token"], grep="ERROR"
    )
    everything = _logs(client, auth, run["id"], next_token="0")

    assert _messages(first) == ["ERROR one"]
    assert first["next_token"] == str(everything["events"][3]["id"])
    assert second["events"] == []
    assert second["next_token"] == everything["next_token"]


def test_grep_tail_returns_last_matches_and_newest_id(
    client, auth, app, run
):
    _insert(app, run["id"], ["a 1", "b", "a 2", "a 3", "b", "b"])

    page = _logs(client, auth, run["id"], limit=2, grep="^a")
    everything = _logs(client, auth, run["id"], next_token="0")

    assert _messages(page) == ["a 2", "a 3"]
    assert page["next_token"] == everything["next_token"]


def test_grep_ignore_case(client, auth, app, run):
    _insert(app, run["id"], ["Epoch 1", "epoch 2", "loss"])

    strict = _logs(client, auth, run["id"], next_token="0", grep="epoch")
    loose = _logs(
        client,
        auth,
        run["id"],
        next_token="0",
        grep="epoch",
        ignore_case="true",
    )

    assert _messages(strict) == ["epoch 2"]
    assert _messages(loose) == ["Epoch 1", "epoch 2"]


def test_grep_invalid_pattern_is_422_naming_it(client, auth, run):
    response = client.get(
        f"/v1/runs/{run['id']}/logs", headers=auth, params={"grep": "a("}
    )

    assert response.status_code == 422
    assert response.json()["code"] == "invalid"
    assert "'a('" in response.json()["detail"]


def test_grep_scan_limit_sets_more_and_pages_on(
    client, auth, app, run, monkeypatch
):
    monkeypatch.setattr(logs_api, "GREP_BATCH", 10)
    monkeypatch.setattr(logs_api, "GREP_SCAN_MAX", 30)
    _insert(app, run["id"], [f"line {i}" for i in range(100)])

    seen, token, pages = [], "0", 0
    while True:
        page = _logs(client, auth, run["id"], next_token=token, grep="7")
        seen.extend(_messages(page))
        token = page["next_token"]
        pages += 1
        if not page["more"]:
            break

    assert pages == 4
    assert seen == [f"line {i}" for i in range(100) if "7" in str(i)]


def _sse_logs(text):
    lines = []
    for block in text.strip().split("\n\n"):
        fields = dict(
            line.split(": ", 1)
            for line in block.splitlines()
            if not line.startswith(":")
        )
        if fields["event"] == "log":
            lines.append(json.loads(fields["data"])["message"])
        if fields["event"] == "done":
            done = json.loads(fields["data"])
    return lines, done


def test_grep_stream_sends_only_matches(client, auth, app, run):
    _insert(app, run["id"], ["keep 1", "drop", "KEEP 2", "drop"])
    app.state.executor.events.status(run["id"], "completed", "Completed")
    everything = _logs(client, auth, run["id"], next_token="0")

    response = client.get(
        f"/v1/runs/{run['id']}/logs/stream",
        headers=auth,
        params={"grep": "keep", "ignore_case": "true"},
    )

    lines, done = _sse_logs(response.text)
    assert lines == ["keep 1", "KEEP 2"]
    assert done["next_token"] == everything["next_token"]


def test_capabilities_list_log_grep(client, auth):
    body = client.get("/v1/capabilities", headers=auth).json()

    assert "log_grep" in body["capabilities"]


# (a|aa)+$ backtracks exponentially on a run of "a" that ends otherwise:
# Python's re needs about 12 s on 38 of them, on 2 cores.
BACKTRACKING = "(a|aa)+$"
BACKTRACKING_LINE = "a" * 38 + "!"


def test_grep_backtracking_pattern_is_bounded(
    client, auth, app, run, monkeypatch
):
    monkeypatch.setattr(logs_api, "GREP_SECONDS", 0.2, raising=False)
    _insert(app, run["id"], ["ok", BACKTRACKING_LINE])

    response = client.get(
        f"/v1/runs/{run['id']}/logs",
        headers=auth,
        params={"grep": BACKTRACKING},
    )

    assert response.status_code == 422
    assert response.json()["code"] == "invalid"
    assert "'(a|aa)+$' timed out after 0.2 s" in response.json()["detail"]


def test_grep_stream_backtracking_sends_invalid(
    client, auth, app, run, monkeypatch
):
    monkeypatch.setattr(logs_api, "GREP_SECONDS", 0.2, raising=False)
    _insert(app, run["id"], [BACKTRACKING_LINE])
    app.state.executor.events.status(run["id"], "completed", "Completed")

    response = client.get(
        f"/v1/runs/{run['id']}/logs/stream",
        headers=auth,
        params={"grep": BACKTRACKING},
    )

    assert "event: error" in response.text
    error_line = response.text.split("event: error\n", 1)[1].splitlines()[0]
    error = json.loads(error_line.removeprefix("data: "))
    assert error["code"] == "invalid"
    assert "timed out after 0.2 s" in error["detail"]
