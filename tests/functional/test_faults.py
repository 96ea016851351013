"""Faults on the wire, crashes of the server and a full disk.

A FaultyProxy resets connections, returns 5xx, cuts bodies short or
slows requests down for each command. Crash tests start their own
orchestrator, stop it with SIGKILL at a fault point (see
pdtrain_orchestrator/fault_points.py) and start it again. After each
fault: no half-made object is visible, no run stays unfinished, and the
CLI prints one line that says what happened.
"""

import json
import resource
import signal
import socket
import subprocess
import sys
import time
import urllib.parse

import pytest
import requests

from tests.functional.conftest import (
    PDTRAIN,
    Cli,
    base_env,
    start_server,
    stop_server,
)

READ_COMMANDS = [
    ("bundle", "list"),
    ("dataset", "list"),
    ("run", "list"),
    ("quota",),
]


def _api(method, path, query):
    return path.startswith("/v1/") and not path.startswith("/v1/objects")


def _assert_one_line_error(result):
    assert result.returncode != 0, result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert "Traceback" not in result.stderr, result.stderr
    assert lines, "no error message"
    assert lines[-1].startswith("Error"), result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("command", READ_COMMANDS, ids=" ".join)
@pytest.mark.parametrize(
    ("action", "options"),
    [("reset", {}), ("pass", {"cut_after": 1})],
    ids=["reset", "truncated"],
)
def test_command_fault_is_one_line_error(
    pcli, proxy, command, action, options
):
    proxy.add(_api, action, **options)
    result = pcli(*command, timeout=120)

    _assert_one_line_error(result)


@pytest.mark.parametrize("command", READ_COMMANDS[::2], ids=" ".join)
def test_command_lasting_5xx_is_one_line_error(pcli, proxy, command):
    # Each try waits out the client's backoff, so two commands suffice.
    proxy.add(_api, "status", status=503)
    result = pcli(*command, timeout=120)

    _assert_one_line_error(result)
    assert "503" in result.stderr


@pytest.mark.parametrize("command", READ_COMMANDS, ids=" ".join)
def test_command_survives_5xx_burst_and_slowness(pcli, proxy, command):
    proxy.add(_api, "status", times=2, status=502)
    proxy.add(_api, "delay", seconds=1.0)
    result = pcli(*command, "-f", "json", timeout=120)

    assert result.returncode == 0, result.stderr
    json.loads(result.stdout)


@pytest.mark.parametrize(
    ("action", "options"),
    [("reset", {}), ("status", {"status": 500}), ("pass", {"cut_after": 3})],
    ids=["reset", "5xx", "truncated"],
)
def test_bundle_upload_fault_at_finalize_leaves_one_or_none(
    pcli, proxy, bundle_dir, action, options
):
    def finalize(method, path, query):
        return path == "/v1/bundles/finalize"

    proxy.add(finalize, action, times=1, **options)
    result = pcli("bundle", "upload", bundle_dir, "--name", "faulty")
    proxy.clear()
    bundles = pcli.json("bundle", "list", "--name", "faulty")

    assert "Traceback" not in result.stderr
    if result.returncode == 0:
        assert len(bundles) == 1
    else:
        _assert_one_line_error(result)
        assert len(bundles) <= 1
    assert all(b["validation_status"] == "ready" for b in bundles)


def test_dataset_upload_fault_at_post_leaves_nothing(pcli, proxy, csv_file):
    def object_post(method, path, query):
        return method == "POST" and path == "/v1/objects"

    proxy.add(object_post, "reset")
    result = pcli("dataset", "upload", csv_file, "--name", "cut")
    proxy.clear()

    _assert_one_line_error(result)
    assert pcli.json("dataset", "list") == []


# Crash tests: a server of their own, killed with SIGKILL.


def _start_paused(home, monkeypatch, point):
    marker = home.parent / f"{home.name}-{point}.paused"
    monkeypatch.setenv("PDTRAIN_FAULT_POINT", point)
    monkeypatch.setenv("PDTRAIN_FAULT_MARKER", str(marker))
    server = start_server(home)
    monkeypatch.delenv("PDTRAIN_FAULT_POINT")
    monkeypatch.delenv("PDTRAIN_FAULT_MARKER")
    return server, marker


def _cli_for(server, tmp_path):
    env = base_env(tmp_path / "cli-home")
    env["PDTRAIN_API_URL"] = server.url
    env["PDTRAIN_API_KEY"] = server.key
    return Cli(home=tmp_path / "cli-home", env=env)


def _wait_for(path, timeout=60):
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def _kill(server):
    server.process.send_signal(signal.SIGKILL)
    server.process.wait(timeout=30)


def _restart(server, cli):
    # SIGKILL left the old state file, which start_server waits for.
    (server.home / "server.json").unlink()
    restarted = start_server(server.home)
    cli.env["PDTRAIN_API_URL"] = restarted.url
    return restarted


def _wait_terminal(cli, run_id, timeout=90):
    deadline = time.monotonic() + timeout
    while True:
        run = cli.json("run", "show", run_id)
        if run["status"] in ("completed", "failed", "stopped"):
            return run
        assert time.monotonic() < deadline, f"run stuck in {run['status']}"
        time.sleep(0.5)


