"""The CreateTrainingJob request a run becomes, and SageMaker's limits."""

import json
from pathlib import Path

import pytest

from pdtrain_orchestrator.backend_settings import S3Settings, SageMakerSettings
from pdtrain_orchestrator.errors import Invalid
from pdtrain_orchestrator.executors import sagemaker_images
from pdtrain_orchestrator.executors.base import Channel, RunSpec
from pdtrain_orchestrator.executors.sagemaker_request import (
    JOB_NAME,
    build_request,
    check_run_request,
    job_name,
)
from pdtrain_orchestrator.schemas import RunCreateRequest
from pdtrain_orchestrator.storage.s3 import S3ObjectStore

ROLE = "arn:aws:iam::123456789012:role/pdtrain"
SETTINGS = SageMakerSettings(region="eu-west-1", role_arn=ROLE)


@pytest.fixture
def store(tmp_path):
    return S3ObjectStore(
        S3Settings(bucket="team-bucket", prefix="pdtrain/"),
        tmp_path,
        lambda key: 10,
        client=object(),
    )


def _spec(**changes):
    values = dict(
        run_id="a" * 32,
        run_dir=Path("/unused"),
        bundle_path=None,
        entry="train.py",
        hyperparameters={"epochs": 3, "opt": "adam", "amp": True},
        env={"MODE": "fast"},
        channels=[
            Channel(
                name="train",
                files=[None, None],
                unpack=False,
                names=["iris.csv", "sub/more.csv"],
                content_type="text/csv",
                keys=[
                    "alice/datasets/d1/u1/iris.csv",
                    "alice/datasets/d1/u1/sub/more.csv",
                ],
            )
        ],
        framework="pytorch",
        framework_version="2.2.0",
        python_version=None,
        image=None,
        instance_type="ml.g5.xlarge",
        max_runtime_seconds=600,
        bundle_key="alice/bundles/b1/demo.tar.gz",
        owner="alice",
        instance_count=2,
        spot_instances=True,
        max_wait_seconds=1200,
    )
    values.update(changes)
    return RunSpec(**values)


def test_request_names_image_code_and_channels(store):
    request = build_request(_spec(), SETTINGS, store)

    image = request["AlgorithmSpecification"]["TrainingImage"]
    assert image == (
        "763104351884.dkr.ecr.eu-west-1.amazonaws.com/"
        "pytorch-training:2.2.0-gpu-py310"
    )
    hps = request["HyperParameters"]
    assert hps["epochs"] == "3"
    assert hps["opt"] == '"adam"'
    assert hps["amp"] == "true"
    assert json.loads(hps["sagemaker_program"]) == "train.py"
    assert json.loads(hps["sagemaker_submit_directory"]) == (
        "s3://team-bucket/pdtrain/alice/bundles/b1/demo.tar.gz"
    )
    assert json.loads(hps["sagemaker_job_name"]) == request["TrainingJobName"]
    (channel,) = request["InputDataConfig"]
    assert channel["ChannelName"] == "train"
    assert channel["ContentType"] == "text/csv"
    assert channel["DataSource"]["S3DataSource"]["S3Uri"] == (
        "s3://team-bucket/pdtrain/alice/datasets/d1/u1/"
    )


def test_request_sets_output_spot_and_limits(store):
    request = build_request(_spec(), SETTINGS, store)

    assert request["RoleArn"] == ROLE
    assert request["OutputDataConfig"]["S3OutputPath"] == (
        f"s3://team-bucket/pdtrain/alice/artifacts/{'a' * 32}/"
    )
    assert request["CheckpointConfig"]["S3Uri"].endswith(
        f"/alice/checkpoints/{'a' * 32}/"
    )
    assert request["ResourceConfig"]["InstanceCount"] == 2
    assert request["ResourceConfig"]["InstanceType"] == "ml.g5.xlarge"
    assert request["EnableManagedSpotTraining"] is True
    assert request["StoppingCondition"] == {
        "MaxRuntimeInSeconds": 600,
        "MaxWaitTimeInSeconds": 1200,
    }
    assert request["Environment"] == {"MODE": "fast"}


