"""Turn hyperparameters into the file, argv and variables of a script.

The rules follow sagemaker-training 5.1.4: every value is stored as a JSON
string, decoded again before use, and keys starting with ``sagemaker_``
never reach the script's arguments.
"""

import json

RESERVED_PREFIX = "sagemaker_"
# Keys the SageMaker toolkit drops from the user's set besides sagemaker_*.
RESERVED_KEYS = frozenset(
    {"default_user_module_name", "_tuning_objective_metric"}
)
# sagemaker_* keys that the SDK adds for script mode. Any other sagemaker_*
# key is a framework parameter and lands in SM_FRAMEWORK_PARAMS.
SDK_KEYS = frozenset(
    {
        "sagemaker_program",
        "sagemaker_submit_directory",
        "sagemaker_container_log_level",
        "sagemaker_job_name",
        "sagemaker_region",
    }
)


def is_reserved(key: str) -> bool:
    """Return True for keys that never reach the script's arguments."""
    return key.startswith(RESERVED_PREFIX) or key in RESERVED_KEYS


def encode_file(hyperparameters: dict) -> dict[str, str]:
    """Encode each value as a JSON string, as the SageMaker SDK does."""
    return {key: json.dumps(value) for key, value in hyperparameters.items()}


def decode_file(encoded: dict[str, str]) -> dict:
    """Decode each JSON string, keeping the raw text where that fails."""
    decoded = {}
    for key, text in encoded.items():
        try:
            decoded[key] = json.loads(text)
        except ValueError:
            decoded[key] = text
    return decoded


def user_hyperparameters(decoded: dict) -> dict:
    """Return the decoded values without reserved keys."""
    return {
        key: value for key, value in decoded.items() if not is_reserved(key)
    }


def framework_parameters(decoded: dict) -> dict:
    """Return the sagemaker_* values that the SDK does not add itself."""
    return {
        key: value
        for key, value in decoded.items()
        if key.startswith(RESERVED_PREFIX) and key not in SDK_KEYS
    }


def argv_value(value) -> str:
    """Format one decoded value as its command-line argument."""
    if value is None:
        return ""
    if isinstance(value, dict):
        return ",".join(
            f"{key}={value[key]}" for key in sorted(value, key=str)
        )
    return str(value)


def to_argv(user_values: dict) -> list[str]:
    """Build `-k v` / `--key v` pairs in Python's string order of keys."""
    argv = []
    for key in sorted(user_values):
        flag = f"-{key}" if len(key) == 1 else f"--{key}"
        argv.extend([flag, argv_value(user_values[key])])
    return argv


def env_value(value) -> str:
    """Encode a value for an SM_* variable: strings as is, None as ""."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return compact_json(value)


def compact_json(value) -> str:
    """Dump JSON with sorted keys and no spaces, as the toolkit does."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))
