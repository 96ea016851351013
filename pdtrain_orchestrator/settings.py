"""Settings of one orchestrator process."""

import dataclasses
import logging
import os
import secrets
from pathlib import Path

from pdtrain_orchestrator.backend_settings import (
    S3Settings,
    SageMakerSettings,
)
from pdtrain_orchestrator.dataset_formats import FULL_PARSE_BYTES

LOG = logging.getLogger(__name__)

SECRET_FILE = "signing_secret"
DATABASE_FILE = "orchestrator.db"


def _default_concurrency() -> int:
    return os.cpu_count() or 1


@dataclasses.dataclass
class Settings:
    """Settings of one orchestrator, all derived from its home folder.

    Sizes are in the units their names carry. Quota limits are reported by
    `GET /v1/storage/quota` and enforced when an upload is finalized.
    """

    home: Path
    database_url: str | None = None
    secret: bytes | None = None
    max_concurrent: int = dataclasses.field(
        default_factory=_default_concurrency
    )
    # Base of signed object URLs, such as "https://pdtrain.example.com".
    # Without it, URLs use the scheme and host of the request.
    public_url: str | None = None
    url_expiry_seconds: int = 3600
    max_url_expiry_seconds: int = 7 * 24 * 3600
    # Seconds between database polls of `GET /v1/runs/{id}/logs/stream`.
    log_poll_seconds: float = 0.5
    # Seconds between SIGTERM and SIGKILL when a local run is stopped.
    stop_grace_seconds: float = 30.0
    max_dataset_storage_gb: float = 100.0
    max_dataset_count: int = 1000
    max_bundle_storage_gb: float = 20.0
    max_bundle_count: int = 1000
    # Reported by the quota and warned about, but not enforced: a run's
    # model and output are kept even when they pass it.
    max_artifact_storage_gb: float = 100.0
    max_single_dataset_size_gb: float = 50.0
    max_single_bundle_size_mb: float = 500.0
    # 0 means datasets are kept until deleted; nothing expires them.
    dataset_retention_days: int = 0
    # MiB of each CSV and JSON Lines file that finalize parses. Past it,
    # rows are only counted, and a JSON document over it is not parsed.
    dataset_full_parse_mb: int = FULL_PARSE_BYTES // 1024**2
    # Backends, chosen by the server config file: "local" or "s3" storage
    # (with s3 settings), "local" or "sagemaker" executor.
    storage_backend: str = "local"
    s3: S3Settings | None = None
    executor_backend: str = "local"
    sagemaker: SageMakerSettings | None = None
    # Seconds between the scheduler's looks at the database for runs
    # that other worker processes submitted or stopped.
    scheduler_poll_seconds: float = 1.0

    def __post_init__(self):
        self.home = Path(self.home).expanduser().resolve()
        if self.database_url is None:
            self.database_url = f"sqlite:///{self.home / DATABASE_FILE}"

    @property
    def objects_dir(self) -> Path:
        return self.home / "objects"

    @property
    def runs_dir(self) -> Path:
        return self.home / "runs"

    @property
    def envs_dir(self) -> Path:
        return self.home / "envs"

    @property
    def max_bundle_bytes(self) -> int:
        return int(self.max_single_bundle_size_mb * 1024**2)

    @property
    def max_dataset_bytes(self) -> int:
        return int(self.max_single_dataset_size_gb * 1024**3)

    @property
    def dataset_full_parse_bytes(self) -> int:
        return self.dataset_full_parse_mb * 1024**2

    def prepare(self) -> None:
        """Create the home folder (mode 0700) and load the signing secret.

        Folders made on the way to the home are 0700 too: the embedded
        server's home is $PDTRAIN_HOME/local, and $PDTRAIN_HOME contains the
        CLI's API keys.
        """
        missing = [
            folder
            for folder in (self.home, *self.home.parents)
            if not folder.exists()
        ]
        for folder in reversed(missing):
            folder.mkdir(mode=0o700, exist_ok=True)
        os.chmod(self.home, 0o700)
        if self.secret is None:
            self.secret = load_or_create_secret(self.home / SECRET_FILE)


def load_or_create_secret(path: Path) -> bytes:
    """Read the HMAC secret at path, creating it with mode 0600 if missing."""
    try:
        return bytes.fromhex(path.read_text().strip())
    except FileNotFoundError:
        pass

    secret = secrets.token_bytes(32)
    temporary = path.with_name(path.name + ".tmp")
    descriptor = os.open(
        temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600
    )
    with os.fdopen(descriptor, "w") as handle:
        handle.write(secret.hex())
    os.replace(temporary, path)
    LOG.info("Created signing secret %s", path)
    return secret
