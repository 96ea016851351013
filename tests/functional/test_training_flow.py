"""The whole training path through the CLI against a real orchestrator."""

import json

from tests.functional.conftest import read_tar_member

RUN_FAILED = 3


def upload_inputs(cli, bundle_dir, csv_file):
    dataset = cli.json("dataset", "upload", csv_file, "--name", "rows")
    bundle = cli.json(
        "bundle", "upload", bundle_dir, "--name", "counter", "--wait"
    )
    return dataset, bundle


def test_bundle_upload_records_contents(cli, bundle_dir):
    bundle = cli.json("bundle", "upload", bundle_dir, "--name", "counter")

    assert bundle["name"] == "counter"
    assert bundle["validation_status"] == "ready"
    assert bundle["total_files"] == 2
    assert bundle["entry_point_verified"] is True


def test_bundle_upload_again_makes_version_two(cli, bundle_dir):
    cli.json("bundle", "upload", bundle_dir, "--name", "twice")
    (bundle_dir / "README.txt").write_text("changed\n")
    second = cli.json("bundle", "upload", bundle_dir, "--name", "twice")
    shown = cli.json("bundle", "show", "twice:1")

    assert second["version"] == 2
    assert shown["version"] == 1


def test_dataset_upload_reports_csv_shape(cli, csv_file):
    cli.json("dataset", "upload", csv_file, "--name", "shape")
    shown = cli.json("dataset", "show", "shape")

    assert shown["name"] == "shape"
    assert shown["current_version"] == 1


def test_dataset_download_matches_upload(cli, csv_file, tmp_path):
    cli.json("dataset", "upload", csv_file, "--name", "roundtrip")
    target = tmp_path / "downloaded"

    result = cli("dataset", "download", "roundtrip", "--output", target)

    assert result.returncode == 0, result.stderr
    assert (target / csv_file.name).read_bytes() == csv_file.read_bytes()


def test_directory_dataset_reaches_channel_unpacked(cli, tmp_path):
    folder = tmp_path / "shards"
    folder.mkdir()
    for index in range(2):
        (folder / f"part-{index}.csv").write_text("a,b\n1,2\n3,4\n")
    bundle = tmp_path / "lister"
    bundle.mkdir()
    (bundle / "train.py").write_text(
        "import os\n"
        "channel = os.environ['SM_CHANNEL_DATASET']\n"
        "print(sorted(os.listdir(channel)))\n"
    )
    cli.json("dataset", "upload", folder, "--name", "shards")
    cli.json("bundle", "upload", bundle, "--name", "lister")

    run = cli.json(
        "run", "create", "--bundle", "lister", "--dataset", "shards",
        "--submit", "--wait",
    )
    logs = cli("logs", run["id"])

    assert run["status"] == "completed"
    assert "['part-0.csv', 'part-1.csv']" in logs.stdout


def test_run_trains_and_yields_model(cli, bundle_dir, csv_file, tmp_path):
    upload_inputs(cli, bundle_dir, csv_file)

    run = cli.json(
        "run", "create", "--bundle", "counter", "--dataset", "rows",
        "--hyperparameter", "epochs=3", "--hyperparameter", "lr=0.1",
        "--name", "flow", "--submit", "--wait",
    )
    logs = cli("logs", run["id"], "--lines", "100")
    listed = cli.json("artifacts", "list", run["id"])
    download = cli("artifacts", "download", run["id"], "--output", tmp_path)

    assert run["status"] == "completed"
    assert logs.returncode == 0
    assert "epoch 2 rows 20" in logs.stdout
    assert "['--epochs', '3', '--lr', '0.1']" in logs.stdout
    assert {item["path"] for item in listed} >= {
        "model.tar.gz", "output.tar.gz"
    }
    assert download.returncode == 0, download.stderr
    model = read_tar_member(tmp_path / "model.tar.gz", "model.txt")
    assert model == b"trained on 20 rows\n"


def test_run_list_json_includes_run(cli, bundle_dir, csv_file):
    upload_inputs(cli, bundle_dir, csv_file)
    run = cli.json(
        "run", "create", "--bundle", "counter", "--dataset", "rows",
    )

    runs = cli.json("run", "list")

    assert run["status"] == "created"
    assert run["id"] in {item["id"] for item in runs}


def test_failed_run_exits_with_run_failed(cli, failing_bundle_dir):
    cli.json("bundle", "upload", failing_bundle_dir, "--name", "broken")

    result = cli(
        "run", "create", "--bundle", "broken", "--submit", "--wait",
        "-f", "json",
    )
    run = json.loads(result.stdout)

    assert result.returncode == RUN_FAILED
    assert run["status"] == "failed"
    assert "learning rate must be positive" in run["failure_reason"]


def test_logs_follow_exits_after_last_line(cli, bundle_dir, csv_file):
    upload_inputs(cli, bundle_dir, csv_file)
    run = cli.json(
        "run", "create", "--bundle", "counter", "--dataset", "rows",
        "--submit",
    )

    result = cli("logs", run["id"], "--follow", "--interval", "0.2")

    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if "epoch" in line]
    assert lines == [f"epoch {n} rows 20" for n in range(3)]


def test_quota_counts_uploads(cli, csv_file):
    cli.json("dataset", "upload", csv_file, "--name", "counted")

    quota = {row["kind"]: row for row in cli.json("quota")}

    assert quota["datasets"]["used"] == csv_file.stat().st_size
    assert quota["datasets"]["count"] == 1
    assert quota["bundles"]["used"] == 0
    assert quota["datasets"]["limit"] > quota["datasets"]["used"]
