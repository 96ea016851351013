"""The request spinner: on a terminal's stderr for slow calls only."""

import json
import shlex

import pexpect
import pytest

from tests.functional.conftest import PDTRAIN

SPINNER_TEXT = "Waiting for the server"


def _runs_list(method, path, query):
    return method == "GET" and path.rstrip("/") == "/v1/runs"


def _logs(method, path, query):
    return path.endswith("/logs")


def _on_terminal(cli, command, extra_env=None):
    """Run command with stderr on a pseudo-terminal; return its output.

    stdout goes to a file under the CLI's home, so the terminal shows
    stderr alone.
    """
    out = cli.home.parent / "stdout.txt"
    line = f"{shlex.join(map(str, command))} > {shlex.quote(str(out))}"
    env = dict(cli.env, TERM="xterm", **(extra_env or {}))
    child = pexpect.spawn(
        "/bin/sh", ["-c", line], env=env, encoding="utf-8", timeout=60
    )
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    return child.before, out.read_text()


def test_spinner_shows_on_terminal_for_slow_request(pcli, proxy):
    proxy.add(_runs_list, "delay", seconds=1.5)
    command = [PDTRAIN, "run", "list", "-f", "json"]

    terminal, stdout = _on_terminal(pcli, command)

    assert SPINNER_TEXT in terminal
    assert json.loads(stdout) == []


def test_spinner_absent_for_fast_request(cli):
    env = {"PYTHONPROFILEIMPORTTIME": "1"}

    terminal, stdout = _on_terminal(
        cli, [PDTRAIN, "run", "list", "-f", "json"], env
    )

    assert SPINNER_TEXT not in terminal
    assert "import time:" in terminal
    assert " rich" not in terminal
    assert json.loads(stdout) == []


@pytest.mark.parametrize("option", ["-q", None])
def test_spinner_absent_with_quiet_or_on_pipe(pcli, proxy, option):
    proxy.add(_runs_list, "delay", seconds=1.0)
    args = ["run", "list", "-f", "json"]

    if option:
        terminal, _ = _on_terminal(pcli, [PDTRAIN, option, *args])
        assert SPINNER_TEXT not in terminal
        return
    result = pcli(*args, env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert result.returncode == 0, result.stderr
    assert SPINNER_TEXT not in result.stderr
    assert " rich" not in result.stderr
    assert "\x1b[" not in result.stderr


def _finished_run(cli, tmp_path):
    folder = tmp_path / "spin-code"
    folder.mkdir()
    (folder / "train.py").write_text("print('spun', flush=True)\n")
    cli.json("bundle", "upload", folder, "--name", "spin")
    return cli.json(
        "run", "create", "--bundle", "spin", "--wait", "--interval", "0.3"
    )["id"]


def test_spinner_only_without_follow(pcli, proxy, tmp_path):
    run_id = _finished_run(pcli, tmp_path)
    proxy.add(_logs, "delay", seconds=1.0)

    plain, plain_out = _on_terminal(pcli, [PDTRAIN, "logs", run_id])
    followed, followed_out = _on_terminal(
        pcli, [PDTRAIN, "logs", run_id, "--follow"]
    )

    assert SPINNER_TEXT in plain
    assert SPINNER_TEXT not in followed
    assert "spun" in plain_out.splitlines()
    assert "spun" in followed_out.splitlines()
