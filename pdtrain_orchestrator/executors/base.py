"""Data passed to an executor and the callbacks it reports through."""

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


@dataclass
class Channel:
    """One input channel: the stored files of one dataset version."""

    name: str
    files: list[Path]
    unpack: bool
    # Relative path of each file inside the channel directory, in the order
    # of files; None places every file under its base name.
    names: list[str] | None = None
    # Copied into inputdataconfig.json as ContentType when set.
    content_type: str | None = None
    # Object store keys of files, in the same order; the SageMaker
    # executor turns them into an S3 prefix.
    keys: list[str] | None = None


@dataclass
class RunSpec:
    """Everything an executor needs to run one training job."""

    run_id: str
    run_dir: Path
    # None when the object store is S3; bundle_key names the object.
    bundle_path: Path | None
    entry: str
    hyperparameters: dict
    env: dict[str, str]
    channels: list[Channel]
    framework: str | None
    framework_version: str | None
    python_version: str | None
    image: str | None
    instance_type: str
    max_runtime_seconds: int | None
    bundle_key: str | None = None
    owner: str | None = None
    name: str | None = None
    instance_count: int = 1
    spot_instances: bool = False
    # Spot only: seconds to wait for capacity plus training time.
    max_wait_seconds: int | None = None


class Deferred(Exception):
    """Raised by submit when another orchestrator process will run it."""


class RunEvents(Protocol):
    """Callbacks an executor makes from its own threads."""

    def status(
        self,
        run_id,
        status,
        secondary_status,
        message=None,
        failure_reason=None,
        exit_code=None,
    ): ...

    def log(self, run_id, stream, message, timestamp_ms): ...

    # lines: [(message, timestamp_ms, byte offset past the line in the
    # run's stream file)], stored in one transaction.
    def log_lines(self, run_id, stream, lines): ...

    def metrics(self, run_id, values: dict): ...

    # files: the manifest of an archive, [{path, size_bytes, sha256,
    # modified_at}], or None.
    def artifact(
        self, run_id, name, path, size_bytes, sha256, files=None
    ): ...
