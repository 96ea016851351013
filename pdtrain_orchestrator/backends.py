"""Build the object store and the executor that the settings choose."""

import logging
from collections.abc import Callable

from pdtrain_orchestrator.settings import Settings
from pdtrain_orchestrator.storage.local import LocalObjectStore

LOG = logging.getLogger(__name__)


def size_limit(settings: Settings, key: str) -> int:
    """Return the largest object accepted under key."""
    parts = key.split("/")
    if len(parts) > 1 and parts[1] == "bundles":
        return settings.max_bundle_bytes
    return settings.max_dataset_bytes


def make_store(settings: Settings):
    """Return the object store of settings.storage_backend (unprepared)."""
    if settings.storage_backend == "s3":
        from pdtrain_orchestrator.storage.s3 import S3ObjectStore

        return S3ObjectStore(
            settings.s3,
            settings.home / "tmp",
            lambda key: size_limit(settings, key),
        )
    return LocalObjectStore(settings.objects_dir, settings.secret)


def sagemaker_executor(settings: Settings, events):
    """Build the SageMaker executor; events is a DatabaseRunEvents."""
    from pdtrain_orchestrator.executors.sagemaker import SageMakerExecutor

    return SageMakerExecutor(
        settings.sagemaker, events, events.sessions, events.store
    )


def executor_factory(settings: Settings) -> Callable | None:
    """Return the factory of settings.executor_backend; None for local."""
    if settings.executor_backend == "sagemaker":
        return sagemaker_executor
    return None
