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


@dataclass
class RunSpec:
    """Everything an executor needs to run one training job."""

    run_id: str
    run_dir: Path
    bundle_path: Path
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

    def artifact(self, run_id, name, path, size_bytes, sha256): ...
