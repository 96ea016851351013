"""Turn a run into a CreateTrainingJob request, within SageMaker's limits.

botocore checks only required fields and types, and moto checks
nothing, so the limits below (from the SageMaker API model, botocore
data sagemaker/2017-07-24) are enforced here, when a run is created.
"""

import json
import re

from pdtrain_orchestrator.backend_settings import (
    MAX_RUNTIME_LIMIT_SECONDS,
    SageMakerSettings,
)
from pdtrain_orchestrator.errors import Invalid
from pdtrain_orchestrator.executors.base import Channel, RunSpec
from pdtrain_orchestrator.executors.sagemaker_images import (
    ImageError,
    image_uri,
)

JOB_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
INSTANCE_TYPE = re.compile(r"ml\.[a-z0-9-]+\.[a-z0-9-]+")
ENV_KEY = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
MAX_HYPERPARAMETERS = 100
MAX_HYPERPARAMETER_KEY = 256
MAX_HYPERPARAMETER_VALUE = 2500
MAX_ENV_ENTRIES = 100
MAX_ENV_KEY = 512
MAX_ENV_VALUE = 512
MAX_IMAGE_LENGTH = 255
# The toolkit's hyperparameters that script mode adds to the user's.
RESERVED = (
    "sagemaker_program",
    "sagemaker_submit_directory",
    "sagemaker_container_log_level",
    "sagemaker_job_name",
    "sagemaker_region",
)
# 20 is logging.INFO, what the Python SDK sends by default.
CONTAINER_LOG_LEVEL = "20"
CHECKPOINT_LOCAL_PATH = "/opt/ml/checkpoints"
VOLUME_SIZE_GB = 30


def job_name(prefix: str, run_id: str) -> str:
    """Return the training job name of a run: the prefix and the run id.

    Run ids are unique 32-character hex strings, so names never clash,
    and the same run always maps to the same job, which makes a repeated
    CreateTrainingJob after a crash fail with ResourceInUse instead of
    starting a second job.
    """
    name = f"{prefix}-{run_id}"
    if not JOB_NAME.fullmatch(name):
        raise ValueError(f"training job name {name!r} breaks SageMaker rules")
    return name


def encode_hyperparameters(values: dict) -> dict[str, str]:
    """JSON-encode each value, as the SageMaker Python SDK does."""
    return {key: json.dumps(value) for key, value in values.items()}


def _check_hyperparameters(values: dict) -> None:
    allowed = MAX_HYPERPARAMETERS - len(RESERVED)
    if len(values) > allowed:
        raise Invalid(
            f"{len(values)} hyperparameters is over SageMaker's limit of "
            f"{allowed} (100 less the {len(RESERVED)} script mode adds)"
        )
    for key, value in encode_hyperparameters(values).items():
        if len(key) > MAX_HYPERPARAMETER_KEY:
            raise Invalid(
                f"hyperparameter name {key[:40]!r}... is over "
                f"{MAX_HYPERPARAMETER_KEY} characters"
            )
        if len(value) > MAX_HYPERPARAMETER_VALUE:
            raise Invalid(
                f"hyperparameter {key!r} is {len(value)} characters as "
                f"JSON, over SageMaker's limit of {MAX_HYPERPARAMETER_VALUE}"
                "; pass large values in a dataset instead"
            )


def _check_env(values: dict) -> None:
    if len(values) > MAX_ENV_ENTRIES:
        raise Invalid(
            f"{len(values)} environment variables is over SageMaker's "
            f"limit of {MAX_ENV_ENTRIES}"
        )
    for key, value in values.items():
        if len(key) > MAX_ENV_KEY or not ENV_KEY.fullmatch(key):
            raise Invalid(f"invalid environment variable name {key!r}")
        if len(str(value)) > MAX_ENV_VALUE:
            raise Invalid(
                f"environment variable {key!r} is over SageMaker's limit of "
                f"{MAX_ENV_VALUE} characters; pass large values in a dataset"
            )


def _check_limits(body) -> None:
    runtime = body.max_runtime_seconds
    if runtime is not None and runtime > MAX_RUNTIME_LIMIT_SECONDS:
        raise Invalid(
            f"max_runtime_seconds {runtime} is over SageMaker's limit of "
            f"{MAX_RUNTIME_LIMIT_SECONDS} (28 days)"
        )
    wait = body.max_wait_seconds
    if wait is not None and wait > MAX_RUNTIME_LIMIT_SECONDS:
        raise Invalid(
            f"max_wait_seconds {wait} is over SageMaker's limit of "
            f"{MAX_RUNTIME_LIMIT_SECONDS} (28 days)"
        )
    if body.image and len(body.image) > MAX_IMAGE_LENGTH:
        raise Invalid(f"image is over {MAX_IMAGE_LENGTH} characters")


