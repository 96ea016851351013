"""Read and check the YAML config file of a team server.

Every field is checked before the server starts, and all problems are
reported together, one line each, so a deployer fixes the file in one
pass. See docs/deployment.md and examples/server.yaml for the fields.
"""

import dataclasses
import os
import re
from collections.abc import Callable
from pathlib import Path

import yaml

from pdtrain_orchestrator.backend_settings import (
    MAX_RUNTIME_LIMIT_SECONDS,
    S3Settings,
    SageMakerSettings,
)

# Set in the environment, it replaces database.url, so a password need
# not be written into the file.
DATABASE_URL_ENV = "PDTRAIN_DATABASE_URL"
LOG_LEVELS = ("debug", "info", "warning", "error")

_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d")
_ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}")
_JOB_PREFIX = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,19}")
_DATABASE_SCHEMES = ("sqlite", "postgresql")


class ConfigError(Exception):
    """The config file is missing, unreadable or has invalid fields."""

    def __init__(self, path, problems: list[str]):
        self.path = path
        self.problems = problems
        count = len(problems)
        noun = "problem" if count == 1 else "problems"
        lines = [f"{path}: {count} {noun}; fix them and start again:"]
        lines += [f"  {problem}" for problem in problems]
        super().__init__("\n".join(lines))


@dataclasses.dataclass
class ServerConfig:
    """Values a config file sets; None keeps the command line's default."""

    home: Path | None = None
    host: str | None = None
    port: int | None = None
    workers: int = 1
    public_url: str | None = None
    log_level: str | None = None
    database_url: str | None = None
    max_concurrent: int | None = None
    storage_backend: str = "local"
    s3: S3Settings | None = None
    executor_backend: str = "local"
    sagemaker: SageMakerSettings | None = None
    limits: dict = dataclasses.field(default_factory=dict)

    def apply(self, settings) -> None:
        """Copy the backends, database and limits into settings."""
        if self.database_url:
            settings.database_url = self.database_url
        if self.max_concurrent:
            settings.max_concurrent = self.max_concurrent
        if self.public_url:
            settings.public_url = self.public_url
        settings.storage_backend = self.storage_backend
        settings.s3 = self.s3
        settings.executor_backend = self.executor_backend
        settings.sagemaker = self.sagemaker
        for name, value in self.limits.items():
            setattr(settings, name, value)


# Checkers return an error text, or None when the value is valid.


def _string(value):
    if not isinstance(value, str) or not value.strip():
        return "must be a non-empty string"
    return None