def test_kill_during_dataset_finalize_leaves_no_version(
    tmp_path, monkeypatch, csv_file
):
    server, marker = _start_paused(
        tmp_path / "home", monkeypatch, "dataset_finalize"
    )
    cli = _cli_for(server, tmp_path)
    upload = subprocess.Popen(
        [PDTRAIN, "dataset", "upload", str(csv_file), "--name", "crash"],
        env=cli.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_for(marker)
    _kill(server)
    _, stderr = upload.communicate(timeout=120)
    server = _restart(server, cli)
    try:
        listed = cli.json("dataset", "list")
        again = cli.json("dataset", "upload", csv_file, "--name", "crash")
        temp_files = list((server.home / "tmp").glob("upload-*"))
    finally:
        stop_server(server)

    assert upload.returncode != 0
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1].startswith("Error")
    assert listed == []
    assert again["version"] == 1
    assert temp_files == []


def _submit_run(cli, bundle_dir, csv_file):
    cli.json("bundle", "upload", bundle_dir, "--name", "crash")
    cli.json("dataset", "upload", csv_file, "--name", "rows")
    run = cli.json(
        "run", "create", "--bundle", "crash", "--dataset", "rows", "--submit"
    )
    return run["id"]


@pytest.mark.parametrize("point", ["run_start", "packaging"])
def test_kill_during_run_leaves_no_unfinished_run(
    tmp_path, monkeypatch, bundle_dir, csv_file, point
):
    server, marker = _start_paused(tmp_path / "home", monkeypatch, point)
    cli = _cli_for(server, tmp_path)
    run_id = _submit_run(cli, bundle_dir, csv_file)
    _wait_for(marker)
    before = cli("logs", run_id).stdout.splitlines()
    _kill(server)
    server = _restart(server, cli)
    try:
        run = _wait_terminal(cli, run_id)
        after = cli("logs", run_id).stdout
    finally:
        stop_server(server)

    assert run["status"] in ("completed", "failed")
    if run["status"] == "failed":
        assert run["failure_reason"]
    # Every line stored before the crash is still there.
    for line in before:
        assert line in after
    if point == "packaging":
        assert "epoch 2 rows 20" in after


def _limit_file_size(limit):
    def apply():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_full_disk_during_upload_stores_nothing(tmp_path):
    # A file size limit on the server process makes every write past
    # 8 MiB fail as a full disk would, without a tmpfs mount.
    home = tmp_path / "home"
    home.mkdir()
    log = open(home / "test-server.log", "ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "pdtrain_orchestrator", "serve",
         "--home", str(home), "--host", "127.0.0.1", "--port", "0",
         "--bootstrap-key-file", "api_key"],
        stdout=log, stderr=subprocess.STDOUT,
        preexec_fn=_limit_file_size(8 * 1024**2),
    )  # fmt: skip
    try:
        _wait_for(home / "server.json", timeout=30)
        url = json.loads((home / "server.json").read_text())["url"]
        env = base_env(tmp_path / "cli-home")
        env["PDTRAIN_API_URL"] = url
        env["PDTRAIN_API_KEY"] = (home / "api_key").read_text().strip()
        cli = Cli(home=tmp_path / "cli-home", env=env)
        big = tmp_path / "big.csv"
        big.write_bytes(b"x,y\n" + b"1,2\n" * (3 * 1024**2))
        result = cli("dataset", "upload", big, "--name", "big")
        listed = cli.json("dataset", "list")
        temp_files = list((home / "tmp").glob("upload-*"))
        small_file = tmp_path / "small.csv"
        small_file.write_text("x,y\n1,2\n")
        small = cli.json("dataset", "upload", small_file, "--name", "small")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        log.close()

    _assert_one_line_error(result)
    assert "out of disk space" in result.stderr
    assert listed == []
    assert temp_files == []
    assert small["version"] == 1


def test_client_disconnect_is_logged_without_traceback(server):
    presign = requests.post(
        f"{server.url}/v1/storage/presign",
        headers={"Authorization": f"Bearer {server.key}"},
        json={"path": "bundles/cut.tar.gz"},
        timeout=30,
    ).json()
    target = urllib.parse.urlsplit(presign["presigned_url"])
    log = server.home / "test-server.log"
    start = log.stat().st_size

    # Promise a megabyte, send a kilobyte, hang up.
    with socket.create_connection((target.hostname, target.port)) as sock:
        sock.sendall(
            f"PUT {target.path}?{target.query} HTTP/1.1\r\n"
            f"Host: {target.netloc}\r\nContent-Length: 1000000\r\n\r\n"
            .encode() + b"x" * 1024
        )  # fmt: skip
        time.sleep(0.5)
    deadline = time.monotonic() + 10
    while "disconnected" not in log.read_text()[start:]:
        assert time.monotonic() < deadline, log.read_text()[start:]
        time.sleep(0.1)
    added = log.read_text()[start:]

    assert "Traceback" not in added
    assert " ERROR " not in added
    assert list((server.home / "tmp").glob("upload-*")) == []
