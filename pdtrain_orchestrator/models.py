"""SQLAlchemy models of the orchestrator's database."""

import datetime
import uuid

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

TERMINAL_STATUSES = ("completed", "failed", "stopped")
ACTIVE_STATUSES = ("submitting", "pending", "running", "stopping")


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def new_id() -> str:
    return uuid.uuid4().hex


class UTCDateTime(TypeDecorator):
    """A timestamp stored as naive UTC and read back timezone-aware.

    SQLite drops the offset, so values are converted to UTC on the way in
    and tagged as UTC on the way out.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(datetime.timezone.utc)
            value = value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        return value


class Base(DeclarativeBase):
    """Base of all orchestrator tables."""


class ApiKey(Base):
    """An API key, stored as the sha256 of its text."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    key_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    owner: Mapped[str] = mapped_column(String(128), index=True)
    created_at: Mapped[datetime.datetime] = mapped_column(
        UTCDateTime, default=utcnow
    )


class Bundle(Base):
    """A validated training code archive; one row per version."""

    __tablename__ = "bundles"
    __table_args__ = (UniqueConstraint("owner", "name", "version"),)

    id: Mapped[str] = mapped_column(
        String(32), primary_key=True, default=new_id
    )
    owner: Mapped[str] = mapped_column(String(128), index=True)
    name: Mapped[str] = mapped_column(String(128))
    version: Mapped[int] = mapped_column(Integer)
    s3_key: Mapped[str] = mapped_column(String(1024), unique=True)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    validation_status: Mapped[str] = mapped_column(String(16))
    validation_errors: Mapped[list] = mapped_column(JSON, default=list)
    validation_warnings: Mapped[list] = mapped_column(JSON, default=list)
    has_requirements_txt: Mapped[bool] = mapped_column(Boolean)
    entry_point: Mapped[str] = mapped_column(String(512))
    entry_point_verified: Mapped[bool] = mapped_column(Boolean)
    total_files: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime.datetime] = mapped_column(
        UTCDateTime, default=utcnow
    )
    # Set by DELETE /v1/bundles/{id}, which removes the stored archive.
    # The row stays because runs.bundle_id refers to it, so finished
    # runs keep showing their bundle.
    deleted_at: Mapped[datetime.datetime | None] = mapped_column(UTCDateTime)


class Dataset(Base):
    """A named dataset; its data lives in versions."""

    __tablename__ = "datasets"
    __table_args__ = (UniqueConstraint("owner", "name"),)

    id: Mapped[str] = mapped_column(
        String(32), primary_key=True, default=new_id
    )
    owner: Mapped[str] = mapped_column(String(128), index=True)
    name: Mapped[str] = mapped_column(String(128))
    description: Mapped[str | None] = mapped_column(Text)
    current_version: Mapped[int | None] = mapped_column(Integer)
    # The highest version number ever committed, so that a number freed
    # by `dataset delete` never names other data later.
    last_version: Mapped[int | None] = mapped_column(Integer)
    visibility: Mapped[str] = mapped_column(String(16), default="private")
    tags: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime.datetime] = mapped_column(
        UTCDateTime, default=utcnow
    )
    updated_at: Mapped[datetime.datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow
    )


class DatasetVersion(Base):
    """One finalized upload of a dataset."""

    __tablename__ = "dataset_versions"
    __table_args__ = (UniqueConstraint("dataset_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[str] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int] = mapped_column(Integer)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    num_files: Mapped[int] = mapped_column(Integer)
    # "directory" when the files are one tar.gz packed from a folder.
    archive: Mapped[str | None] = mapped_column(String(16))
    # The --description of the upload that made this version.
    description: Mapped[str | None] = mapped_column(Text)
    validation: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime.datetime] = mapped_column(
        UTCDateTime, default=utcnow
    )


class DatasetFile(Base):
    """One stored object of a dataset version."""

    __tablename__ = "dataset_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("dataset_versions.id", ondelete="CASCADE"), index=True
    )
    path: Mapped[str] = mapped_column(String(1024))
    s3_key: Mapped[str] = mapped_column(String(1024))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str | None] = mapped_column(String(255))


class Upload(Base):
    """A dataset presign that has not been finalized yet.

    It reserves the dataset id and version it returned, so two uploads
    never get the same version.
    """

    __tablename__ = "uploads"
    __table_args__ = (UniqueConstraint("dataset_id", "version"),)

    id: Mapped[str] = mapped_column(
        String(32), primary_key=True, default=new_id
    )
    owner: Mapped[str] = mapped_column(String(128), index=True)
    dataset_id: Mapped[str] = mapped_column(String(32))
    dataset_name: Mapped[str] = mapped_column(String(128))
    description: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer)
    # [{"path", "key", "content_type"}] in the order of the presign.
    files: Mapped[list] = mapped_column(JSON)
    created_at: Mapped[datetime.datetime] = mapped_column(
        UTCDateTime, default=utcnow
    )


class MultipartUpload(Base):
    """A multipart upload of one object, from creation to completion.

    id is what the API hands out; store_upload_id is the object store's
    own id (S3's UploadId). A completed row stays, so a repeated
    complete returns the same answer.
    """

    __tablename__ = "multipart_uploads"

    id: Mapped[str] = mapped_column(
        String(32), primary_key=True, default=new_id
    )
    owner: Mapped[str] = mapped_column(String(128), index=True)
    s3_key: Mapped[str] = mapped_column(String(1024), index=True)
    store_upload_id: Mapped[str] = mapped_column(String(1024))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    part_size: Mapped[int] = mapped_column(BigInteger)
    # "open", then "completed" or "aborted".
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime.datetime] = mapped_column(
        UTCDateTime, default=utcnow
    )
    completed_at: Mapped[datetime.datetime | None] = mapped_column(UTCDateTime)


