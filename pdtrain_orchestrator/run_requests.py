"""Check a run create request and turn it into a Run row."""

import logging
import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from pdtrain_core import limits
from pdtrain_orchestrator import frameworks
from pdtrain_orchestrator.api.bundles import get_live_bundle
from pdtrain_orchestrator.api.common import get_owned
from pdtrain_orchestrator.bundle_check import check_entry
from pdtrain_orchestrator.errors import Invalid, NotFound
from pdtrain_orchestrator.executors import frameworks_env, sagemaker_request
from pdtrain_orchestrator.models import Dataset, DatasetVersion, Run
from pdtrain_orchestrator.schemas import RunCreateRequest, RunInputRequest

LOG = logging.getLogger(__name__)

ENV_KEY = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
# SageMaker's rule for channel names.
CHANNEL_NAME = re.compile(r"[A-Za-z0-9.\-_]{1,64}")
RUN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
# The SDK sets hyperparameters with this prefix itself (sagemaker_program,
# sagemaker_submit_directory, ...); a user value would clash with them.
RESERVED_HYPERPARAMETER_PREFIX = "sagemaker_"
FIRST_CHANNEL = "dataset"
DEFAULT_INSTANCE_TYPE = "local"
# Execution mode of runs when no server settings name the executor.
EXECUTION_MODE = "local"


def _check_limits(check, values: dict) -> None:
    try:
        check(values)
    except limits.LimitError as error:
        raise Invalid(str(error)) from None


def check_hyperparameters(values: dict) -> dict:
    _check_limits(limits.check_hyperparameters, values)
    for key in values:
        if key.startswith(RESERVED_HYPERPARAMETER_PREFIX):
            raise Invalid(
                f"hyperparameter {key!r} is reserved: names starting with "
                f"{RESERVED_HYPERPARAMETER_PREFIX!r} are set by SageMaker"
            )
        if not key:
            raise Invalid("hyperparameter names cannot be empty")
    return values


def check_env(values: dict) -> dict[str, str]:
    """Return env with string values; keys must be shell variable names."""
    _check_limits(limits.check_env, values)
    result = {}
    for key, value in values.items():
        if not ENV_KEY.fullmatch(key):
            raise Invalid(
                f"invalid environment variable name {key!r}: use letters, "
                "digits and '_', not starting with a digit"
            )
        if isinstance(value, bool):
            value = "true" if value else "false"
        result[key] = str(value)
    return result


def _channel_name(item: RunInputRequest, index: int, dataset: Dataset) -> str:
    if item.channel is not None:
        name = item.channel
    elif index == 0:
        name = FIRST_CHANNEL
    else:
        name = dataset.name
    if not CHANNEL_NAME.fullmatch(name):
        raise Invalid(
            f"invalid channel name {name!r}: use 1 to 64 letters, digits, "
            "'.', '-' or '_'"
        )
    return name


def _resolve_input(
    session: Session, owner: str, item: RunInputRequest, index: int
) -> dict:
    if item.type != "dataset":
        raise Invalid(f"unsupported input type {item.type!r}; use 'dataset'")
    dataset = get_owned(session, Dataset, item.dataset_id, owner, "dataset")
    version = item.version or dataset.current_version
    if version is None or not _has_version(session, dataset.id, version):
        raise NotFound(
            f"dataset {dataset.id} ({dataset.name}) has no version {version}"
        )
    return {
        "type": "dataset",
        "dataset_id": dataset.id,
        "dataset_name": dataset.name,
        "version": version,
        "channel": _channel_name(item, index, dataset),
    }


def _has_version(session: Session, dataset_id: str, version: int) -> bool:
    found = session.scalar(
        select(DatasetVersion.id).where(
            DatasetVersion.dataset_id == dataset_id,
            DatasetVersion.version == version,
        )
    )
    return found is not None


def resolve_inputs(
    session: Session, owner: str, items: list[RunInputRequest]
) -> list[dict]:
    """Check that each input is owner's dataset and name its channel."""
    inputs = [
        _resolve_input(session, owner, item, index)
        for index, item in enumerate(items)
    ]
    names = [item["channel"] for item in inputs]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise Invalid(
            f"channel names must be unique; repeated: {duplicates}. Name "
            "each input with 'channel'"
        )
    return inputs


def _framework_fields(body: RunCreateRequest) -> dict:
    if body.framework and body.image:
        raise Invalid("give either framework or image, not both")
    if not body.framework:
        return {
            "framework": None,
            "framework_version": None,
            "python_version": body.python_version,
        }
    try:
        image = frameworks.resolve(
            body.framework, body.framework_version, body.python_version
        )
    except frameworks.UnknownFramework as error:
        raise Invalid(str(error)) from None
    return {
        "framework": image.framework,
        "framework_version": image.version,
        "python_version": image.python_version,
    }


def _check_local_framework(body: RunCreateRequest, settings) -> None:
    """Reject a framework version the local executor cannot install."""
    envs_dir = settings.envs_dir if settings else None
    try:
        frameworks_env.check_installable(
            body.framework,
            body.framework_version,
            body.python_version,
            envs_dir,
        )
    except frameworks.UnknownFramework as error:
        raise Invalid(str(error)) from None


def _check_capacity(body: RunCreateRequest, backend: str) -> None:
    """Check instance count and spot settings against the executor."""
    if body.instance_count > 1 and backend == "local":
        raise Invalid(
            f"instance_count {body.instance_count}: the local executor runs "
            "one instance; drop --instance-count or use a server with the "
            "SageMaker executor"
        )
    if body.max_wait_seconds is not None and not body.spot_instances:
        raise Invalid(
            f"max_wait_seconds {body.max_wait_seconds} applies to spot "
            "runs only; add --spot or drop --max-wait"
        )
    runtime = body.max_runtime_seconds
    wait = body.max_wait_seconds
    if wait is not None and runtime is not None and wait < runtime:
        raise Invalid(
            f"max_wait_seconds {wait} is below max_runtime_seconds "
            f"{runtime}; the wait includes the training time"
        )


def build_run(
    session: Session, owner: str, body: RunCreateRequest, settings=None
) -> Run:
    """Check body and return an unsaved Run in status `created`.

    settings (the server's) picks the execution mode and its checks;
    None means the local executor.
    """
    backend = settings.executor_backend if settings else EXECUTION_MODE
    _check_capacity(body, backend)
    if backend == "local" and body.framework and not body.image:
        _check_local_framework(body, settings)
    instance_type = body.instance_type or DEFAULT_INSTANCE_TYPE
    if backend == "sagemaker":
        instance_type = sagemaker_request.check_run_request(
            body, settings.sagemaker
        )
    bundle = get_live_bundle(session, body.bundle_id, owner)
    if body.name is not None and not RUN_NAME.fullmatch(body.name):
        raise Invalid(
            f"invalid run name {body.name!r}: use 1 to 128 letters, digits, "
            "'.', '_' or '-', starting with a letter or digit"
        )
    return Run(
        owner=owner,
        name=body.name,
        status="created",
        execution_mode=backend,
        bundle_id=bundle.id,
        entry=check_entry(body.entry or bundle.entry_point),
        image=body.image,
        instance_type=instance_type,
        instance_count=body.instance_count,
        max_wait_seconds=body.max_wait_seconds,
        hyperparameters=check_hyperparameters(body.hyperparameters),
        env=check_env(body.env),
        inputs=resolve_inputs(session, owner, body.inputs),
        spot_instances=body.spot_instances,
        max_runtime_seconds=body.max_runtime_seconds,
        **_framework_fields(body),
    )
