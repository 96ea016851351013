"""Cached framework environments of the local executor: list and delete.

The environments are shared by every owner of this server, as the
packages in them are; any key may list them, and deleting one only
costs the next run that needs it a rebuild.
"""

import logging

from fastapi import APIRouter

from pdtrain_orchestrator.deps import OwnerDep, SettingsDep
from pdtrain_orchestrator.errors import Conflict, NotFound
from pdtrain_orchestrator.executors import env_store
from pdtrain_orchestrator.schemas import DeletedResponse, EnvListResponse

LOG = logging.getLogger(__name__)

router = APIRouter(prefix="/v1/envs", tags=["envs"])


@router.get("", response_model=EnvListResponse)
def list_envs(owner: OwnerDep, settings: SettingsDep):
    """List cached environments and records of failed installs."""
    items = env_store.list_envs(settings.envs_dir)
    return {"items": items, "total": len(items)}


@router.delete("/{env_id}", response_model=DeletedResponse)
def delete_env(env_id: str, owner: OwnerDep, settings: SettingsDep):
    """Remove a cached environment or a failed-install record."""
    try:
        removed = env_store.delete_env(settings.envs_dir, env_id)
    except env_store.EnvironmentBusy:
        raise Conflict(
            f"environment {env_id} is being built or used; retry when "
            "its run has started"
        ) from None
    if not removed:
        raise NotFound(
            f"environment {env_id} not found; list them with "
            "`pdtrain server envs list`"
        )
    LOG.info("Owner %s removed environment %s", owner, env_id)
    return {"id": env_id, "deleted": True}