def test_request_defaults_runtime_and_spot_wait(store):
    spec = _spec(max_runtime_seconds=None, max_wait_seconds=None)

    condition = build_request(spec, SETTINGS, store)["StoppingCondition"]

    assert condition["MaxRuntimeInSeconds"] == 24 * 3600
    assert condition["MaxWaitTimeInSeconds"] == 48 * 3600


def test_request_without_spot_has_no_wait(store):
    spec = _spec(spot_instances=False, max_wait_seconds=None, image="x:1")

    request = build_request(spec, SETTINGS, store)

    assert "MaxWaitTimeInSeconds" not in request["StoppingCondition"]
    assert request["AlgorithmSpecification"]["TrainingImage"] == "x:1"


def test_job_name_follows_sagemaker_rules():
    name = job_name("pdtrain", "0123456789abcdef0123456789abcdef")

    assert JOB_NAME.fullmatch(name)
    assert len(name) <= 63
    assert name == job_name("pdtrain", "0123456789abcdef0123456789abcdef")


def _body(**changes):
    values = {"bundle_id": "b", "framework": "sklearn"}
    values["framework_version"] = "1.2-1"
    values.update(changes)
    return RunCreateRequest(**values)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"instance_type": "local"}, "invalid instance type 'local'"),
        ({"framework": None, "framework_version": None}, "need a container"),
        ({"framework_version": "0.1"}, "unknown sklearn version"),
        ({"instance_type": "ml.g5.xlarge"}, "has no GPU image"),
        ({"hyperparameters": {"k": "x" * 2600}}, "over SageMaker's limit"),
        (
            {"hyperparameters": {f"h{i}": i for i in range(96)}},
            "96 hyperparameters",
        ),
        ({"env": {"V": "x" * 600}}, "limit of 512"),
        ({"max_runtime_seconds": 29 * 24 * 3600}, "28 days"),
    ],
)
def test_run_request_outside_limits_is_invalid(changes, message):
    with pytest.raises(Invalid) as caught:
        check_run_request(_body(**changes), SETTINGS)

    assert message in caught.value.detail


def test_run_request_gets_default_instance_type():
    assert check_run_request(_body(), SETTINGS) == "ml.m5.large"


@pytest.mark.parametrize(
    ("framework", "version", "region", "instance", "expected"),
    [
        (
            "sklearn",
            "1.2.1",
            "us-east-1",
            "ml.m5.large",
            "683313688378.dkr.ecr.us-east-1.amazonaws.com/"
            "sagemaker-scikit-learn:1.2-1-cpu-py3",
        ),
        (
            "xgboost",
            "1.7-1",
            "us-west-2",
            "ml.p3.2xlarge",
            "246618743249.dkr.ecr.us-west-2.amazonaws.com/"
            "sagemaker-xgboost:1.7-1",
        ),
        (
            "tensorflow",
            "2.16.2",
            "cn-north-1",
            "ml.c5.xlarge",
            "727897471807.dkr.ecr.cn-north-1.amazonaws.com.cn/"
            "tensorflow-training:2.16.2-cpu-py310",
        ),
        (
            "torch",
            "2.2.0",
            "af-south-1",
            "ml.p4d.24xlarge",
            "626614931356.dkr.ecr.af-south-1.amazonaws.com/"
            "pytorch-training:2.2.0-gpu-py310",
        ),
    ],
)
def test_image_uri_table(framework, version, region, instance, expected):
    uri = sagemaker_images.image_uri(
        framework, version, None, region, instance
    )

    assert uri == expected


def test_image_uri_rejects_unknown_region_and_python():
    with pytest.raises(sagemaker_images.ImageError, match="mars-1"):
        sagemaker_images.image_uri(
            "pytorch", "2.2.0", None, "mars-1", "ml.m5.large"
        )
    with pytest.raises(sagemaker_images.ImageError, match="py39"):
        sagemaker_images.image_uri(
            "pytorch", "2.2.0", "py39", "us-east-1", "ml.m5.large"
        )
