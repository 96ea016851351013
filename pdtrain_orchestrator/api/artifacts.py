"""Run artifacts with signed download URLs."""

from fastapi import APIRouter
from sqlalchemy import select

from pdtrain_orchestrator import artifact_files
from pdtrain_orchestrator.api.common import get_owned
from pdtrain_orchestrator.deps import (
    BaseUrlDep,
    OwnerDep,
    SessionDep,
    SettingsDep,
    StoreDep,
)
from pdtrain_orchestrator.errors import Invalid, NotFound
from pdtrain_orchestrator.models import Artifact, Run
from pdtrain_orchestrator.schemas import (
    ArtifactFilesRequest,
    ArtifactFilesResponse,
    ArtifactsResponse,
)

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
            "files": row.files,
        }
        for row in rows
    ]
    return {"artifacts": artifacts}


@router.post("/{run_id}/artifacts/files", response_model=ArtifactFilesResponse)
def artifact_file_urls(
    run_id: str,
    body: ArtifactFilesRequest,
    owner: OwnerDep,
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
    base_url: BaseUrlDep,
):
    """Return signed URLs of single files inside one artifact archive.

    Paths are those of the archive's `files` manifest. Each file is
    extracted once and verified against the manifest's sha256.
    """
    run = get_owned(session, Run, run_id, owner, "run")
    artifact = session.scalar(
        select(Artifact).where(
            Artifact.run_id == run.id, Artifact.name == body.artifact
        )
    )
    if artifact is None:
        raise NotFound(f"run {run.id} has no artifact {body.artifact!r}")
    if artifact.files is None:
        raise Invalid(
            f"artifact {body.artifact!r} has no file manifest; download "
            "it whole"
        )
    seconds = settings.url_expiry_seconds
    tmp_dir = settings.home / "tmp"
    files = []
    for path in body.paths:
        entry = artifact_files.find_entry(artifact, path)
        key = artifact_files.materialize(store, artifact, path, tmp_dir)
        files.append(
            {
                "artifact": artifact.name,
                "path": path,
                "size_bytes": entry["size_bytes"],
                "sha256": entry["sha256"],
                "url": store.signed_url(base_url, "GET", key, seconds),
            }
        )
    return {"files": files}
