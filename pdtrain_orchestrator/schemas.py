"""Request and response bodies of the orchestrator-api.

Fields beyond the published v1 shapes are optional on requests, so the
published client's requests stay valid, and additive on responses.
"""

import datetime
from typing import Any

from pydantic import BaseModel, Field

# Request bodies


class PresignRequest(BaseModel):
    """Ask for a signed PUT URL for one bundle archive."""

    operation: str = "put_object"
    path: str
    content_type: str | None = None
    expires_in: int | None = Field(default=None, gt=0)


class BundleFinalizeRequest(BaseModel):
    """Commit an uploaded bundle archive."""

    s3_key: str
    name: str | None = None
    size_bytes: int | None = Field(default=None, ge=0)
    sha256: str | None = None
    entry: str | None = None


class DatasetFileRequest(BaseModel):
    path: str
    content_type: str | None = None


class DatasetPresignRequest(BaseModel):
    """Reserve a dataset version and ask for one presigned POST per file."""

    dataset_name: str
    files: list[DatasetFileRequest] = Field(min_length=1)
    dataset_id: str | None = None
    version: int | None = Field(default=None, ge=1)
    description: str | None = None
    expires_in: int | None = Field(default=None, gt=0)


class FinalizeFileRequest(BaseModel):
    path: str
    size_bytes: int | None = Field(default=None, ge=0)
    sha256: str | None = None


class DatasetFinalizeRequest(BaseModel):
    """Commit the files of a reserved dataset version."""

    dataset_id: str
    version: int
    size_bytes: int | None = Field(default=None, ge=0)
    num_files: int | None = Field(default=None, ge=0)
    set_current: bool = True
    files: list[FinalizeFileRequest] | None = None
    archive: str | None = None


class RunInputRequest(BaseModel):
    type: str = "dataset"
    dataset_id: str
    version: int | None = Field(default=None, ge=1)
    channel: str | None = None


class RunCreateRequest(BaseModel):
    """Create a run in status `created`."""

    bundle_id: str
    name: str | None = None
    entry: str | None = None
    framework: str | None = None
    framework_version: str | None = None
    python_version: str | None = None
    image: str | None = None
    instance_type: str | None = None
    env: dict[str, str | int | float | bool] = Field(default_factory=dict)
    hyperparameters: dict[str, Any] = Field(default_factory=dict)
    inputs: list[RunInputRequest] = Field(default_factory=list)
    spot_instances: bool = False
    max_runtime_seconds: int | None = Field(default=None, gt=0)


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


class PresignedPost(BaseModel):
    url: str
    fields: dict[str, str]
    path: str


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
    version: int
    validation: ValidationResult


class DatasetVersionResponse(BaseModel):
    version: int
    size_bytes: int
    num_files: int
    archive: str | None
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
    runtime_seconds: float | None
    total_cost_usd: float | None
    bundle: BundleRef
    model_url: str | None
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


class ArtifactResponse(BaseModel):
    path: str
    name: str
    size_bytes: int
    sha256: str
    created_at: datetime.datetime
    url: str


class ArtifactsResponse(BaseModel):
    artifacts: list[ArtifactResponse]


class StorageUsage(BaseModel):
    current_storage_gb: float
    max_storage_gb: float
    storage_percentage_used: float
    current_count: int
    max_count: int


class QuotaLimits(BaseModel):
    max_single_dataset_size_gb: float
    max_single_bundle_size_mb: float
    dataset_retention_days: int


class QuotaResponse(BaseModel):
    datasets: StorageUsage
    bundles: StorageUsage
    limits: QuotaLimits


class CapabilitiesResponse(BaseModel):
    capabilities: list[str]


class DeletedResponse(BaseModel):
    id: str
    deleted: bool
