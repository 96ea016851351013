"""Run artifacts with signed download URLs."""

from fastapi import APIRouter
from sqlalchemy import select

from pdtrain_orchestrator.api.common import get_owned
from pdtrain_orchestrator.deps import (
    BaseUrlDep,
    OwnerDep,
    SessionDep,
    SettingsDep,
    StoreDep,
)
from pdtrain_orchestrator.models import Artifact, Run
from pdtrain_orchestrator.schemas import ArtifactsResponse

router = APIRouter(prefix="/v1/runs", tags=["artifacts"])


@router.get("/{run_id}/artifacts", response_model=ArtifactsResponse)
def list_artifacts(
    run_id: str,
    owner: OwnerDep,
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
    base_url: BaseUrlDep,
):
    """List a run's artifacts with signed GET URLs that honour Range."""
    run = get_owned(session, Run, run_id, owner, "run")
    rows = session.scalars(
        select(Artifact)
        .where(Artifact.run_id == run.id)
        .order_by(Artifact.name)
    )
    seconds = settings.url_expiry_seconds
    artifacts = [
        {
            "path": row.name,
            "name": row.name,
            "size_bytes": row.size_bytes,
            "sha256": row.sha256,
            "created_at": row.created_at,
            "url": store.signed_url(base_url, "GET", row.s3_key, seconds),
        }
        for row in rows
    ]
    return {"artifacts": artifacts}
