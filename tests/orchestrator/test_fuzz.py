"""Property-based tests of the orchestrator from its own /openapi.json.

Schemathesis generates requests for every operation, valid and invalid,
with a valid key. Each response must not be a 5xx, must carry a status
the document lists, and its body must match the documented schema,
which for every error is {"detail", "code"}. The number of examples per
operation is bounded so that the suite stays under two minutes on two
cores; FUZZ_EXAMPLES raises it for a longer local run.

The log stream stays open until its run ends, so every call to it runs
under an alarm of STREAM_CALL_SECONDS: a stream that does not end fails
the test instead of hanging it. Generated run ids name no run (404);
explicit cases add an ended run of the key's owner, whose stream must
end with `done`, another owner's run (404) and bad parameters (422).
"""

import contextlib
import os
import signal
import time

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from pdtrain_orchestrator.app import create_app
from pdtrain_orchestrator.settings import Settings
from tests.orchestrator.conftest import (
    TRAIN_BUNDLE,
    RecordingExecutor,
    csv_rows,
    make_key,
    tar_gz,
    upload_bundle,
    upload_dataset,
)

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "15"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    response_schema_conformance,
]
STREAM_PATH = "/v1/runs/{run_id}/logs/stream"
STREAM_CALL_SECONDS = 10


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory):
    home = tmp_path_factory.mktemp("fuzz") / "home"
    app = create_app(
        Settings(home=home, max_concurrent=1),
        executor_factory=RecordingExecutor,
    )
    with TestClient(app) as client:
        auth = {"Authorization": f"Bearer {make_key(app, 'alice')}"}
        upload_bundle(client, auth, tar_gz(TRAIN_BUNDLE))
        upload_dataset(client, auth, "iris", {"iris.csv": csv_rows(5)})
        app.state.fuzz_auth = auth
        app.state.ended_run = _ended_run(app, client, auth)
        bob = {"Authorization": f"Bearer {make_key(app, 'bob')}"}
        upload_bundle(client, bob, tar_gz(TRAIN_BUNDLE))
        app.state.foreign_run = _ended_run(app, client, bob)
        yield app


def _ended_run(app, client, auth):
    """Create, submit and complete a run with three log lines."""
    bundle = client.get("/v1/bundles", headers=auth).json()[0]
    run = client.post(
        "/v1/runs", headers=auth, json={"bundle_id": bundle["id"]}
    ).json()
    client.post(f"/v1/runs/{run['id']}/submit", headers=auth)
    events = app.state.executor.events
    now_ms = int(time.time() * 1000)
    for number in range(3):
        events.log(run["id"], "stdout", f"line {number}", now_ms)
    events.status(run["id"], "completed", "Completed", exit_code=0)
    return run["id"]


@contextlib.contextmanager
def _alarm(seconds):
    """Interrupt the main thread after seconds; yield what happened.

    The test client ends a response whose read is interrupted and
    returns what it has, so the caller checks `fired` afterwards.
    """
    state = {"fired": False}

    def expire(signum, frame):
        state["fired"] = True
        raise TimeoutError(f"log stream call ran past {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield state
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _call(case, auth):
    if case.operation.path != STREAM_PATH:
        return case.call(headers=auth)
    with _alarm(STREAM_CALL_SECONDS) as alarm:
        response = case.call(headers=auth)
    if alarm["fired"]:
        raise AssertionError(
            f"{case.operation.label} with {case.path_parameters} "
            f"{case.query} did not end within {STREAM_CALL_SECONDS} s"
        )
    return response


def _fuzz_operation(operation, auth):
    """Run EXAMPLES generated requests of one operation."""

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def run(case):
        response = _call(case, auth)
        case.validate_response(response, checks=CHECKS)

    run()


def test_api_fuzz_has_no_server_error(fuzz_app):
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzz_app)
    failures = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        try:
            _fuzz_operation(operation, fuzz_app.state.fuzz_auth)
        except Exception as error:
            failures.append(f"{operation.label}: {error}")

    assert operations > 30
    assert not failures, "\n\n".join(failures)


def _stream_operation(app):
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path == STREAM_PATH:
            return operation
    raise AssertionError(f"{STREAM_PATH} is not in /openapi.json")


def _stream_case(operation, run_id, **query):
    case = operation.Case(path_parameters={"run_id": run_id}, query=query)
    response = _call(case, operation.app.state.fuzz_auth)
    case.validate_response(response, checks=CHECKS)
    return response


def test_api_fuzz_log_stream_cases_end(fuzz_app):
    operation = _stream_operation(fuzz_app)
    ended = fuzz_app.state.ended_run

    done = _stream_case(operation, ended)
    grep = _stream_case(operation, ended, grep="line [12]", next_token="0")
    foreign = _stream_case(operation, fuzz_app.state.foreign_run)
    missing = _stream_case(operation, "0" * 32)
    bad_token = _stream_case(operation, ended, next_token="later")
    bad_grep = _stream_case(operation, ended, grep="(")

    documented = operation.definition.raw["responses"]["200"]["content"]
    assert list(documented) == ["text/event-stream"]
    assert done.status_code == 200
    content_type = done.headers["content-type"][0]
    assert content_type.startswith("text/event-stream")
    assert done.text.count("event: log") == 3
    assert done.text.rstrip().split("\n\n")[-1].startswith("event: done")
    assert grep.text.count("event: log") == 2
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json()["code"] == missing.json()["code"] == "not_found"
    assert bad_token.status_code == bad_grep.status_code == 422
    assert bad_token.json()["code"] == "invalid"
    assert "next_token" in bad_token.json()["detail"]
