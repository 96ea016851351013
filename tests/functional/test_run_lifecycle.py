"""Run lifecycle through the CLI: exit codes, stops, limits and restarts.

These tests start their own orchestrator with one run slot and a short
stop grace period, so queueing and SIGKILL happen within seconds.
"""

import json
import os
import signal
import socket
import subprocess
import time

import pytest

from tests.functional.conftest import (
    PDTRAIN,
    Cli,
    base_env,
    read_tar_member,
    start_server,
    stop_server,
)

RUN_FAILED, RUN_STOPPED, TIMED_OUT = 3, 4, 5
INTERRUPTED, BROKEN_PIPE = 130, 141
GRACE_SECONDS = 1

SLEEPER = "import time\nprint('sleeping', flush=True)\ntime.sleep(60)\n"
TRAPS_TERM = """\
import os, signal, sys, time

def save(signum, frame):
    path = os.path.join(os.environ["SM_MODEL_DIR"], "partial.txt")
    with open(path, "w") as handle:
        handle.write("saved on SIGTERM")
    sys.exit(0)

signal.signal(signal.SIGTERM, save)
print("training", flush=True)
time.sleep(60)
"""
IGNORES_TERM = """\
import signal, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
print("stubborn", flush=True)
time.sleep(60)
"""
WRITES_FAILURE = """\
import os, sys
path = os.path.join(os.environ["SM_OUTPUT_DIR"], "failure")
with open(path, "w") as handle:
    handle.write("DataError: column label is missing")
sys.exit(2)
"""
COUNTER = """\
import time
for number in range(100000):
    print(f"line {number}", flush=True)
    time.sleep(0.02)
"""


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def slot_server(tmp_path_factory):
    """An orchestrator with one run slot and a 1 s stop grace period."""
    port = _free_port()
    args = (
        "--max-concurrent", "1",
        "--stop-grace-seconds", str(GRACE_SECONDS),
        "--port", str(port),
    )
    running = start_server(tmp_path_factory.mktemp("slot"), args)
    running.args = args
    yield running
    stop_server(running)


@pytest.fixture
def slot_cli(slot_server, tmp_path):
    env = base_env(tmp_path / "cli-home")
    env["PDTRAIN_API_URL"] = slot_server.url
    env["PDTRAIN_API_KEY"] = slot_server.key
    return Cli(home=tmp_path / "cli-home", env=env)


def _bundle(cli, tmp_path, name, script):
    folder = tmp_path / name
    folder.mkdir()
    (folder / "train.py").write_text(script)
    cli.json("bundle", "upload", folder, "--name", name)


def _wait_status(cli, run_id, statuses, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = cli.json("run", "show", run_id)
        if run["status"] in statuses:
            return run
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} stayed {run['status']}")


def test_failure_file_reason_and_exit_code(slot_cli, tmp_path):
    _bundle(slot_cli, tmp_path, "datafail", WRITES_FAILURE)

    result = slot_cli(
        "run", "create", "--bundle", "datafail", "--wait",
        "--interval", "0.3", "-f", "json",
    )
    run = json.loads(result.stdout)

    assert result.returncode == RUN_FAILED
    assert run["status"] == "failed"
    assert run["exit_code"] == 2
    assert "DataError: column label is missing" in run["failure_reason"]
    assert "DataError: column label is missing" in result.stderr
    assert f"(see `pdtrain logs {run['id']}`)" in result.stderr

    followed = slot_cli("logs", run["id"], "--follow")

    assert followed.returncode == RUN_FAILED
    assert f"Run {run['id']} ended failed" in followed.stderr
    assert "see `pdtrain logs" not in followed.stderr


def test_stop_with_grace_packages_model(slot_cli, tmp_path):
    _bundle(slot_cli, tmp_path, "trapper", TRAPS_TERM)
    run = slot_cli.json("run", "create", "--bundle", "trapper", "--submit")
    _wait_status(slot_cli, run["id"], ("running",))
    time.sleep(1)

    first = slot_cli.json("run", "stop", run["id"], "--yes")
    second = slot_cli.json("run", "stop", run["id"], "--yes")
    watch = slot_cli("run", "watch", run["id"], "--interval", "0.3")
    final = slot_cli.json("run", "show", run["id"])
    download = slot_cli(
        "artifacts", "download", run["id"], "--include", "model.tar.gz",
        "--output", tmp_path / "out",
    )

    assert first["status"] in ("stopping", "stopped")
    assert second["status"] in ("stopping", "stopped")
    assert watch.returncode == RUN_STOPPED
    assert final["secondary_status"] == "Stopped"
    assert final["exit_code"] == 0
    assert download.returncode == 0, download.stderr
    model = tmp_path / "out" / "model.tar.gz"
    assert read_tar_member(model, "partial.txt") == b"saved on SIGTERM"


