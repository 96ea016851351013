"""Fixtures: moto in server mode on 127.0.0.1, started by the tests.

moto stores training jobs but runs nothing, so tests drive a job's life
themselves: they edit the stored job's status, write log events to
CloudWatch Logs and put model.tar.gz under the job's output path. moto
5.2 has no StopTrainingJob; `moto_stop` adds one to the server's
handler, so the orchestrator's real boto3 call gets a response.
"""

import json
import time

import boto3
import pytest
import requests

pytest.importorskip("moto")
from moto.sagemaker.models import (  # noqa: E402
    FakeTrainingJob,
    sagemaker_backends,
)
from moto.sagemaker.responses import SageMakerResponse  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402

from tests.functional.conftest import (  # noqa: E402, F401 - fixtures
    bundle_dir,
    csv_file,
)

REGION = "us-east-1"
ACCOUNT = "123456789012"
BUCKET = "pdtrain-test"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/pdtrain-training"
LOG_GROUP = "/aws/sagemaker/TrainingJobs"
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    # Keep boto3 away from instance metadata and the user's own files.
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
}


@pytest.fixture(scope="session")
def moto_url():
    """Start moto on a free loopback port for the whole session."""
    patch = pytest.MonkeyPatch()
    for name, value in AWS_ENV.items():
        patch.setenv(name, value)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()
    patch.undo()


@pytest.fixture
def moto(moto_url, monkeypatch):
    """moto with empty state, a bucket and the training jobs' log group.

    New training jobs start InProgress/Starting, as on AWS; moto would
    report them Completed at once.
    """
    original = FakeTrainingJob.__init__

    def starting(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self.training_job_status = "InProgress"
        self.secondary_status = "Starting"

    monkeypatch.setattr(FakeTrainingJob, "__init__", starting)
    requests.post(f"{moto_url}/moto-api/reset", timeout=10)
    s3 = client("s3", moto_url)
    s3.create_bucket(Bucket=BUCKET)
    client("logs", moto_url).create_log_group(logGroupName=LOG_GROUP)
    return moto_url


def client(service, url):
    return boto3.client(
        service,
        region_name=REGION,
        endpoint_url=url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def training_jobs():
    return sagemaker_backends[ACCOUNT][REGION].training_jobs


def set_job_status(name, primary, secondary=None, reason=None):
    """Change a stored job as SageMaker would while it runs."""
    job = training_jobs()[name]
    job.training_job_status = primary
    job.secondary_status = secondary or primary
    job.failure_reason = reason


@pytest.fixture
def create_requests(monkeypatch):
    """Record the body of every CreateTrainingJob the server receives."""
    recorded = []
    original = SageMakerResponse.create_training_job

    def recording(self):
        recorded.append(json.loads(self.body))
        return original(self)

    monkeypatch.setattr(SageMakerResponse, "create_training_job", recording)
    return recorded


@pytest.fixture
def moto_stop(monkeypatch):
    """Handle StopTrainingJob by moving the job to Stopping."""
    stopped = []

    def stop_training_job(self):
        name = json.loads(self.body)["TrainingJobName"]
        stopped.append(name)
        set_job_status(name, "Stopping")
        return "{}"

    monkeypatch.setattr(
        SageMakerResponse,
        "stop_training_job",
        stop_training_job,
        raising=False,
    )
    return stopped


def now_ms() -> int:
    # CloudWatch Logs (and moto) drop events older than 14 days.
    return int(time.time() * 1000)


def put_log_events(url, stream, messages, start_ms=None):
    """Write messages to a stream of the training jobs' group.

    Each item is a message or a (timestamp_ms, message) pair; plain
    messages get one millisecond each from start_ms (default: now).
    """
    start_ms = start_ms or now_ms()
    logs = client("logs", url)
    try:
        logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName=stream)
    except logs.exceptions.ResourceAlreadyExistsException:
        pass
    events = []
    for index, item in enumerate(messages):
        if isinstance(item, tuple):
            events.append({"timestamp": item[0], "message": item[1]})
        else:
            events.append({"timestamp": start_ms + index, "message": item})
    logs.put_log_events(
        logGroupName=LOG_GROUP, logStreamName=stream, logEvents=events
    )
