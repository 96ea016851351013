"""The CI example: train.sh against a real orchestrator, and its workflow."""

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from pdtrain_core.exitcodes import ExitCode

REPO = Path(__file__).resolve().parents[2]
CI_DIR = REPO / "examples" / "ci"
TRAIN_SH = CI_DIR / "train.sh"
FAILING_BUNDLE = REPO / "examples" / "failing"
CENTROID_BUNDLE = CI_DIR / "centroid"

SLOW_SCRIPT = """\
import time

print("waiting", flush=True)
time.sleep(60)
"""


def run_train_sh(cli, tmp_path, bundle, *args, **env):
    """Run train.sh with the test's CLI settings and return the result."""
    merged = dict(cli.env)
    merged.update(
        PDTRAIN_CI_BUNDLE=str(bundle),
        PDTRAIN_CI_BUNDLE_NAME="ci-bundle",
        PDTRAIN_CI_DATASET_NAME="ci-data",
        PDTRAIN_CI_OUTPUT=str(tmp_path / "artifacts"),
        PDTRAIN_CI_INTERVAL="0.5",
        GITHUB_OUTPUT=str(tmp_path / "github-output"),
    )
    merged.update(env)
    return subprocess.run(
        ["bash", str(TRAIN_SH), *args],
        capture_output=True,
        text=True,
        timeout=180,
        env=merged,
    )


def github_outputs(tmp_path):
    path = tmp_path / "github-output"
    if not path.exists():
        return {}
    lines = path.read_text().splitlines()
    return dict(line.split("=", 1) for line in lines)


def test_train_sh_trains_digits_and_downloads(cli, tmp_path):
    result = run_train_sh(cli, tmp_path, CENTROID_BUNDLE, "--name", "ci-smoke")

    assert result.returncode == 0, result.stderr
    outputs = github_outputs(tmp_path)
    run_id = outputs["run-id"]
    artifacts = Path(result.stdout.strip())
    assert artifacts == tmp_path / "artifacts" / run_id
    assert outputs["artifacts-dir"] == str(artifacts)
    assert (artifacts / "model.tar.gz").is_file()
    assert (artifacts / "model" / "centroids.json").is_file()
    metrics = json.loads((artifacts / "model" / "metrics.json").read_text())
    assert metrics["accuracy"] > 0.85
    assert "loaded 1797 rows from digits.csv" in result.stderr
    run = cli.json("run", "show", run_id)
    assert run["status"] == "completed"
    assert run["name"] == "ci-smoke"
    assert run["inputs"][0]["version"] == 1


def test_train_sh_exits_run_failed(cli, tmp_path, csv_file):
    result = run_train_sh(
        cli, tmp_path, FAILING_BUNDLE, PDTRAIN_CI_DATASET=str(csv_file)
    )

    assert result.returncode == ExitCode.RUN_FAILED, result.stderr
    assert result.stdout == ""
    assert "labels column 'target' not found" in result.stderr
    run_id = github_outputs(tmp_path)["run-id"]
    assert cli.json("run", "show", run_id)["status"] == "failed"
    assert not (tmp_path / "artifacts").exists()


def test_train_sh_stops_run_after_timeout(cli, tmp_path, csv_file):
    bundle = tmp_path / "slow-bundle"
    bundle.mkdir()
    (bundle / "train.py").write_text(SLOW_SCRIPT)

    result = run_train_sh(
        cli,
        tmp_path,
        bundle,
        PDTRAIN_CI_DATASET=str(csv_file),
        PDTRAIN_CI_TIMEOUT="2",
    )

    assert result.returncode == ExitCode.WAIT_TIMED_OUT, result.stderr
    run_id = github_outputs(tmp_path)["run-id"]
    status = cli.json("run", "show", run_id)["status"]
    assert status in ("stopping", "stopped")


def test_train_sh_reports_unreachable_server(cli, tmp_path, csv_file):
    result = run_train_sh(
        cli,
        tmp_path,
        FAILING_BUNDLE,
        PDTRAIN_CI_DATASET=str(csv_file),
        PDTRAIN_API_URL="http://127.0.0.1:9",
    )

    assert result.returncode == ExitCode.ERROR
    assert "Cannot reach the orchestrator" in result.stderr
    assert github_outputs(tmp_path) == {}


@pytest.fixture(scope="module")
def workflow():
    text = (CI_DIR / "github-workflow.yml").read_text()
    return yaml.safe_load(text)


def workflow_steps(workflow):
    (job,) = workflow["jobs"].values()
    return job, job["steps"]


def test_workflow_runs_train_sh_with_secrets(workflow):
    job, steps = workflow_steps(workflow)
    uses = [step.get("uses", "").split("@")[0] for step in steps]
    (train,) = [s for s in steps if "examples/ci/train.sh" in s.get("run", "")]

    assert uses[:2] == ["actions/checkout", "actions/setup-python"]
    assert any("pip install ." in s.get("run", "") for s in steps)
    assert train["id"] == "train"
    assert (REPO / "examples" / "ci" / "train.sh").is_file()
    env = job["env"]
    assert env["PDTRAIN_API_URL"] == "${{ secrets.PDTRAIN_API_URL }}"
    assert env["PDTRAIN_API_KEY"] == "${{ secrets.PDTRAIN_API_KEY }}"


def test_workflow_uploads_the_outputs_train_sh_sets(workflow):
    _, steps = workflow_steps(workflow)
    (upload,) = [s for s in steps if "upload-artifact" in s.get("uses", "")]
    script = TRAIN_SH.read_text()

    assert upload["with"]["path"] == "${{ steps.train.outputs.artifacts-dir }}"
    assert "steps.train.outputs.run-id" in upload["with"]["name"]
    assert "set_output artifacts-dir " in script
    assert "set_output run-id " in script
