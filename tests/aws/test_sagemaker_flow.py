"""The whole CLI flow on S3 storage and the SageMaker executor, on moto.

The orchestrator runs as a subprocess with a server config that points
boto3 at moto; the test process plays SageMaker's part in a job's life.
"""

import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import time
import uuid

import pytest
import yaml

from tests.aws.conftest import (
    AWS_ENV,
    BUCKET,
    REGION,
    ROLE_ARN,
    client,
    put_log_events,
    set_job_status,
)
from tests.functional.conftest import Cli, Server, base_env, stop_server

START_TIMEOUT = 30
WAIT_SECONDS = 20


def write_config(path, moto_url, **executor):
    config = {
        "storage": {
            "backend": "s3",
            "bucket": BUCKET,
            "prefix": "pdtrain/",
            "region": REGION,
            "endpoint_url": moto_url,
        },
        "executor": {
            "backend": "sagemaker",
            "region": REGION,
            "role_arn": ROLE_ARN,
            "endpoint_url": moto_url,
            "poll_seconds": 0.2,
            **executor,
        },
        "limits": {"scheduler_poll_seconds": 0.2},
    }
    path.write_text(yaml.safe_dump(config))
    return path


def start_configured_server(home, config, workers=1, env=None):
    """Start `pdtrain-orchestrator serve --config` and wait for it."""
    home.mkdir(parents=True, exist_ok=True)
    log = open(home / "test-server.log", "ab")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pdtrain_orchestrator",
            "serve",
            "--config",
            str(config),
            "--home",
            str(home),
            "--port",
            "0",
            "--workers",
            str(workers),
            "--bootstrap-key-file",
            "api_key",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, **AWS_ENV, **(env or {})},
    )
    state = home / "server.json"
    deadline = time.monotonic() + START_TIMEOUT
    while not state.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            text = (home / "test-server.log").read_text(errors="replace")
            raise RuntimeError(f"orchestrator did not start:\n{text}")
        time.sleep(0.1)
    url = json.loads(state.read_text())["url"]
    key = (home / "api_key").read_text().strip()
    return Server(url=url, key=key, home=home, process=process)


@pytest.fixture(scope="module")
def aws_server(moto_url, tmp_path_factory):
    client("s3", moto_url).create_bucket(Bucket=BUCKET)
    folder = tmp_path_factory.mktemp("aws-orchestrator")
    config = write_config(folder / "server.yaml", moto_url)
    running = start_configured_server(folder / "home", config)
    yield running
    stop_server(running)


@pytest.fixture
def aws_cli(aws_server, moto, tmp_path):
    owner = f"owner-{uuid.uuid4().hex[:8]}"
    env = base_env(tmp_path / "cli-home")
    env["PDTRAIN_API_URL"] = aws_server.url
    env["PDTRAIN_API_KEY"] = aws_server.create_key(owner)
    cli = Cli(home=tmp_path / "cli-home", env=env)
    cli.owner = owner
    return cli


def wait_for(check, what):
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


def wait_status(cli, run_id, status):
    return wait_for(
        lambda: (
            (run := cli.json("run", "show", run_id))["status"] == status
            and run
        ),
        f"run {run_id} to become {status}",
    )


def upload_inputs(cli, bundle_dir, csv_file):
    cli.json("dataset", "upload", csv_file, "--name", "rows")
    cli.json("bundle", "upload", bundle_dir, "--name", "counter")


def create_run(cli, *extra):
    return cli.json(
        "run",
        "create",
        "--bundle",
        "counter",
        "--dataset",
        "train=rows",
        "--framework",
        "pytorch",
        "--framework-version",
        "2.2.0",
        "--submit",
        *extra,
    )