class Run(Base):
    """A training run and its last known state."""

    __tablename__ = "runs"
    # Serves the run list's ORDER BY created_at DESC, id DESC as one
    # backward index scan, so a page of 50 does not sort every run.
    __table_args__ = (
        Index("ix_runs_owner_created_at_id", "owner", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(
        String(32), primary_key=True, default=new_id
    )
    owner: Mapped[str] = mapped_column(String(128), index=True)
    name: Mapped[str | None] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16), default="created")
    secondary_status: Mapped[str | None] = mapped_column(String(32))
    status_message: Mapped[str | None] = mapped_column(Text)
    failure_reason: Mapped[str | None] = mapped_column(Text)
    exit_code: Mapped[int | None] = mapped_column(Integer)
    execution_mode: Mapped[str] = mapped_column(String(16))
    bundle_id: Mapped[str] = mapped_column(ForeignKey("bundles.id"))
    entry: Mapped[str] = mapped_column(String(512))
    framework: Mapped[str | None] = mapped_column(String(32))
    framework_version: Mapped[str | None] = mapped_column(String(32))
    python_version: Mapped[str | None] = mapped_column(String(16))
    image: Mapped[str | None] = mapped_column(String(512))
    instance_type: Mapped[str] = mapped_column(String(64))
    region: Mapped[str | None] = mapped_column(String(32))
    job_arn: Mapped[str | None] = mapped_column(String(512))
    spot_instances: Mapped[bool] = mapped_column(Boolean, default=False)
    max_runtime_seconds: Mapped[int | None] = mapped_column(Integer)
    instance_count: Mapped[int] = mapped_column(
        Integer, default=1, server_default="1"
    )
    # Spot runs only: the limit on waiting for capacity plus training.
    max_wait_seconds: Mapped[int | None] = mapped_column(Integer)
    hyperparameters: Mapped[dict] = mapped_column(JSON, default=dict)
    env: Mapped[dict] = mapped_column(JSON, default=dict)
    # [{"type", "dataset_id", "version", "channel"}], versions resolved.
    inputs: Mapped[list] = mapped_column(JSON, default=list)
    total_cost_usd: Mapped[float | None] = mapped_column(Float)
    # The JSON object the script wrote to model/metrics.json, if any.
    metrics: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime.datetime] = mapped_column(
        UTCDateTime, default=utcnow
    )
    submitted_at: Mapped[datetime.datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime.datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime.datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime.datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow
    )


class LogEvent(Base):
    """One line of a run's output; the integer id is the log cursor."""

    __tablename__ = "log_events"
    # AUTOINCREMENT keeps SQLite from reusing the ids of deleted rows, so
    # a cursor never points at a different line later.
    __table_args__ = (
        Index("ix_log_events_run_id_id", "run_id", "id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[str] = mapped_column(
        ForeignKey("runs.id", ondelete="CASCADE")
    )
    timestamp_ms: Mapped[int] = mapped_column(BigInteger)
    stream: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(Text)
    # Byte offset just past this line in the run's stream file, for lines
    # of a process; None for lines the executor adds. Recovery after a
    # crash reads each file on from the largest offset stored.
    source_offset: Mapped[int | None] = mapped_column(BigInteger)


class RunLogStream(Base):
    """Where reading one CloudWatch Logs stream of a run got to.

    next_token is the stream's forward token; last_timestamp_ms and
    seen_at_last (events read with that timestamp) let a reader resume
    without the token, which expires after 24 hours. The row is updated
    in the transaction that stores the events, so a restart neither
    repeats nor loses a line.
    """

    __tablename__ = "run_log_streams"
    __table_args__ = (UniqueConstraint("run_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[str] = mapped_column(
        ForeignKey("runs.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(512))
    next_token: Mapped[str | None] = mapped_column(String(1024))
    last_timestamp_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    seen_at_last: Mapped[int] = mapped_column(Integer, default=0)


class Artifact(Base):
    """A file a run produced, copied into the object store."""

    __tablename__ = "artifacts"
    __table_args__ = (UniqueConstraint("run_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[str] = mapped_column(
        ForeignKey("runs.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(512))
    s3_key: Mapped[str] = mapped_column(String(1024))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    # Files inside a .tar.gz: [{"path", "size_bytes", "sha256",
    # "modified_at"}]; None for a plain file or an older row.
    files: Mapped[list | None] = mapped_column(JSON)
    created_at: Mapped[datetime.datetime] = mapped_column(
        UTCDateTime, default=utcnow
    )


class RunTransition(Base):
    """One change of a run's status or secondary status, with its time."""

    __tablename__ = "run_transitions"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[str] = mapped_column(
        ForeignKey("runs.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(16))
    secondary_status: Mapped[str | None] = mapped_column(String(32))
    message: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime.datetime] = mapped_column(UTCDateTime, default=utcnow)


class IdempotencyKey(Base):
    """The run a `POST /v1/runs` with an Idempotency-Key header made.

    A retried request with the same key and body gets the same run back.
    """

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("owner", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner: Mapped[str] = mapped_column(String(128))
    key: Mapped[str] = mapped_column(String(255))
    # sha256 of the request body, so a reused key with another body is
    # rejected instead of answered with an unrelated run.
    request_sha256: Mapped[str] = mapped_column(String(64))
    run_id: Mapped[str] = mapped_column(
        ForeignKey("runs.id", ondelete="CASCADE")
    )
    created_at: Mapped[datetime.datetime] = mapped_column(
        UTCDateTime, default=utcnow
    )
