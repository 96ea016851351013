"""Run options as `run show` reports them, and what local runs ignore."""

import json

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/train:1.0"


def _upload(cli, bundle_dir, csv_file):
    cli.json("dataset", "upload", csv_file, "--name", "rows")
    cli.json("dataset", "upload", csv_file, "--name", "rows")
    cli.json("dataset", "upload", csv_file, "--name", "extra")
    cli.json("bundle", "upload", bundle_dir, "--name", "counter")


def test_run_show_reports_every_option(cli, bundle_dir, csv_file):
    _upload(cli, bundle_dir, csv_file)
    run = cli.json(
        "run", "create", "--bundle", "counter", "--image", IMAGE,
        "--python-version", "py3", "--spot", "--instance-type",
        "ml.m5.large", "--dataset", "rows:1", "--dataset", "val=extra",
    )

    shown = cli.json("run", "show", run["id"])
    table = cli("run", "show", run["id"])

    assert shown["image"] == IMAGE
    assert shown["python_version"] == "py3"
    assert shown["spot_instances"] is True
    assert shown["instance_type"] == "ml.m5.large"
    assert [item["dataset_name"] for item in shown["inputs"]] == [
        "rows", "extra",
    ]
    assert [item["version"] for item in shown["inputs"]] == [1, 1]
    assert shown["total_cost_usd"] is None
    assert "dataset=rows:1" in table.stdout
    assert "val=extra:1" in table.stdout
    assert shown["inputs"][0]["dataset_id"] not in table.stdout


def test_run_show_reports_framework(cli, bundle_dir, csv_file):
    _upload(cli, bundle_dir, csv_file)
    run = cli.json(
        "run", "create", "--bundle", "counter", "--framework", "sklearn",
        "--framework-version", "1.2-1", "--python-version", "py3",
    )

    shown = cli.json("run", "show", run["id"])

    assert shown["framework"] == "sklearn"
    assert shown["framework_version"] == "1.2-1"
    assert shown["python_version"] == "py3"
    assert shown["spot_instances"] is False


def test_run_show_deleted_dataset_keeps_id(cli, bundle_dir, csv_file):
    _upload(cli, bundle_dir, csv_file)
    run = cli.json(
        "run", "create", "--bundle", "counter", "--dataset", "extra"
    )
    # A created run keeps its input, so it is stopped first.
    refused = cli("dataset", "delete", "extra", "--all-versions", "--yes")
    cli("run", "stop", run["id"], "--yes")
    deleted = cli("dataset", "delete", "extra", "--all-versions", "--yes")

    shown = cli.json("run", "show", run["id"])

    assert refused.returncode == 1
    assert run["id"] in refused.stderr
    assert deleted.returncode == 0, deleted.stderr
    assert shown["inputs"][0]["dataset_name"] is None
    assert shown["inputs"][0]["dataset_id"]


def test_local_run_logs_ignored_spot_once(cli, bundle_dir, csv_file):
    _upload(cli, bundle_dir, csv_file)
    run = cli.json(
        "run", "create", "--bundle", "counter", "--dataset", "rows",
        "--spot", "--instance-type", "ml.g5.xlarge", "--wait",
        "--interval", "0.3",
    )

    logs = cli("logs", run["id"]).stdout.splitlines()
    notes = [line for line in logs if "Ignoring --spot" in line]

    assert run["status"] == "completed"
    assert len(notes) == 1
    assert "--instance-type ml.g5.xlarge" in notes[0]


def test_local_run_without_spot_logs_no_note(cli, bundle_dir, csv_file):
    _upload(cli, bundle_dir, csv_file)
    run = cli.json(
        "run", "create", "--bundle", "counter", "--dataset", "rows",
        "--wait", "--interval", "0.3",
    )

    logs = cli("logs", run["id"])

    assert run["status"] == "completed"
    assert "Ignoring" not in logs.stdout


def test_run_show_table_shortens_model_url(cli, bundle_dir, csv_file):
    _upload(cli, bundle_dir, csv_file)
    run = cli.json(
        "run", "create", "--bundle", "counter", "--dataset", "rows",
        "--wait", "--interval", "0.3",
    )

    table = cli("run", "show", run["id"])
    url = cli("run", "show", run["id"], "-f", "value", "-c", "model_url")
    shown = json.loads(cli("run", "show", run["id"], "-f", "json").stdout)

    widest = max(len(line) for line in table.stdout.splitlines())
    assert "signature=" in shown["model_url"]
    # Each response signs the URL again, so only the part before the
    # expiry and signature must match.
    assert url.stdout.split("?")[0] == shown["model_url"].split("?")[0]
    assert "signature=" in url.stdout
    assert "signature=" not in table.stdout
    assert "/.../model.tar.gz" in table.stdout
    assert widest < 120
    assert shown["runtime_seconds"] > 0
