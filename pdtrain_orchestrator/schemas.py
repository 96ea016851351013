"""Request and response bodies of the orchestrator-api.

Fields beyond the published v1 shapes are optional on requests, so the
published client's requests stay valid, and additive on responses.
"""

import datetime
from typing import Any

from pydantic import BaseModel, Field

from pdtrain_core import limits

# Numbers are stored in signed 64-bit (BigInteger) or 32-bit (Integer)
# columns; a bigger request number is rejected as invalid instead of
# overflowing the column.
MAX_INT = 2**63 - 1
MAX_INT32 = 2**31 - 1

# Request bodies


class PresignRequest(BaseModel):
    """Ask for a signed PUT URL for one bundle archive."""

    operation: str = "put_object"
    path: str
    content_type: str | None = None
    expires_in: int | None = Field(default=None, gt=0, le=MAX_INT)


class BundleFinalizeRequest(BaseModel):
    """Commit an uploaded bundle archive."""

    s3_key: str = Field(max_length=limits.MAX_PATH)
    name: str | None = Field(default=None, max_length=limits.MAX_NAME)
    size_bytes: int | None = Field(default=None, ge=0, le=MAX_INT)
    sha256: str | None = Field(default=None, max_length=64)
    entry: str | None = Field(default=None, max_length=limits.MAX_ENTRY)


class DatasetFileRequest(BaseModel):
    path: str = Field(max_length=limits.MAX_PATH)
    content_type: str | None = Field(default=None, max_length=255)


class DatasetPresignRequest(BaseModel):
    """Reserve a dataset version and ask for one presigned POST per file."""

    dataset_name: str = Field(max_length=limits.MAX_NAME)
    files: list[DatasetFileRequest] = Field(min_length=1)
    dataset_id: str | None = Field(default=None, max_length=128)
    version: int | None = Field(default=None, ge=1, le=MAX_INT32)
    description: str | None = Field(
        default=None, max_length=limits.MAX_DESCRIPTION
    )
    expires_in: int | None = Field(default=None, gt=0, le=MAX_INT)


class FinalizeFileRequest(BaseModel):
    path: str = Field(max_length=limits.MAX_PATH)
    size_bytes: int | None = Field(default=None, ge=0, le=MAX_INT)
    sha256: str | None = Field(default=None, max_length=64)


class DatasetFinalizeRequest(BaseModel):
    """Commit the files of a reserved dataset version."""

    dataset_id: str = Field(max_length=128)
    version: int = Field(ge=1, le=MAX_INT32)
    size_bytes: int | None = Field(default=None, ge=0, le=MAX_INT)
    num_files: int | None = Field(default=None, ge=0, le=MAX_INT32)
    set_current: bool = True
    files: list[FinalizeFileRequest] | None = None
    archive: str | None = Field(default=None, max_length=16)


class RunInputRequest(BaseModel):
    type: str = Field(default="dataset", max_length=16)
    dataset_id: str = Field(max_length=128)
    version: int | None = Field(default=None, ge=1, le=MAX_INT32)
    channel: str | None = Field(default=None, max_length=64)


class RunCreateRequest(BaseModel):
    """Create a run in status `created`."""

    bundle_id: str = Field(max_length=128)
    name: str | None = Field(default=None, max_length=limits.MAX_NAME)
    entry: str | None = Field(default=None, max_length=limits.MAX_ENTRY)
    framework: str | None = Field(default=None, max_length=32)
    framework_version: str | None = Field(default=None, max_length=32)
    python_version: str | None = Field(default=None, max_length=16)
    image: str | None = Field(default=None, max_length=512)
    instance_type: str | None = Field(default=None, max_length=64)
    env: dict[str, str | int | float | bool] = Field(default_factory=dict)
    hyperparameters: dict[str, Any] = Field(default_factory=dict)
    inputs: list[RunInputRequest] = Field(
        default_factory=list, max_length=limits.MAX_INPUTS
    )
    spot_instances: bool = False
    max_runtime_seconds: int | None = Field(default=None, gt=0, le=MAX_INT32)
    instance_count: int = Field(default=1, ge=1, le=MAX_INT32)
    max_wait_seconds: int | None = Field(default=None, gt=0, le=MAX_INT32)


# Response bodies


class PresignResponse(BaseModel):
    presigned_url: str
    s3_key: str
    method: str = "PUT"
    expires_at: datetime.datetime


class BundleResponse(BaseModel):
    """A bundle version."""

    id: str
    name: str
    version: int
    validation_status: str
    validation_errors: list[str]
    validation_warnings: list[str]
    has_requirements_txt: bool
    entry_point_verified: bool
    entry_point: str
    total_files: int
    size_bytes: int
    sha256: str
    s3_key: str
    created_at: datetime.datetime


class BundleDeletedResponse(BundleResponse):
    """A bundle version that was just deleted; size_bytes is now free."""

    deleted: bool
    deleted_at: datetime.datetime


class PresignedPost(BaseModel):
    url: str
    fields: dict[str, str]
    path: str
    # The store key, for the multipart endpoints; an S3 form's "key"
    # field may carry a bucket prefix in front of it.
    s3_key: str | None = None


class DatasetPresignResponse(BaseModel):
    dataset_id: str
    version: int
    presigned: list[PresignedPost]
    upload_id: str
    expires_at: datetime.datetime


