"""Input limits that the CLI and the orchestrator both enforce.

The CLI checks a request before it uploads or sends anything, and the
orchestrator checks it again, so an over-limit request fails the same way
with any client. The hyperparameter, environment and channel limits are
those of SageMaker's CreateTrainingJob API, so a run accepted here is
also accepted by SageMaker. This module is stateless and imports nothing
from either side.
"""

import json
import re

# CreateTrainingJob: HyperParameters has at most 100 entries, keys of at
# most 256 characters and values of at most 2500. The SDK stores every
# value as a JSON string, so a value is measured in that form.
MAX_HYPERPARAMETERS = 100
MAX_HYPERPARAMETER_KEY = 256
MAX_HYPERPARAMETER_VALUE = 2500
# CreateTrainingJob: Environment has at most 100 entries, keys and values
# of at most 512 characters, keys matching ENV_KEY_PATTERN.
MAX_ENV_VARS = 100
MAX_ENV_KEY = 512
MAX_ENV_VALUE = 512
ENV_KEY_PATTERN = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
# CreateTrainingJob: a channel name is 1 to 64 of these characters.
CHANNEL_PATTERN = re.compile(r"[A-Za-z0-9.\-_]{1,64}")
# Names of bundles, datasets and runs: they become path segments and
# object keys, so they stay path-safe.
MAX_NAME = 128
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
MAX_DESCRIPTION = 1024
# Relative file paths inside a bundle or dataset, and entry points.
MAX_PATH = 1024
MAX_ENTRY = 512
# Inputs (datasets) of one run; SageMaker allows 20 channels.
MAX_INPUTS = 20


class LimitError(ValueError):
    """An input breaks a limit; field names the request field at fault."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.reason = message


def encoded_value(value) -> str:
    """Return a hyperparameter value as SageMaker stores it (JSON)."""
    return json.dumps(value)


def check_hyperparameters(values: dict) -> None:
    """Raise LimitError if values break SageMaker's hyperparameter limits."""
    if len(values) > MAX_HYPERPARAMETERS:
        raise LimitError(
            "hyperparameters",
            f"{len(values)} entries is over the limit of "
            f"{MAX_HYPERPARAMETERS}",
        )
    for key, value in values.items():
        field = f"hyperparameters.{key[:40]}"
        if not key:
            raise LimitError("hyperparameters", "a name is empty")
        if len(key) > MAX_HYPERPARAMETER_KEY:
            raise LimitError(
                field,
                f"name of {len(key)} characters is over the limit of "
                f"{MAX_HYPERPARAMETER_KEY}",
            )
        _check_no_nul(field, key, value)
        size = len(encoded_value(value))
        if size > MAX_HYPERPARAMETER_VALUE:
            raise LimitError(
                field,
                f"value of {size} characters (as JSON) is over the limit "
                f"of {MAX_HYPERPARAMETER_VALUE}",
            )


def check_env(values: dict) -> None:
    """Raise LimitError if values break SageMaker's environment limits."""
    if len(values) > MAX_ENV_VARS:
        raise LimitError(
            "env",
            f"{len(values)} variables is over the limit of {MAX_ENV_VARS}",
        )
    for key, value in values.items():
        field = f"env.{key[:40]}"
        if len(key) > MAX_ENV_KEY:
            raise LimitError(
                field,
                f"name of {len(key)} characters is over the limit of "
                f"{MAX_ENV_KEY}",
            )
        if not ENV_KEY_PATTERN.fullmatch(key):
            raise LimitError(
                field,
                f"invalid environment variable name {key!r}: use "
                "letters, digits and '_', not starting with a digit",
            )
        text = str(value)
        _check_no_nul(field, key, text)
        if len(text) > MAX_ENV_VALUE:
            raise LimitError(
                field,
                f"value of {len(text)} characters is over the limit of "
                f"{MAX_ENV_VALUE}",
            )


def _check_no_nul(field: str, key: str, value) -> None:
    # A NUL cannot pass through argv or the environment of a process.
    if "\x00" in key or (isinstance(value, str) and "\x00" in value):
        raise LimitError(field, "contains a NUL character (\\x00)")


def check_name(field: str, value: str) -> str:
    """Return value if it is a valid resource name, else raise LimitError."""
    if not NAME_PATTERN.fullmatch(value):
        raise LimitError(
            field,
            f"invalid name {value[:200]!r}: use 1 to {MAX_NAME} letters, "
            "digits, '.', '_' or '-', starting with a letter or digit",
        )
    return value


def check_channel(field: str, value: str) -> str:
    """Return value if it is a valid SageMaker channel name."""
    if not CHANNEL_PATTERN.fullmatch(value):
        raise LimitError(
            field,
            f"invalid channel name {value[:100]!r}: use 1 to 64 letters, "
            "digits, '.', '-' or '_'",
        )
    return value


def check_length(field: str, value: str | None, limit: int) -> None:
    """Raise LimitError if value is longer than limit characters."""
    if value is not None and len(value) > limit:
        raise LimitError(
            field,
            f"{len(value)} characters is over the limit of {limit}",
        )
