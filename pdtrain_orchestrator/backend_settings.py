"""Settings of the AWS backends: S3 storage and the SageMaker executor."""

import dataclasses

# SageMaker's default and maximum MaxRuntimeInSeconds (1 and 28 days).
DEFAULT_MAX_RUNTIME_SECONDS = 24 * 3600
MAX_RUNTIME_LIMIT_SECONDS = 28 * 24 * 3600


@dataclasses.dataclass
class S3Settings:
    """Bucket, prefix and client settings of the S3 object store.

    Keys of the store are written under prefix in bucket. endpoint_url
    points boto3 at an S3-compatible store or a local emulator; None
    means AWS itself. Credentials come from boto3's usual chain
    (environment, shared files, instance or task role), never from here.
    """

    bucket: str
    prefix: str = ""
    region: str | None = None
    endpoint_url: str | None = None
    # "path" suits most S3-compatible stores; "auto" lets botocore pick.
    addressing_style: str = "auto"


@dataclasses.dataclass
class SageMakerSettings:
    """Settings for creating and following SageMaker training jobs."""

    region: str
    role_arn: str
    endpoint_url: str | None = None
    logs_endpoint_url: str | None = None
    default_instance_type: str = "ml.m5.large"
    # Seconds between DescribeTrainingJob calls for each active run.
    poll_seconds: float = 15.0
    # Prefix of every training job name; the run id follows it.
    job_name_prefix: str = "pdtrain"
    default_max_runtime_seconds: int = DEFAULT_MAX_RUNTIME_SECONDS
    # Tags put on every training job, such as a cost centre.
    tags: dict[str, str] = dataclasses.field(default_factory=dict)
    # Optional VPC placement of the training containers.
    subnets: list[str] = dataclasses.field(default_factory=list)
    security_group_ids: list[str] = dataclasses.field(default_factory=list)
