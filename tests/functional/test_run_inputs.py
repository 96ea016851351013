"""Bad wait options, runs never submitted or already ended, server stop
with active runs, partial dataset deletes and failures before the script.
"""

import json

import pytest

from tests.functional.conftest import Cli, base_env

SLEEP_SCRIPT = "import time\ntime.sleep(120)\n"


def _upload_bundle(cli, folder, name="toy"):
    result = cli("bundle", "upload", folder, "--name", name)
    assert result.returncode == 0, result.stderr


def _create_run(cli, *args):
    return cli.json("run", "create", "--bundle", "toy", *args)


@pytest.mark.parametrize(
    "options",
    [
        ("--interval", "0", "--submit", "--wait"),
        ("--interval", "-1", "--submit", "--wait"),
        ("--timeout", "-1", "--submit", "--wait"),
        ("--interval", "-1"),
    ],
)
def test_run_create_bad_wait_option_creates_nothing(
    cli, bundle_dir, options
):
    _upload_bundle(cli, bundle_dir)

    result = cli("run", "create", "--bundle", "toy", *options)

    assert result.returncode == 2, result.stderr
    assert f"Invalid {options[0]} {options[1]}" in result.stderr
    assert cli.json("run", "list") == []


@pytest.mark.parametrize(
    "command",
    [("logs", "{id}", "--follow"), ("run", "watch", "{id}")],
)
def test_waiting_on_created_run_fails_fast(cli, bundle_dir, command):
    _upload_bundle(cli, bundle_dir)
    run_id = _create_run(cli)["id"]
    argv = [part.format(id=run_id) for part in command]

    result = cli(*argv, timeout=30)

    lines = result.stderr.strip().splitlines()
    assert result.returncode != 0
    assert len(lines) == 1, result.stderr
    assert f"run {run_id} is created, not submitted" in lines[0]
    assert f"`pdtrain run submit {run_id}`" in lines[0]


def test_run_stop_completed_run_notes_it_ended(cli, bundle_dir, csv_file):
    _upload_bundle(cli, bundle_dir)
    upload = cli("dataset", "upload", csv_file, "--name", "rows")
    assert upload.returncode == 0, upload.stderr
    run_id = _create_run(cli, "--dataset", "rows", "--wait")["id"]

    result = cli("run", "stop", run_id, "--yes", "-f", "json")

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["status"] == "completed"
    assert "had already ended (completed)" in result.stderr


def test_dataset_delete_unknown_ref_deletes_nothing(cli, csv_file):
    upload = cli("dataset", "upload", csv_file, "--name", "keep")
    assert upload.returncode == 0, upload.stderr

    result = cli(
        "dataset", "delete", "keep", "nosuch", "--all-versions", "--yes"
    )
    names = [item["name"] for item in cli.json("dataset", "list")]

    assert result.returncode != 0
    assert "nosuch" in result.stderr
    assert "none was deleted" in result.stderr
    assert names == ["keep"]


def test_dataset_upload_output_has_id(cli, csv_file):
    result = cli(
        "dataset", "upload", csv_file, "--name", "rows",
        "-f", "value", "-c", "id", "-c", "dataset_id",
    )
    listed = cli.json("dataset", "list")

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [listed[0]["id"], listed[0]["id"]]


def test_missing_entry_reason_in_logs(cli, bundle_dir):
    _upload_bundle(cli, bundle_dir)

    waited = cli(
        "run", "create", "--bundle", "toy", "--entry", "nosuch.py",
        "--wait", "-f", "value", "-c", "id",
    )
    run_id = waited.stdout.strip()
    logs = cli("logs", run_id, "--stream", "stderr")

    assert waited.returncode == 3, waited.stderr
    assert "entry point nosuch.py not found" in waited.stderr
    assert logs.returncode == 0, logs.stderr
    last = logs.stdout.strip().splitlines()[-1]
    assert "entry point nosuch.py not found" in last


@pytest.fixture
def local_cli(tmp_path):
    """A CLI with no API URL, so it starts the embedded orchestrator."""
    home = tmp_path / "home"
    runner = Cli(home=home, env=base_env(home))
    yield runner
    runner("server", "stop", "--yes")


def test_server_stop_with_active_run_needs_yes(local_cli, tmp_path):
    folder = tmp_path / "sleepy"
    folder.mkdir()
    (folder / "train.py").write_text(SLEEP_SCRIPT)
    _upload_bundle(local_cli, folder, name="sleepy")
    created = local_cli.json(
        "run", "create", "--bundle", "sleepy", "--submit"
    )
    assert created["status"] in ("pending", "running"), created

    refused = local_cli("server", "stop")
    still_up = local_cli.json("server", "status")
    stopped = local_cli("server", "stop", "--yes")

    assert refused.returncode == 2
    assert refused.stderr.strip().startswith(
        "Error: 1 run is active on the local orchestrator and will be "
        "stopped with it"
    )
    assert "--yes" in refused.stderr
    assert still_up["running"] is True
    assert stopped.returncode == 0, stopped.stderr
    assert "Stopped the local orchestrator" in stopped.stderr