class ValidationResult(BaseModel):
    status: str
    metadata: dict[str, Any]
    warnings: list[str]
    errors: list[str]


class DatasetFinalizeResponse(BaseModel):
    status: str
    dataset_id: str
    # None when validation failed, so no version was stored.
    version: int | None
    validation: ValidationResult


class DatasetVersionResponse(BaseModel):
    version: int
    size_bytes: int
    num_files: int
    archive: str | None
    description: str | None = None
    validation: ValidationResult | None = None
    created_at: datetime.datetime


class DatasetResponse(BaseModel):
    """A dataset with its versions."""

    id: str
    name: str
    description: str | None
    current_version: int | None
    visibility: str
    tags: list[str]
    size_bytes: int
    versions: list[DatasetVersionResponse]
    created_at: datetime.datetime
    updated_at: datetime.datetime


class DatasetListResponse(BaseModel):
    items: list[DatasetResponse]
    total: int


class DownloadFile(BaseModel):
    file_name: str
    download_url: str
    size_bytes: int
    sha256: str


class DownloadResponse(BaseModel):
    version: int
    archive: str | None
    files: list[DownloadFile]


class BundleRef(BaseModel):
    id: str
    s3_uri: str
    # Additive: when the bundle version and its archive were deleted.
    deleted_at: datetime.datetime | None = None


class RunResponse(BaseModel):
    """A run and its current state."""

    id: str
    name: str | None
    status: str
    secondary_status: str | None
    status_message: str | None
    failure_reason: str | None
    error_message: str | None
    exit_code: int | None
    execution_mode: str
    framework: str | None
    framework_version: str | None
    python_version: str | None
    image: str | None
    instance_type: str
    region: str | None
    job_arn: str | None
    entry: str
    hyperparameters: dict[str, Any]
    env: dict[str, str]
    inputs: list[dict[str, Any]]
    spot_instances: bool
    max_runtime_seconds: int | None
    instance_count: int = 1
    max_wait_seconds: int | None = None
    runtime_seconds: float | None
    total_cost_usd: float | None
    bundle: BundleRef
    model_url: str | None
    # The object the script wrote to model/metrics.json.
    metrics: dict[str, Any] | None = None
    # Each status change with its start and end time; single-run
    # answers only, not lists.
    transitions: list[dict[str, Any]] | None = None
    created_at: datetime.datetime
    submitted_at: datetime.datetime | None
    started_at: datetime.datetime | None
    ended_at: datetime.datetime | None
    updated_at: datetime.datetime


class LogEventResponse(BaseModel):
    id: int
    timestamp: int
    stream: str
    message: str


class LogsResponse(BaseModel):
    events: list[LogEventResponse]
    next_token: str
    status: str
    # True when events after next_token were left unread (a grep scan
    # stopped early, or a full page); ask again at once.
    more: bool = False


class ArtifactFile(BaseModel):
    """One file inside an artifact archive."""

    path: str
    size_bytes: int
    sha256: str
    modified_at: datetime.datetime | None = None


class ArtifactResponse(BaseModel):
    path: str
    name: str
    size_bytes: int
    sha256: str
    created_at: datetime.datetime
    url: str
    files: list[ArtifactFile] | None = None


class ArtifactFileUrl(BaseModel):
    """A signed URL for one file of an artifact."""

    artifact: str
    path: str
    size_bytes: int
    sha256: str
    url: str


class ArtifactFilesRequest(BaseModel):
    """Ask for signed URLs of files inside one artifact archive."""

    artifact: str = Field(max_length=512)
    paths: list[str] = Field(min_length=1, max_length=10_000)


class ArtifactFilesResponse(BaseModel):
    files: list[ArtifactFileUrl]


class ArtifactsResponse(BaseModel):
    artifacts: list[ArtifactResponse]


class LargestItem(BaseModel):
    id: str
    name: str
    version: int
    size_bytes: int


class StorageUsage(BaseModel):
    current_storage_gb: float
    max_storage_gb: float
    storage_percentage_used: float
    current_count: int
    max_count: int


class ArtifactUsage(StorageUsage):
    """Artifact storage; no count limit applies, so max_count is null."""

    max_count: int | None = None


class QuotaLimits(BaseModel):
    max_single_dataset_size_gb: float
    max_single_bundle_size_mb: float
    dataset_retention_days: int


class LargestItems(BaseModel):
    datasets: list[LargestItem]
    bundles: list[LargestItem]


class QuotaResponse(BaseModel):
    datasets: StorageUsage
    bundles: StorageUsage
    artifacts: ArtifactUsage | None = None
    limits: QuotaLimits
    largest: LargestItems | None = None


class CapabilitiesResponse(BaseModel):
    capabilities: list[str]


class DeletedResponse(BaseModel):
    id: str
    deleted: bool


class EnvResponse(BaseModel):
    """A cached training environment, or a failed install of one."""

    id: str
    status: str
    framework: str | None
    framework_version: str | None
    python: str | None
    packages: list[str]
    requirements: bool
    size_bytes: int
    created_at: datetime.datetime | None
    last_used_at: datetime.datetime | None
    reason: str | None


class EnvListResponse(BaseModel):
    items: list[EnvResponse]
    total: int