def model_tar() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        data = b"weights\n"
        info = tarfile.TarInfo("model.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_sagemaker_run_request_carries_the_command_line(
    aws_cli, bundle_dir, csv_file, create_requests
):
    upload_inputs(aws_cli, bundle_dir, csv_file)

    run = create_run(
        aws_cli,
        "--instance-type",
        "ml.g5.xlarge",
        "--instance-count",
        "2",
        "--spot",
        "--max-runtime",
        "3600",
        "--max-wait",
        "7200",
        "--hyperparameter",
        "epochs=3",
        "--hyperparameter",
        "opt=adam",
        "--env",
        "MODE=fast",
    )

    (request,) = create_requests
    prefix = f"s3://{BUCKET}/pdtrain/{aws_cli.owner}"
    hps = request["HyperParameters"]
    assert run["execution_mode"] == "sagemaker"
    assert request["TrainingJobName"] == f"pdtrain-{run['id']}"
    assert request["AlgorithmSpecification"]["TrainingImage"].endswith(
        "/pytorch-training:2.2.0-gpu-py310"
    )
    assert hps["epochs"] == "3"
    assert hps["opt"] == '"adam"'
    assert json.loads(hps["sagemaker_program"]) == "train.py"
    assert json.loads(hps["sagemaker_submit_directory"]).startswith(
        f"{prefix}/bundles/"
    )
    (channel,) = request["InputDataConfig"]
    assert channel["ChannelName"] == "train"
    assert channel["DataSource"]["S3DataSource"]["S3Uri"].startswith(
        f"{prefix}/datasets/"
    )
    assert request["OutputDataConfig"]["S3OutputPath"] == (
        f"{prefix}/artifacts/{run['id']}/"
    )
    assert request["StoppingCondition"] == {
        "MaxRuntimeInSeconds": 3600,
        "MaxWaitTimeInSeconds": 7200,
    }
    assert request["EnableManagedSpotTraining"] is True
    assert request["ResourceConfig"]["InstanceCount"] == 2
    assert request["Environment"] == {"MODE": "fast"}
    assert request["RoleArn"] == ROLE_ARN


def test_sagemaker_run_reports_logs_and_artifacts(
    aws_cli, moto, bundle_dir, csv_file, tmp_path
):
    upload_inputs(aws_cli, bundle_dir, csv_file)
    run = create_run(aws_cli)
    name = f"pdtrain-{run['id']}"
    set_job_status(name, "InProgress", "Starting")
    wait_status(aws_cli, run["id"], "pending")

    set_job_status(name, "InProgress", "Training")
    put_log_events(moto, f"{name}/algo-1-1", ["epoch 0", "epoch 1"])
    running = wait_status(aws_cli, run["id"], "running")
    data = model_tar()
    key = f"pdtrain/{aws_cli.owner}/artifacts/{run['id']}/{name}/output/"
    client("s3", moto).put_object(
        Bucket=BUCKET, Key=key + "model.tar.gz", Body=data
    )
    set_job_status(name, "Completed")
    done = wait_status(aws_cli, run["id"], "completed")
    logs = aws_cli("logs", run["id"])
    listed = aws_cli.json("artifacts", "list", run["id"])
    fetched = aws_cli("artifacts", "download", run["id"], "--output", tmp_path)

    assert running["secondary_status"] == "Training"
    assert done["job_arn"].endswith(f"training-job/{name}")
    assert logs.stdout.count("epoch 0") == 1
    assert "epoch 1" in logs.stdout
    assert [item["path"] for item in listed] == ["model.tar.gz"]
    assert listed[0]["sha256"] == hashlib.sha256(data).hexdigest()
    assert fetched.returncode == 0, fetched.stderr
    assert (tmp_path / "model.tar.gz").read_bytes() == data


def test_sagemaker_run_stop_calls_stop_training_job(
    aws_cli, bundle_dir, csv_file, moto_stop
):
    upload_inputs(aws_cli, bundle_dir, csv_file)
    run = create_run(aws_cli)
    name = f"pdtrain-{run['id']}"
    set_job_status(name, "InProgress", "Training")
    wait_status(aws_cli, run["id"], "running")

    stopping = aws_cli.json("run", "stop", run["id"], "--yes")
    wait_for(lambda: moto_stop, "StopTrainingJob")
    set_job_status(name, "Stopped")
    stopped = wait_status(aws_cli, run["id"], "stopped")

    assert stopping["status"] == "stopping"
    assert moto_stop == [name]
    assert stopped["secondary_status"] == "Stopped"


def test_sagemaker_failure_reason_reaches_the_run(
    aws_cli, bundle_dir, csv_file
):
    upload_inputs(aws_cli, bundle_dir, csv_file)
    run = create_run(aws_cli)
    name = f"pdtrain-{run['id']}"

    set_job_status(name, "Failed", reason="AlgorithmError: ValueError: boom")
    failed = wait_status(aws_cli, run["id"], "failed")

    assert failed["failure_reason"] == "AlgorithmError: ValueError: boom"


def test_sagemaker_server_rejects_local_instance_type(
    aws_cli, bundle_dir, csv_file
):
    upload_inputs(aws_cli, bundle_dir, csv_file)

    result = aws_cli(
        "run",
        "create",
        "--bundle",
        "counter",
        "--framework",
        "sklearn",
        "--framework-version",
        "1.2-1",
        "--instance-type",
        "local",
    )

    assert result.returncode == 1
    assert "invalid instance type 'local'" in result.stderr
    assert "Traceback" not in result.stderr
    assert aws_cli.json("run", "list") == []
