"""Destructive commands ask on a terminal and need --yes on a pipe."""

import pexpect
import pytest

from tests.functional.conftest import PDTRAIN

SLEEPY_SCRIPT = """\
import time

for step in range(600):
    print("tick", step, flush=True)
    time.sleep(0.2)
"""
USAGE = 2
RUN_STOPPED = 4


def _on_terminal(cli, *args):
    """Start pdtrain with args on a pseudo-terminal."""
    return pexpect.spawn(
        PDTRAIN, list(args), env=cli.env, encoding="utf-8", timeout=60
    )


def _answer(cli, question, answer, *args):
    """Run a command on a terminal, answer its question, return status."""
    child = _on_terminal(cli, *args)
    child.expect_exact(question)
    child.expect_exact("[y/N]")
    child.sendline(answer)
    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus


def _dataset_names(cli):
    return [item["name"] for item in cli.json("dataset", "list")]


@pytest.fixture
def running_run(cli, tmp_path):
    """A local run that keeps printing until stopped."""
    folder = tmp_path / "sleepy"
    folder.mkdir()
    (folder / "train.py").write_text(SLEEPY_SCRIPT)
    cli.json("bundle", "upload", folder, "--name", "sleepy")
    run = cli.json("run", "create", "--bundle", "sleepy", "--submit")
    cli("run", "watch", run["id"], "--timeout", "0", "--interval", "0.2")
    yield run
    cli("run", "stop", run["id"], "--yes")


def test_dataset_delete_on_terminal_asks_first(cli, csv_file):
    cli.json("dataset", "upload", csv_file, "--name", "rows")

    declined = _answer(
        cli, "rows", "n", "dataset", "delete", "rows", "--all-versions"
    )
    kept = _dataset_names(cli)
    accepted = _answer(
        cli, "rows", "y", "dataset", "delete", "rows", "--all-versions"
    )

    assert kept == ["rows"]
    assert accepted == 0
    assert _dataset_names(cli) == []
    assert declined is not None


def test_dataset_delete_on_pipe_needs_yes(cli, csv_file):
    cli.json("dataset", "upload", csv_file, "--name", "rows")

    result = cli(
        "dataset", "delete", "rows", "--all-versions", input="y\n"
    )

    assert result.returncode == USAGE
    assert len(result.stderr.strip().splitlines()) == 1
    assert "--yes" in result.stderr
    assert "Traceback" not in result.stderr
    assert _dataset_names(cli) == ["rows"]


def test_run_stop_on_terminal_asks_first(cli, running_run):
    run_id = running_run["id"]

    declined = _answer(cli, f"Stop run {run_id}?", "n", "run", "stop", run_id)
    still = cli.json("run", "show", run_id)["status"]
    accepted = _answer(cli, f"Stop run {run_id}?", "y", "run", "stop", run_id)
    final = cli("run", "watch", run_id, "--timeout", "60", "--interval", "0.3")

    assert declined == 0
    assert still == "running"
    assert accepted == 0
    assert final.returncode == RUN_STOPPED, final.stderr


def test_run_stop_on_pipe_needs_yes(cli, running_run):
    run_id = running_run["id"]

    result = cli("run", "stop", run_id, input="y\n")
    shown = cli.json("run", "show", run_id)

    assert result.returncode == USAGE
    assert len(result.stderr.strip().splitlines()) == 1
    assert "--yes" in result.stderr
    assert shown["status"] == "running"
