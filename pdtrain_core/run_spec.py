"""Run spec files: every `run create` option in one YAML document.

A spec uses the field names of the run object, so the output of
``pdtrain run show ID -f yaml`` is a valid spec that re-creates the run.
Fields that describe a run's state (id, status, timestamps...) are
ignored; any other unknown field is an error naming it. Values given as
command-line options win over the spec's.

    bundle: digits:3          # or {id: ...} as `run show` prints it
    entry: train.py
    framework: sklearn
    framework_version: 1.2-1
    hyperparameters: {n_estimators: 200, criterion: gini}
    env: {LOG_LEVEL: debug}
    inputs:                   # or ["train=iris:2", "extra"]
      - {dataset_id: ..., version: 2, channel: train}
    max_runtime_seconds: 3600
"""

import sys
from pathlib import Path

import yaml

from pdtrain_core.exceptions import UsageError

# Spec field -> attribute of the parsed `run create` options.
OPTION_FIELDS = {
    "name": "name",
    "entry": "entry",
    "framework": "framework",
    "framework_version": "framework_version",
    "python_version": "python_version",
    "image": "image",
    "instance_type": "instance_type",
    "max_runtime_seconds": "max_runtime",
    "max_runtime": "max_runtime",
    "instance_count": "instance_count",
    "spot_instances": "spot",
    "max_wait_seconds": "max_wait",
}
MAPPING_FIELDS = ("hyperparameters", "env")
SOURCE_FIELDS = ("bundle", "bundle_id", "inputs", "datasets")
# Fields of a shown run that describe its state, not how to create it.
STATE_FIELDS = frozenset(
    {
        "id",
        "status",
        "secondary_status",
        "status_message",
        "failure_reason",
        "error_message",
        "exit_code",
        "execution_mode",
        "region",
        "job_arn",
        "runtime_seconds",
        "total_cost_usd",
        "model_url",
        "metrics",
        "transitions",
        "sagemaker_hyperparameters",
        "created_at",
        "submitted_at",
        "started_at",
        "ended_at",
        "updated_at",
    }
)


def load(path: str) -> dict:
    """Read and check a spec file ("-" reads stdin); return its fields."""
    try:
        if path == "-":
            text = sys.stdin.read()
        else:
            text = Path(path).expanduser().read_text()
    except OSError as error:
        raise UsageError(
            f"Cannot read run spec {path}: {error.strerror or error}"
        ) from None
    try:
        spec = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise UsageError(
            f"Run spec {path} is not valid YAML{where}: fix the file"
        ) from None
    return check(spec or {}, path)


def check(spec, path: str) -> dict:
    """Reject a spec that is not a mapping or has unknown fields."""
    if not isinstance(spec, dict):
        raise UsageError(
            f"Run spec {path} must be a mapping of run fields, such as "
            "`bundle: NAME`"
        )
    known = set(OPTION_FIELDS) | set(MAPPING_FIELDS) | set(SOURCE_FIELDS)
    unknown = sorted(set(spec) - known - STATE_FIELDS, key=str)
    if unknown:
        raise UsageError(
            f"Run spec {path} has unknown field {unknown[0]!r}; known: "
            + ", ".join(sorted(known))
        )
    for name in MAPPING_FIELDS:
        if not isinstance(spec.get(name) or {}, dict):
            raise UsageError(
                f"Run spec {path}: {name} must be a mapping of names to values"
            )
    return {key: value for key, value in spec.items() if key in known}


def apply_options(spec: dict, parsed_args) -> None:
    """Fill options not given on the command line from the spec."""
    for field, attribute in OPTION_FIELDS.items():
        if field in spec and getattr(parsed_args, attribute, None) is None:
            setattr(parsed_args, attribute, spec[field])


def merged(spec: dict, field: str, given: dict) -> dict:
    """Return the spec's mapping updated with the command line's."""
    result = dict(spec.get(field) or {})
    result.update(given)
    return result


def bundle_reference(spec: dict):
    """Return the spec's bundle as an id dict, a reference, or None."""
    bundle = spec.get("bundle")
    if isinstance(bundle, dict):
        if not bundle.get("id"):
            raise UsageError("Run spec: bundle needs an id")
        return {"id": str(bundle["id"])}
    if spec.get("bundle_id"):
        return {"id": str(spec["bundle_id"])}
    return None if bundle is None else str(bundle)


def inputs_of(spec: dict) -> tuple[list[dict], list[str]]:
    """Split the spec's inputs into resolved items and references."""
    items = spec.get("inputs") or spec.get("datasets") or []
    if not isinstance(items, list):
        raise UsageError("Run spec: inputs must be a list")
    resolved, references = [], []
    for item in items:
        if isinstance(item, str):
            references.append(item)
        elif isinstance(item, dict) and item.get("dataset_id"):
            entry = {
                "type": item.get("type", "dataset"),
                "dataset_id": item["dataset_id"],
            }
            for key in ("version", "channel"):
                if item.get(key) is not None:
                    entry[key] = item[key]
            resolved.append(entry)
        else:
            raise UsageError(
                f"Run spec: invalid input {item!r}; use a dataset "
                "reference or {dataset_id, version, channel}"
            )
    return resolved, references
