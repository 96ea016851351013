"""Cached framework environments of the local executor: list and delete.

The environments are a cache shared by every owner of this server (see
env_access.py for who may see which). Deleting one costs the next run
that needs it a rebuild, so any owner who may see an environment may
delete it, unless an active run of any owner uses it.
"""

import logging

from fastapi import APIRouter

from pdtrain_orchestrator import env_access
from pdtrain_orchestrator.deps import OwnerDep, SessionDep, SettingsDep
from pdtrain_orchestrator.errors import Conflict, NotFound
from pdtrain_orchestrator.executors import env_store
from pdtrain_orchestrator.schemas import DeletedResponse, EnvListResponse

LOG = logging.getLogger(__name__)

router = APIRouter(prefix="/v1/envs", tags=["envs"])


@router.get("", response_model=EnvListResponse)
def list_envs(owner: OwnerDep, session: SessionDep, settings: SettingsDep):
    """List shared environments, failed installs and the owner's own."""
    items = env_store.list_envs(settings.envs_dir)
    items = env_access.visible(session, owner, items)
    return {"items": items, "total": len(items)}


def _not_found(env_id: str) -> NotFound:
    return NotFound(
        f"environment {env_id} not found; list them with "
        "`pdtrain server envs list`"
    )


def _check_unused(session, env_id: str, owner: str) -> None:
    users = env_access.active_users(session, env_id)
    if not users:
        return
    own = [run_id for run_id, run_owner in users if run_owner == owner]
    # Another owner's run id is not named, as elsewhere in the API.
    which = f"run {own[0]}" if own else "another owner's run"
    raise Conflict(
        f"environment {env_id} is in use by {which}; delete it once the "
        "run has ended"
    )


@router.delete("/{env_id}", response_model=DeletedResponse)
def delete_env(
    env_id: str, owner: OwnerDep, session: SessionDep, settings: SettingsDep
):
    """Remove a cached environment or a failed-install record."""
    found = [
        item
        for item in env_store.list_envs(settings.envs_dir)
        if item["id"] == env_id
    ]
    if not env_access.visible(session, owner, found):
        raise _not_found(env_id)
    _check_unused(session, env_id, owner)
    try:
        removed = env_store.delete_env(settings.envs_dir, env_id)
    except env_store.EnvironmentBusy:
        raise Conflict(
            f"environment {env_id} is being built or used; retry when "
            "its run has started"
        ) from None
    if not removed:
        raise _not_found(env_id)
    LOG.info("Owner %s removed environment %s", owner, env_id)
    return {"id": env_id, "deleted": True}
