"""The errors that README's troubleshooting section quotes, reproduced.

Each test provokes one situation against a real orchestrator and checks
the one-line error, its fix and the exit status.
"""

import subprocess

import pytest

from pdtrain_core.exitcodes import ExitCode
from tests.functional.conftest import (
    ORCHESTRATOR,
    Cli,
    base_env,
    start_server,
    stop_server,
)

SMALL_LIMITS = """\
limits:
  max_dataset_count: 1
"""


def only_error_line(result):
    """Return stderr's single Error: line, failing if there are more."""
    errors = [line for line in result.stderr.splitlines() if "Error:" in line]
    assert len(errors) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return errors[0]


def test_revoked_key_names_the_fix(cli, server):
    key = server.create_key("leaving")
    subprocess.run(
        [
            ORCHESTRATOR,
            "keys",
            "revoke",
            "--owner",
            "leaving",
            "--home",
            str(server.home),
        ],
        capture_output=True,
        timeout=60,
        check=True,
    )

    result = cli("run", "list", env={"PDTRAIN_API_KEY": key})

    assert result.returncode == ExitCode.ERROR
    line = only_error_line(result)
    assert "invalid API key (HTTP 401)" in line
    assert "check --api-key, PDTRAIN_API_KEY" in line


@pytest.fixture(scope="module")
def small_server(tmp_path_factory):
    """An orchestrator that allows one dataset per owner."""
    home = tmp_path_factory.mktemp("small-orchestrator")
    config = home / "server.yaml"
    config.write_text(SMALL_LIMITS)
    running = start_server(home, ("--config", str(config)))
    yield running
    stop_server(running)


def test_quota_full_names_the_fix(small_server, tmp_path, csv_file):
    env = base_env(tmp_path / "cli-home")
    env["PDTRAIN_API_URL"] = small_server.url
    env["PDTRAIN_API_KEY"] = small_server.key
    small_cli = Cli(home=tmp_path / "cli-home", env=env)
    first = small_cli("dataset", "upload", csv_file, "--name", "first")
    assert first.returncode == 0, first.stderr

    result = small_cli("dataset", "upload", csv_file, "--name", "second")

    assert result.returncode == ExitCode.ERROR
    line = only_error_line(result)
    assert "dataset count limit 1 reached (HTTP 413)" in line
    assert "`pdtrain dataset delete NAME --all-versions`" in line
    names = [item["name"] for item in small_cli.json("dataset", "list")]
    assert names == ["first"]


def test_quota_warns_at_count_limit(small_server, tmp_path, csv_file):
    env = base_env(tmp_path / "cli-home")
    env["PDTRAIN_API_URL"] = small_server.url
    env["PDTRAIN_API_KEY"] = small_server.create_key("counted")
    small_cli = Cli(home=tmp_path / "cli-home", env=env)
    small_cli.json("dataset", "upload", csv_file, "--name", "only")

    result = small_cli("quota", "-f", "json")

    assert result.returncode == 0, result.stderr
    assert "datasets count 1 of 1" in result.stderr
    assert result.stderr.count("\n") == 1