def test_stop_kills_after_grace(slot_cli, tmp_path):
    _bundle(slot_cli, tmp_path, "stubborn", IGNORES_TERM)
    run = slot_cli.json("run", "create", "--bundle", "stubborn", "--submit")
    _wait_status(slot_cli, run["id"], ("running",))
    time.sleep(1)
    started = time.monotonic()

    slot_cli.json("run", "stop", run["id"], "--yes")
    final = _wait_status(slot_cli, run["id"], ("stopped",), timeout=30)

    assert final["exit_code"] == 128 + signal.SIGKILL
    assert time.monotonic() - started >= GRACE_SECONDS


def test_stop_of_completed_run_keeps_status(slot_cli, bundle_dir, csv_file):
    slot_cli.json("dataset", "upload", csv_file, "--name", "rows")
    slot_cli.json("bundle", "upload", bundle_dir, "--name", "counter")
    run = slot_cli.json(
        "run", "create", "--bundle", "counter", "--dataset", "rows",
        "--wait", "--interval", "0.3",
    )

    stopped = slot_cli("run", "stop", run["id"], "--yes", "-f", "json")

    assert stopped.returncode == 0, stopped.stderr
    assert json.loads(stopped.stdout)["status"] == "completed"

    again = slot_cli("run", "submit", run["id"], "-f", "json")

    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["status"] == "completed"
    assert "was submitted before and has ended (completed)" in again.stderr


def test_max_runtime_stops_like_sagemaker(slot_cli, tmp_path):
    _bundle(slot_cli, tmp_path, "sleeper", SLEEPER)

    result = slot_cli(
        "run", "create", "--bundle", "sleeper", "--max-runtime", "1",
        "--wait", "--interval", "0.3", "-f", "json",
    )
    run = json.loads(result.stdout)

    assert result.returncode == RUN_STOPPED
    assert run["status"] == "stopped"
    assert run["secondary_status"] == "MaxRuntimeExceeded"


def test_concurrency_limit_queues_in_submit_order(slot_cli, tmp_path):
    _bundle(slot_cli, tmp_path, "short", "import time\ntime.sleep(3)\n")
    ids = [
        slot_cli.json("run", "create", "--bundle", "short", "--submit")["id"]
        for _ in range(3)
    ]
    queued = [slot_cli.json("run", "show", run_id) for run_id in ids[1:]]

    finals = [
        _wait_status(slot_cli, run_id, ("completed",)) for run_id in ids
    ]

    assert [run["status"] for run in queued] == ["pending", "pending"]
    for earlier, later in zip(finals, finals[1:], strict=False):
        assert earlier["ended_at"] <= later["started_at"]


def test_watch_timeout_exits_wait_timed_out(slot_cli, tmp_path):
    _bundle(slot_cli, tmp_path, "waiter", SLEEPER)
    run = slot_cli.json("run", "create", "--bundle", "waiter", "--submit")

    result = slot_cli(
        "run", "watch", run["id"], "--timeout", "1", "--interval", "0.2",
        "-f", "ndjson",
    )
    slot_cli("run", "stop", run["id"], "--yes")
    objects = [json.loads(line) for line in result.stdout.splitlines()]

    assert result.returncode == TIMED_OUT
    assert "still" in result.stderr
    assert objects[0]["event"] == "status"
    assert objects[-1]["event"] == "summary"
    assert objects[-1]["exit_code"] == TIMED_OUT


def test_create_wait_timeout_still_prints_id(slot_cli, tmp_path):
    _bundle(slot_cli, tmp_path, "idler", SLEEPER)

    result = slot_cli(
        "run", "create", "--bundle", "idler", "--submit", "--wait",
        "--timeout", "1", "--interval", "0.2", "-f", "value", "-c", "id",
    )  # fmt: skip
    run_id = result.stdout.strip()
    slot_cli("run", "stop", run_id, "--yes")

    assert result.returncode == TIMED_OUT
    assert len(run_id) == 32
    assert f"Error: Run {run_id} is still" in result.stderr


