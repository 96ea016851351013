"""The embedded orchestrator, configuration and the interactive shell."""

import json
import os
import stat
import subprocess
import sys

import pytest

from tests.functional.conftest import Cli, base_env


@pytest.fixture
def local_cli(tmp_path):
    """A CLI with no API URL, so it uses the embedded orchestrator."""
    home = tmp_path / "home"
    runner = Cli(home=home, env=base_env(home))
    yield runner
    runner("server", "stop")


def test_first_command_starts_local_server(local_cli):
    first = local_cli("bundle", "list", "-f", "json")
    second = local_cli("bundle", "list", "-f", "json")
    state = json.loads((local_cli.home / "local" / "server.json").read_text())

    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout) == []
    assert "local orchestrator" in first.stderr
    assert second.returncode == 0
    assert "local orchestrator" not in second.stderr
    assert state["url"].startswith("http://127.0.0.1:")


def test_local_key_file_is_private(local_cli):
    local_cli("bundle", "list")
    key_file = local_cli.home / "local" / "api_key"

    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600


def test_silent_server_is_not_started_twice(local_cli):
    # A live process that looks like the orchestrator but never responds,
    # as a server stuck in a long request would.
    silent = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)",
         "pdtrain_orchestrator"],
    )  # fmt: skip
    local = local_cli.home / "local"
    local.mkdir(parents=True, mode=0o700)
    local_cli.home.chmod(0o700)
    state = {"pid": silent.pid, "url": "http://127.0.0.1:9", "port": 9}
    (local / "server.json").write_text(json.dumps(state))
    try:
        result = local_cli("run", "list")
        recorded = json.loads((local / "server.json").read_text())
    finally:
        silent.kill()
        silent.wait()

    assert result.returncode == 1
    assert f"(pid {silent.pid}) is running but did not respond" in (
        result.stderr
    )
    assert result.stderr.count("\n") == 1
    assert recorded == state


def test_server_stop_then_status(local_cli):
    local_cli("server", "start")

    stopped = local_cli("server", "stop")
    status = local_cli("server", "status", "-f", "json")

    assert stopped.returncode == 0, stopped.stderr
    assert not (local_cli.home / "local" / "server.json").exists()
    assert json.loads(status.stdout)["running"] is False


def test_configure_writes_private_config(cli, server):
    env = {"PDTRAIN_API_URL": "", "PDTRAIN_API_KEY": ""}
    result = cli(
        "configure", "--api-url", server.url, "--api-key", server.key,
        env=env,
    )
    config = cli.home / "config.json"

    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(os.stat(cli.home).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(config).st_mode) == 0o600
    assert server.key in config.read_text()


def test_configure_rejects_wrong_key(cli, server):
    result = cli(
        "configure", "--api-url", server.url, "--api-key", "not-a-key",
    )

    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert not (cli.home / "config.json").exists()


def test_info_masks_key(cli):
    key = cli.env["PDTRAIN_API_KEY"]

    result = cli("info", "-f", "json")

    assert result.returncode == 0, result.stderr
    assert key not in result.stdout
    assert key[-4:] in result.stdout
    assert "PDTRAIN_API_KEY" in result.stdout


def test_shell_runs_piped_commands(cli):
    result = cli(input="run list -f json\n")

    assert result.returncode == 0, result.stderr
    assert "[]" in result.stdout