def check_run_request(body, settings: SageMakerSettings) -> str:
    """Check a run create body for SageMaker; return its instance type."""
    instance_type = body.instance_type or settings.default_instance_type
    if not INSTANCE_TYPE.fullmatch(instance_type):
        raise Invalid(
            f"invalid instance type {instance_type!r} for SageMaker: use a "
            "type such as ml.m5.large, or leave it out for the default "
            f"{settings.default_instance_type}"
        )
    if not body.framework and not body.image:
        raise Invalid(
            "SageMaker runs need a container: pass --framework with "
            "--framework-version, or --image"
        )
    if body.framework:
        try:
            image_uri(
                body.framework,
                body.framework_version,
                body.python_version,
                settings.region,
                instance_type,
            )
        except ImageError as error:
            raise Invalid(str(error)) from None
    _check_hyperparameters(body.hyperparameters)
    _check_env(body.env)
    _check_limits(body)
    return instance_type


def _channel(channel: Channel, store) -> dict:
    """Return one InputDataConfig entry: the S3 prefix of a version."""
    first_key, first_name = channel.keys[0], channel.names[0]
    prefix = first_key[: len(first_key) - len(first_name)]
    entry = {
        "ChannelName": channel.name,
        "DataSource": {
            "S3DataSource": {
                "S3DataType": "S3Prefix",
                # The trailing "/" keeps version 1 from matching 10.
                "S3Uri": store.uri(prefix.rstrip("/")) + "/",
                "S3DataDistributionType": "FullyReplicated",
            }
        },
        "InputMode": "File",
    }
    if channel.content_type:
        entry["ContentType"] = channel.content_type
    return entry


def _hyperparameters(spec: RunSpec, name: str, region: str, store) -> dict:
    values = encode_hyperparameters(spec.hyperparameters)
    values.update(
        sagemaker_program=json.dumps(spec.entry),
        sagemaker_submit_directory=json.dumps(store.uri(spec.bundle_key)),
        sagemaker_container_log_level=CONTAINER_LOG_LEVEL,
        sagemaker_job_name=json.dumps(name),
        sagemaker_region=json.dumps(region),
    )
    return values


def _stopping_condition(spec: RunSpec, settings: SageMakerSettings):
    runtime = spec.max_runtime_seconds or settings.default_max_runtime_seconds
    condition = {"MaxRuntimeInSeconds": runtime}
    if spec.spot_instances:
        # The wait includes training time; twice the runtime leaves as
        # long again for capacity when the run names no limit.
        wait = spec.max_wait_seconds or min(
            2 * runtime, MAX_RUNTIME_LIMIT_SECONDS
        )
        condition["MaxWaitTimeInSeconds"] = max(wait, runtime)
    return condition


def _image(spec: RunSpec, region: str) -> str:
    if spec.image:
        return spec.image
    return image_uri(
        spec.framework,
        spec.framework_version,
        spec.python_version,
        region,
        spec.instance_type,
    )


def _tags(spec: RunSpec, settings: SageMakerSettings) -> list[dict]:
    tags = {"pdtrain:run-id": spec.run_id, **settings.tags}
    if spec.owner:
        tags["pdtrain:owner"] = spec.owner
    return [{"Key": key, "Value": value} for key, value in tags.items()]


def build_request(spec: RunSpec, settings: SageMakerSettings, store) -> dict:
    """Return the CreateTrainingJob arguments of a run.

    store is the S3 object store: the bundle, datasets, output and
    checkpoints all live under its bucket and prefix.
    """
    name = job_name(settings.job_name_prefix, spec.run_id)
    run_prefix = f"{spec.owner}/artifacts/{spec.run_id}"
    request = {
        "TrainingJobName": name,
        "RoleArn": settings.role_arn,
        "AlgorithmSpecification": {
            "TrainingImage": _image(spec, settings.region),
            "TrainingInputMode": "File",
        },
        "HyperParameters": _hyperparameters(
            spec, name, settings.region, store
        ),
        "OutputDataConfig": {"S3OutputPath": store.uri(run_prefix) + "/"},
        "CheckpointConfig": {
            "S3Uri": store.uri(f"{spec.owner}/checkpoints/{spec.run_id}")
            + "/",
            "LocalPath": CHECKPOINT_LOCAL_PATH,
        },
        "ResourceConfig": {
            "InstanceType": spec.instance_type,
            "InstanceCount": spec.instance_count,
            "VolumeSizeInGB": VOLUME_SIZE_GB,
        },
        "StoppingCondition": _stopping_condition(spec, settings),
        "EnableManagedSpotTraining": spec.spot_instances,
        "Tags": _tags(spec, settings),
    }
    if spec.channels:
        request["InputDataConfig"] = [
            _channel(channel, store) for channel in spec.channels
        ]
    if spec.env:
        request["Environment"] = dict(spec.env)
    if settings.subnets:
        request["VpcConfig"] = {
            "Subnets": settings.subnets,
            "SecurityGroupIds": settings.security_group_ids,
        }
    return request