def test_watch_ctrl_c_exits_130_and_run_goes_on(slot_cli, tmp_path):
    _bundle(slot_cli, tmp_path, "patient", SLEEPER)
    run = slot_cli.json("run", "create", "--bundle", "patient", "--submit")
    _wait_status(slot_cli, run["id"], ("running",))
    watcher = subprocess.Popen(
        [PDTRAIN, "run", "watch", run["id"], "--interval", "0.2"],
        env=slot_cli.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(2)

    watcher.send_signal(signal.SIGINT)
    _, stderr = watcher.communicate(timeout=20)
    after = slot_cli.json("run", "show", run["id"])
    slot_cli("run", "stop", run["id"], "--yes")

    assert watcher.returncode == INTERRUPTED
    assert "keeps running" in stderr
    assert f"pdtrain run stop {run['id']}" in stderr
    assert "Traceback" not in stderr
    assert after["status"] == "running"


def test_create_wait_ctrl_c_still_prints_id(slot_cli, tmp_path):
    _bundle(slot_cli, tmp_path, "hushed", SLEEPER)
    waiter = subprocess.Popen(
        [PDTRAIN, "run", "create", "--bundle", "hushed", "--submit",
         "--wait", "--interval", "0.2", "-f", "value", "-c", "id"],
        env=slot_cli.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    time.sleep(3)

    waiter.send_signal(signal.SIGINT)
    stdout, stderr = waiter.communicate(timeout=20)
    run_id = stdout.strip()
    slot_cli("run", "stop", run_id, "--yes")

    assert waiter.returncode == INTERRUPTED
    assert len(run_id) == 32
    assert f"Interrupted; run {run_id} keeps running" in stderr
    assert "Traceback" not in stderr


def test_logs_follow_into_closed_pipe_exits_141(slot_cli, tmp_path):
    _bundle(slot_cli, tmp_path, "chatty", COUNTER)
    run = slot_cli.json("run", "create", "--bundle", "chatty", "--submit")
    _wait_status(slot_cli, run["id"], ("running",))
    time.sleep(1)

    result = subprocess.run(
        f"{PDTRAIN} logs {run['id']} --follow | head -n 1; "
        "echo \"status=${PIPESTATUS[0]}\"",
        shell=True, executable="/bin/bash", env=slot_cli.env,
        capture_output=True, text=True, timeout=60,
    )
    slot_cli("run", "stop", run["id"], "--yes")

    assert result.stdout.splitlines() == ["line 0", f"status={BROKEN_PIPE}"]
    assert "Traceback" not in result.stderr


def test_create_with_same_key_returns_same_run(slot_cli, tmp_path):
    _bundle(slot_cli, tmp_path, "keyed", "print('hi')\n")
    create = ("run", "create", "--bundle", "keyed", "--name", "keyed")

    first = slot_cli.json(*create, "--idempotency-key", "ci-build-7")
    again = slot_cli.json(*create, "--idempotency-key", "ci-build-7")
    other = slot_cli(
        "run", "create", "--bundle", "keyed", "--name", "other",
        "--idempotency-key", "ci-build-7",
    )
    runs = slot_cli.json("run", "list", "--name", "keyed")

    assert again["id"] == first["id"]
    assert [run["id"] for run in runs] == [first["id"]]
    assert other.returncode == 1
    assert "ci-build-7" in other.stderr
    assert "different request" in other.stderr


def test_spec_file_recreates_shown_run(slot_cli, tmp_path):
    _bundle(slot_cli, tmp_path, "specced", "print('hi')\n")
    original = slot_cli.json(
        "run", "create", "--bundle", "specced", "--name", "first",
        "--hyperparameter", "layers=[64,32]", "--hyperparameter",
        "verbose=true", "--env", "MODE=fast", "--max-runtime", "600",
    )
    shown = slot_cli("run", "show", original["id"], "-f", "yaml")
    spec = tmp_path / "run.yaml"
    spec.write_text(shown.stdout)

    copy = slot_cli.json(
        "run", "create", "-f", spec, "--name", "second",
        "--hyperparameter", "verbose=false",
    )

    assert copy["id"] != original["id"]
    assert copy["name"] == "second"
    assert copy["hyperparameters"] == {"layers": [64, 32], "verbose": False}
    assert copy["env"] == {"MODE": "fast"}
    assert copy["max_runtime_seconds"] == 600
    assert copy["bundle"]["id"] == original["bundle"]["id"]
    assert copy["sagemaker_hyperparameters"] == {
        "layers": "[64,32]",
        "verbose": "false",
    }


def _restart(server, home):
    (home / "server.json").unlink(missing_ok=True)
    restarted = start_server(home, server.args)
    server.process = restarted.process
    return restarted


def test_kill_9_mid_run_loses_no_line(slot_server, slot_cli, tmp_path):
    _bundle(slot_cli, tmp_path, "counter9", COUNTER)
    run = slot_cli.json("run", "create", "--bundle", "counter9", "--submit")
    _wait_status(slot_cli, run["id"], ("running",))
    follower = subprocess.Popen(
        [PDTRAIN, "logs", run["id"], "--follow", "--interval", "0.2"],
        env=slot_cli.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(2)

    os.kill(slot_server.process.pid, signal.SIGKILL)
    slot_server.process.wait()
    time.sleep(1)  # the orphaned script goes on writing meanwhile
    _restart(slot_server, slot_server.home)
    stdout, stderr = follower.communicate(timeout=60)
    final = slot_cli.json("run", "show", run["id"])
    stored = slot_cli("logs", run["id"], "--tail", "all").stdout.splitlines()
    log_file = slot_server.home / "runs" / run["id"] / "logs" / "stdout.log"
    size = log_file.stat().st_size
    time.sleep(0.5)

    lines = stdout.splitlines()
    assert follower.returncode == RUN_FAILED, stderr
    assert final["status"] == "failed"
    assert final["failure_reason"] == "orchestrator restarted"
    assert "connection refused" in stderr  # the follower saw the outage
    assert lines == [f"line {n}" for n in range(len(lines))]
    assert len(lines) > 60  # lines from after the kill reached the log
    assert stored == lines
    assert log_file.read_text().splitlines() == lines
    assert log_file.stat().st_size == size  # the orphan was killed