def _positive_int(value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        return f"must be a whole number of at least 1, not {value!r}"
    return None


def _non_negative_int(value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return f"must be a whole number of at least 0, not {value!r}"
    return None


def _positive_number(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"must be a number, not {value!r}"
    if value <= 0:
        return f"must be greater than 0, not {value!r}"
    return None


def _port(value):
    if isinstance(value, bool) or not isinstance(value, int):
        return f"must be a port number from 0 to 65535, not {value!r}"
    if not 0 <= value <= 65535:
        return f"must be a port number from 0 to 65535, not {value!r}"
    return None


def _http_url(value):
    if not isinstance(value, str) or not re.match(r"https?://[^/]", value):
        return f"must be an http:// or https:// URL, not {value!r}"
    return None


def _pattern(regex: re.Pattern, what: str) -> Callable:
    def check(value):
        if not isinstance(value, str) or not regex.fullmatch(value):
            return f"{value!r} is not {what}"
        return None

    return check


def _choice(*accepted: str) -> Callable:
    def check(value):
        if value not in accepted:
            return f"{value!r} is not one of: {', '.join(accepted)}"
        return None

    return check


def _database_url(value):
    if _string(value):
        return _string(value)
    scheme = value.split(":", 1)[0].split("+", 1)[0]
    if scheme not in _DATABASE_SCHEMES or "://" not in value:
        return (
            f"{value.split(':', 1)[0]!r} is not a supported database; use "
            "sqlite:///PATH or postgresql+psycopg://USER@HOST/NAME"
        )
    return None


def _prefix(value):
    if not isinstance(value, str) or value.startswith("/"):
        return f"must be a key prefix without a leading '/', not {value!r}"
    if value and not value.endswith("/"):
        return f"must end with '/' (write {value + '/'!r})"
    return None


def _string_map(value):
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        return "must be a mapping of strings to strings"
    return None


def _string_list(value):
    if not isinstance(value, list) or not all(
        isinstance(item, str) and item for item in value
    ):
        return "must be a list of non-empty strings"
    return None


def _max_runtime(value):
    error = _positive_int(value)
    if error is None and value > MAX_RUNTIME_LIMIT_SECONDS:
        return f"must be at most {MAX_RUNTIME_LIMIT_SECONDS} (28 days)"
    return error


SERVER_FIELDS = {
    "host": _string,
    "port": _port,
    "workers": _positive_int,
    "public_url": _http_url,
    "log_level": _choice(*LOG_LEVELS),
}
DATABASE_FIELDS = {"url": _database_url}
S3_FIELDS = {
    "bucket": _pattern(_BUCKET, "a valid S3 bucket name"),
    "prefix": _prefix,
    "region": _pattern(_REGION, "an AWS region such as eu-west-1"),
    "endpoint_url": _http_url,
    "addressing_style": _choice("auto", "virtual", "path"),
}
SAGEMAKER_FIELDS = {
    "region": S3_FIELDS["region"],
    "role_arn": _pattern(
        _ROLE_ARN, "an IAM role ARN (arn:aws:iam::<account>:role/<name>)"
    ),
    "endpoint_url": _http_url,
    "logs_endpoint_url": _http_url,
    "default_instance_type": _pattern(
        re.compile(r"ml\.[a-z0-9]+\.[a-z0-9]+"),
        "an instance type like ml.m5.large",
    ),
    "poll_seconds": _positive_number,
    "job_name_prefix": _pattern(
        _JOB_PREFIX, "1 to 20 letters, digits or inner hyphens"
    ),
    "default_max_runtime_seconds": _max_runtime,
    "tags": _string_map,
    "subnets": _string_list,
    "security_group_ids": _string_list,
}
LOCAL_EXECUTOR_FIELDS = {"max_concurrent": _positive_int}
LIMIT_FIELDS = {
    "url_expiry_seconds": _positive_int,
    "max_url_expiry_seconds": _positive_int,
    "log_poll_seconds": _positive_number,
    "stop_grace_seconds": _positive_number,
    "scheduler_poll_seconds": _positive_number,
    "max_dataset_storage_gb": _positive_number,
    "max_dataset_count": _positive_int,
    "max_bundle_storage_gb": _positive_number,
    "max_bundle_count": _positive_int,
    "max_artifact_storage_gb": _positive_number,
    "max_single_dataset_size_gb": _positive_number,
    "max_single_bundle_size_mb": _positive_number,
    "dataset_retention_days": _non_negative_int,
    "dataset_full_parse_mb": _positive_int,
}
SECTIONS = ("home", "server", "database", "storage", "executor", "limits")
REQUIRED = {"s3": ("bucket",), "sagemaker": ("region", "role_arn")}


class _Checker:
    """Collect every problem of one config file instead of the first."""

    def __init__(self):
        self.problems: list[str] = []

    def section(self, data: dict, name: str) -> dict:
        value = data.get(name, {})
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.problems.append(f"{name}: must be a mapping of fields")
            return {}
        return value

    def fields(self, where: str, values: dict, known: dict, skip=()):
        """Check values against known checkers; return the valid ones."""
        valid = {}
        for key, value in values.items():
            if key in skip:
                continue
            check = known.get(key)
            if check is None:
                accepted = ", ".join(sorted([*known, *skip]))
                self.problems.append(
                    f"{where}.{key}: unknown field; accepted: {accepted}"
                )
                continue
            error = check(value)
            if error:
                self.problems.append(f"{where}.{key}: {error}")
            else:
                valid[key] = value
        return valid

    def required(self, where: str, values: dict, names, backend: str):
        for name in names:
            if name not in values:
                self.problems.append(
                    f"{where}.{name}: missing; backend {backend} needs it"
                )

    def backend(self, where: str, values: dict, accepted) -> str:
        backend = values.get("backend", "local")
        if backend not in accepted:
            self.problems.append(
                f"{where}.backend: {backend!r} is not one of: "
                f"{', '.join(accepted)}"
            )
            return "local"
        return backend


def _storage(checker: _Checker, data: dict, config: ServerConfig) -> None:
    values = checker.section(data, "storage")
    backend = checker.backend("storage", values, ("local", "s3"))
    known = S3_FIELDS if backend == "s3" else {}
    valid = checker.fields("storage", values, known, skip=("backend",))
    config.storage_backend = backend
    if backend == "s3":
        checker.required("storage", values, REQUIRED["s3"], "s3")
        if "bucket" in valid:
            config.s3 = S3Settings(**valid)


def _executor(checker: _Checker, data: dict, config: ServerConfig) -> None:
    values = checker.section(data, "executor")
    backend = checker.backend("executor", values, ("local", "sagemaker"))
    known = SAGEMAKER_FIELDS if backend == "sagemaker" else {}
    known = {**known, **LOCAL_EXECUTOR_FIELDS}
    valid = checker.fields("executor", values, known, skip=("backend",))
    config.executor_backend = backend
    config.max_concurrent = valid.pop("max_concurrent", None)
    if backend == "sagemaker":
        checker.required("executor", values, REQUIRED["sagemaker"], backend)
        if {"region", "role_arn"} <= set(valid):
            config.sagemaker = SageMakerSettings(**valid)


def _combinations(checker: _Checker, config: ServerConfig) -> None:
    """Reject backends that cannot work together."""
    if config.executor_backend == "sagemaker" and config.storage_backend != (
        "s3"
    ):
        checker.problems.append(
            "executor.backend: sagemaker reads bundles and datasets from "
            "S3; set storage.backend to s3"
        )
    if config.executor_backend == "local" and config.storage_backend == "s3":
        checker.problems.append(
            "executor.backend: local runs read their inputs from the "
            "local object store; set storage.backend to local, or use "
            "executor.backend sagemaker with s3 storage"
        )
    limits = config.limits
    expiry = limits.get("url_expiry_seconds")
    maximum = limits.get("max_url_expiry_seconds")
    if expiry and maximum and expiry > maximum:
        checker.problems.append(
            f"limits.url_expiry_seconds: {expiry} is over "
            f"limits.max_url_expiry_seconds ({maximum})"
        )


def parse_config(data, path="server.yaml") -> ServerConfig:
    """Check parsed YAML and return its ServerConfig, else ConfigError."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(path, ["the file must contain a YAML mapping"])
    checker = _Checker()
    config = ServerConfig()
    for key in data:
        if key not in SECTIONS:
            checker.problems.append(
                f"{key}: unknown section; accepted: {', '.join(SECTIONS)}"
            )
    if "home" in data:
        error = _string(data["home"])
        if error:
            checker.problems.append(f"home: {error}")
        else:
            config.home = Path(data["home"]).expanduser()

    server = checker.fields(
        "server", checker.section(data, "server"), SERVER_FIELDS
    )
    for name, value in server.items():
        setattr(config, name, value)
    database = checker.fields(
        "database", checker.section(data, "database"), DATABASE_FIELDS
    )
    config.database_url = database.get("url")
    config.limits = checker.fields(
        "limits", checker.section(data, "limits"), LIMIT_FIELDS
    )
    _storage(checker, data, config)
    _executor(checker, data, config)
    _combinations(checker, config)
    if checker.problems:
        raise ConfigError(path, checker.problems)
    return config


def load_config(path, environ=None) -> ServerConfig:
    """Read path and return its checked ServerConfig.

    PDTRAIN_DATABASE_URL in environ (default os.environ) replaces
    database.url. Raises ConfigError listing every problem found.
    """
    environ = os.environ if environ is None else environ
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(path, [f"cannot read the file: {error}"]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ConfigError(path, [f"invalid YAML: {error}"]) from None
    config = parse_config(data, path)
    override = environ.get(DATABASE_URL_ENV)
    if override:
        error = _database_url(override)
        if error:
            raise ConfigError(path, [f"{DATABASE_URL_ENV}: {error}"])
        config.database_url = override
    return config
