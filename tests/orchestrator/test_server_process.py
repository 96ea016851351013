"""The orchestrator as a real process: serve, state file, SIGTERM, keys."""

import hashlib
import json
import os
import signal
import stat
import subprocess
import sys
import time

import httpx
import pytest

from pdtrain_orchestrator import cli, keys
from pdtrain_orchestrator.models import ApiKey
from tests.orchestrator.conftest import TRAIN_BUNDLE, tar_gz

START_TIMEOUT_SECONDS = 20


def _wait_for(path, process):
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if path.exists():
            return json.loads(path.read_text())
        if process.poll() is not None:
            pytest.fail(f"server exited with {process.returncode}")
        time.sleep(0.05)
    pytest.fail("server.json did not appear")


@pytest.fixture
def server(tmp_path):
    home = tmp_path / "local"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pdtrain_orchestrator",
            "serve",
            "--home",
            str(home),
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--bootstrap-key-file",
            "api_key",
            "--log-level",
            "warning",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    state = _wait_for(home / "server.json", process)
    key = (home / "api_key").read_text().strip()
    yield home, state, key, process
    if process.poll() is None:
        process.kill()
        process.wait()


def test_server_writes_state_and_key(server):
    home, state, key, process = server

    assert state["pid"] == process.pid
    assert state["url"] == f"http://127.0.0.1:{state['port']}"
    assert stat.S_IMODE((home / "api_key").stat().st_mode) == 0o600
    assert stat.S_IMODE((home / "signing_secret").stat().st_mode) == 0o600
    assert key.startswith("pdt_")


def test_server_uploads_over_real_http(server):
    _, state, key, _ = server
    auth = {"Authorization": f"Bearer {key}"}
    data = tar_gz(TRAIN_BUNDLE)
    big = os.urandom(3 * 1024 * 1024)

    with httpx.Client(base_url=state["url"], timeout=10) as http:
        presign = http.post(
            "/v1/storage/presign",
            headers=auth,
            json={"path": "bundles/demo.tar.gz"},
        ).json()
        http.put(presign["presigned_url"], content=data)
        bundle = http.post(
            "/v1/bundles/finalize",
            headers=auth,
            json={"s3_key": presign["s3_key"]},
        ).json()
        reserved = http.post(
            "/v1/datasets/presign",
            headers=auth,
            json={"dataset_name": "blob", "files": [{"path": "b.bin"}]},
        ).json()
        post = reserved["presigned"][0]
        sent = http.post(
            post["url"], data=post["fields"], files={"file": ("b.bin", big)}
        )
        done = http.post(
            "/v1/datasets/finalize",
            headers=auth,
            json={
                "dataset_id": reserved["dataset_id"],
                "version": 1,
                "files": [
                    {
                        "path": "b.bin",
                        "sha256": hashlib.sha256(big).hexdigest(),
                    }
                ],
            },
        )
        url = http.get(
            f"/v1/datasets/{reserved['dataset_id']}/download", headers=auth
        ).json()["files"][0]["download_url"]
        part = http.get(url, headers={"Range": "bytes=1000-1999"})

    assert bundle["version"] == 1
    assert presign["presigned_url"].startswith(state["url"])
    assert sent.status_code == 204
    assert done.status_code == 200, done.text
    assert part.status_code == 206
    assert part.content == big[1000:2000]


def test_server_sigterm_removes_state_file(server):
    home, state, _, process = server

    process.send_signal(signal.SIGTERM)
    code = process.wait(timeout=15)

    assert code == 0, process.stderr.read().decode()
    assert not (home / "server.json").exists()


def test_keys_create_prints_a_stored_key(tmp_path, capsys):
    code = cli.main(
        ["keys", "create", "--owner", "ci", "--home", str(tmp_path)]
    )

    key = capsys.readouterr().out.strip()
    assert code == 0
    session = cli.open_database(cli.Settings(home=tmp_path))
    with session:
        row = session.query(ApiKey).one()
    assert row.owner == "ci"
    assert row.key_sha256 == keys.hash_key(key)


def test_keys_create_rejects_bad_owner(tmp_path, capsys):
    code = cli.main(
        ["keys", "create", "--owner", "../x", "--home", str(tmp_path)]
    )

    assert code == 2
    assert capsys.readouterr().out == ""


def test_bootstrap_key_file_is_reused(tmp_path):
    settings = cli.Settings(home=tmp_path)
    settings.prepare()
    key_file = tmp_path / "api_key"

    cli.bootstrap_key(settings, key_file)
    first = key_file.read_text()
    (tmp_path / "orchestrator.db").unlink()
    cli.bootstrap_key(settings, key_file)

    assert key_file.read_text() == first
    with cli.open_database(settings) as session:
        assert keys.owner_of(session, first.strip()) == "local"
