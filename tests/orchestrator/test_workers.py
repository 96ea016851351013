"""Several uvicorn workers on one PostgreSQL database.

Requests land on any worker, but each run must run exactly once, every
status change must be kept, and a stop must reach the run whichever
worker receives it.
"""

import concurrent.futures
import json
import subprocess
import sys
import time

import httpx
import pytest
import yaml

from tests import postgres
from tests.orchestrator.conftest import tar_gz, upload_bundle

WORKERS = 3
RUNS = 6
START_TIMEOUT = 60
TRAIN = b"""\
import os
import time

with open(os.environ["MARKER"], "a") as handle:
    handle.write(os.environ["RUN_TAG"] + "\\n")
time.sleep(float(os.environ["SLEEP"]))
print("done", os.environ["RUN_TAG"], flush=True)
"""


@pytest.fixture
def team_server(tmp_path):
    with postgres.fresh_schema() as url:
        config = tmp_path / "server.yaml"
        config.write_text(
            yaml.safe_dump(
                {
                    "server": {"workers": WORKERS, "log_level": "info"},
                    "database": {"url": url},
                    "executor": {"max_concurrent": 4},
                    "limits": {"scheduler_poll_seconds": 0.2},
                }
            )
        )
        home = tmp_path / "home"
        process = subprocess.Popen(
            [sys.executable, "-m", "pdtrain_orchestrator", "serve",
             "--config", str(config), "--home", str(home), "--port", "0",
             "--bootstrap-key-file", "api_key"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            yield _wait_until_serving(home, process)
        finally:
            process.terminate()
            process.wait(timeout=30)


def _wait_until_serving(home, process):
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail((home / "server.log").read_text(errors="replace"))
        state = home / "server.json"
        if state.exists():
            url = json.loads(state.read_text())["url"]
            key = (home / "api_key").read_text().strip()
            with httpx.Client(base_url=url, timeout=5) as probe:
                try:
                    if probe.get("/v1/health").status_code < 500:
                        return url, key, home
                except httpx.TransportError:
                    pass
        time.sleep(0.2)
    pytest.fail("the team server did not start")


def _create(url, auth, bundle_id, tag, marker, sleep):
    with httpx.Client(base_url=url, timeout=30) as http:
        run = http.post(
            "/v1/runs",
            headers=auth,
            json={
                "bundle_id": bundle_id,
                "env": {"MARKER": str(marker), "RUN_TAG": tag, "SLEEP": sleep},
            },
        ).json()
        # Submitted twice: the second returns the run and does not run it
        # again (the marker file lists each tag once).
        first = http.post(f"/v1/runs/{run['id']}/submit", headers=auth)
        second = http.post(f"/v1/runs/{run['id']}/submit", headers=auth)
        return run["id"], first.status_code, second.status_code


def _wait_for(http, auth, run_id, statuses):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        run = http.get(f"/v1/runs/{run_id}", headers=auth).json()
        if run["status"] in statuses:
            return run
        time.sleep(0.2)
    pytest.fail(f"run {run_id} is still {run['status']}")


def test_workers_run_each_job_once(team_server, tmp_path):
    url, key, home = team_server
    auth = {"Authorization": f"Bearer {key}"}
    marker = tmp_path / "ran.txt"
    with httpx.Client(base_url=url, timeout=30) as http:
        bundle = upload_bundle(http, auth, tar_gz({"train.py": TRAIN}))
        bundle_id = bundle.json()["id"]
    tags = [f"run-{index}" for index in range(RUNS)]

    with concurrent.futures.ThreadPoolExecutor(RUNS) as pool:
        results = list(
            pool.map(
                lambda tag: _create(url, auth, bundle_id, tag, marker, "0.5"),
                tags,
            )
        )
    with httpx.Client(base_url=url, timeout=30) as http:
        runs = [
            _wait_for(http, auth, run_id, ("completed", "failed"))
            for run_id, _, _ in results
        ]
        logs = [
            http.get(f"/v1/runs/{run['id']}/logs", headers=auth).json()
            for run in runs
        ]

    assert {first for _, first, _ in results} == {200}
    assert {second for _, _, second in results} == {200}
    assert [run["status"] for run in runs] == ["completed"] * RUNS
    assert sorted(marker.read_text().split()) == sorted(tags)
    for tag, page in zip(tags, logs, strict=True):
        assert f"done {tag}" in [event["message"] for event in page["events"]]
    log = (home / "server.log").read_text()
    assert log.count("schedules runs") == 1


def test_workers_forward_a_stop_to_the_running_job(team_server, tmp_path):
    url, key, _ = team_server
    auth = {"Authorization": f"Bearer {key}"}
    marker = tmp_path / "ran.txt"
    with httpx.Client(base_url=url, timeout=30) as http:
        bundle = upload_bundle(http, auth, tar_gz({"train.py": TRAIN}))
        run_id, _, _ = _create(
            url, auth, bundle.json()["id"], "long", marker, "120"
        )
        _wait_for(http, auth, run_id, ("running",))
        # Each request may reach another worker; all must agree.
        stops = [
            http.post(f"/v1/runs/{run_id}/stop", headers=auth).json()
            for _ in range(WORKERS)
        ]
        stopped = _wait_for(http, auth, run_id, ("stopped", "failed"))

    assert stops[0]["status"] == "stopping"
    assert stopped["status"] == "stopped"
    assert marker.read_text().split() == ["long"]
