"""Capabilities and health of the orchestrator."""

from fastapi import APIRouter

from pdtrain_orchestrator.schemas import CapabilitiesResponse

router = APIRouter(prefix="/v1", tags=["meta"])

# Extensions to the published v1 contract that this server offers.
CAPABILITIES = (
    "log_cursor",
    "checksums",
    "name_filter",
    "status_filter",
    "dataset_archives",
    "run_names",
    "multipart",
    "ranged_downloads",
    "dataset_version_delete",
    "quota_largest",
    "log_filters",
    "idempotency_keys",
    "run_transitions",
    "artifact_files",
    "framework_envs",
    "log_grep",
    "bundle_delete",
)


@router.get("/capabilities", response_model=CapabilitiesResponse)
def capabilities():
    """List the additive extensions this server supports."""
    return {"capabilities": list(CAPABILITIES)}


@router.get("/health")
def health():
    """Report that the server is up; needs no API key."""
    return {"status": "ok"}
