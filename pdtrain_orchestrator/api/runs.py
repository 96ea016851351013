"""Runs: create, list, show, submit, stop and refresh."""

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request, Response
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from pdtrain_orchestrator import (
    idempotency,
    lifecycle,
    run_control,
    run_requests,
)
from pdtrain_orchestrator.api.bundles import get_live_bundle
from pdtrain_orchestrator.api.common import (
    TOTAL_HEADER,
    get_owned,
    paginate,
    status_filter,
)
from pdtrain_orchestrator.deps import (
    BaseUrlDep,
    LimitDep,
    OffsetDep,
    OwnerDep,
    SessionDep,
    SettingsDep,
    StoreDep,
)
from pdtrain_orchestrator.errors import NotFound
from pdtrain_orchestrator.models import (
    ACTIVE_STATUSES,
    TERMINAL_STATUSES,
    Artifact,
    Bundle,
    Run,
    utcnow,
)
from pdtrain_orchestrator.schemas import RunCreateRequest, RunResponse
from pdtrain_orchestrator.storage.local import LocalObjectStore

LOG = logging.getLogger(__name__)

router = APIRouter(prefix="/v1/runs", tags=["runs"])

MODEL_ARTIFACT = "model.tar.gz"
RUN_STATUSES = ("created", *ACTIVE_STATUSES, *TERMINAL_STATUSES)


def get_executor(request: Request):
    """Return the scheduler, which passes submit and stop to the executor
    in the process that leads (see scheduler.py)."""
    return request.app.state.scheduler


ExecutorDep = Annotated[object, Depends(get_executor)]


class RunView:
    """Render runs with their bundle URI and signed model URL."""

    def __init__(
        self,
        session: Session,
        store: LocalObjectStore,
        base_url: str,
        expires_in: int,
    ):
        self.session = session
        self.store = store
        self.base_url = base_url
        self.expires_in = expires_in

    def _runtime(self, run: Run) -> float | None:
        if run.started_at is None:
            return None
        end = run.ended_at or utcnow()
        return round((end - run.started_at).total_seconds(), 3)

    def _model_url(self, key: str | None) -> str | None:
        if key is None:
            return None
        return self.store.signed_url(
            self.base_url, "GET", key, self.expires_in
        )

    def _bundles(self, runs: list[Run]) -> dict[str, tuple]:
        """Return bundle id -> (s3_key, deleted_at) for runs' bundles."""
        ids = {run.bundle_id for run in runs}
        query = select(Bundle.id, Bundle.s3_key, Bundle.deleted_at).where(
            Bundle.id.in_(ids)
        )
        rows = self.session.execute(query).all()
        return {row.id: (row.s3_key, row.deleted_at) for row in rows}

    def _model_keys(self, runs: list[Run]) -> dict[str, str]:
        query = select(Artifact.run_id, Artifact.s3_key).where(
            Artifact.run_id.in_([run.id for run in runs]),
            Artifact.name == MODEL_ARTIFACT,
        )
        return dict(self.session.execute(query).all())

    def render(self, run: Run) -> dict:
        """Return the response fields of one run."""
        return self.render_page([run])[0]

    def render_page(self, runs: list[Run]) -> list[dict]:
        """Return the response fields of runs, in their order.

        Bundles and model artifacts are read with one query each for the
        whole page. Two queries per run took about 12 ms for a page of 50
        (2-core machine, SQLite, measured for benchmarks/startup.py).
        """
        if not runs:
            return []
        bundles = self._bundles(runs)
        model_keys = self._model_keys(runs)

        rendered = []
        for run in runs:
            fields = {
                name: getattr(run, name, None)
                for name in RunResponse.model_fields
            }
            bundle_key, bundle_deleted_at = bundles[run.bundle_id]
            fields.update(
                error_message=run.failure_reason,
                runtime_seconds=self._runtime(run),
                bundle={
                    "id": run.bundle_id,
                    "s3_uri": self.store.uri(bundle_key),
                    "deleted_at": bundle_deleted_at,
                },
                model_url=self._model_url(model_keys.get(run.id)),
            )
            rendered.append(fields)
        return rendered


def _view(
    session: Session, store: LocalObjectStore, base_url: str, settings
) -> RunView:
    return RunView(session, store, base_url, settings.url_expiry_seconds)


@router.post("", response_model=RunResponse, status_code=201)
def create_run(
    body: RunCreateRequest,
    owner: OwnerDep,
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
    base_url: BaseUrlDep,
    response: Response,
    idempotency_key: Annotated[
        str | None, Header(alias=idempotency.HEADER)
    ] = None,
):
    """Create a run in status `created`; submit starts it.

    With an Idempotency-Key header, a repeat of the request returns the
    run the first one made (status 200) instead of a new one.
    """
    view = _view(session, store, base_url, settings)
    key = idempotency.check_key(idempotency_key) if idempotency_key else None
    digest = idempotency.request_sha256(body.model_dump(mode="json"))
    if key is not None:
        earlier = idempotency.earlier_run(session, owner, key, digest)
        if earlier is not None:
            response.status_code = 200
            return view.render(earlier)
    run = run_requests.build_run(session, owner, body, settings)
    saved = idempotency.save_run(session, run, owner, key, digest)
    if saved is not run:
        response.status_code = 200
        return view.render(saved)
    _keep_only_with_bundle(session, run, owner)
    LOG.info("Created run %s from bundle %s", run.id, run.bundle_id)
    return view.render(run)


def _keep_only_with_bundle(session: Session, run: Run, owner: str) -> None:
    """Remove the new run again if its bundle was deleted meanwhile.

    A bundle delete that committed after build_run found the bundle live
    and checked for runs before this run was committed did not see it.
    Each side checks after its own commit, so at least one of them finds
    the other.
    """
    try:
        get_live_bundle(session, run.bundle_id, owner)
    except NotFound:
        session.rollback()
        session.execute(delete(Run).where(Run.id == run.id))
        session.commit()
        raise


@router.get("", response_model=list[RunResponse])
def list_runs(
    owner: OwnerDep,
    session: SessionDep,
    response: Response,
    settings: SettingsDep,
    store: StoreDep,
    base_url: BaseUrlDep,
    limit: LimitDep = 100,
    offset: OffsetDep = 0,
    name: str | None = None,
    status: str | None = None,
):
    """List runs, newest first; the total is in X-Total-Count.

    status takes one status or several separated by commas.
    """
    query = select(Run).where(Run.owner == owner)
    if name:
        query = query.where(Run.name == name)
    if statuses := status_filter(status, RUN_STATUSES):
        query = query.where(Run.status.in_(statuses))
    # Both keys descend so that ix_runs_owner_created_at_id serves the
    # order; id only breaks ties between runs created in one instant.
    query = query.order_by(Run.created_at.desc(), Run.id.desc())
    rows, total = paginate(session, query, limit, offset)
    response.headers[TOTAL_HEADER] = str(total)
    view = _view(session, store, base_url, settings)
    return view.render_page(rows)


@router.get("/{run_id}", response_model=RunResponse)
def show_run(
    run_id: str,
    owner: OwnerDep,
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
    base_url: BaseUrlDep,
):
    """Return one run."""
    run = get_owned(session, Run, run_id, owner, "run")
    return _render_one(session, store, base_url, settings, run)


def _render_one(session, store, base_url, settings, run) -> dict:
    """Render one run with its transitions, as show and actions return it."""
    fields = _view(session, store, base_url, settings).render(run)
    fields["transitions"] = lifecycle.transitions(session, run.id)
    return fields


@router.post("/{run_id}/submit", response_model=RunResponse)
def submit_run(
    run_id: str,
    owner: OwnerDep,
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
    base_url: BaseUrlDep,
    executor: ExecutorDep,
):
    """Queue a created run with the executor; it becomes `pending`."""
    run = get_owned(session, Run, run_id, owner, "run")
    run = run_control.submit_run(session, run, executor, settings, store)
    return _render_one(session, store, base_url, settings, run)


@router.post("/{run_id}/stop", response_model=RunResponse)
def stop_run(
    run_id: str,
    owner: OwnerDep,
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
    base_url: BaseUrlDep,
    executor: ExecutorDep,
):
    """Stop a run; an ended run is returned with its status unchanged."""
    run = get_owned(session, Run, run_id, owner, "run")
    run = run_control.stop_run(session, run, executor)
    return _render_one(session, store, base_url, settings, run)


@router.post("/{run_id}/refresh", response_model=RunResponse)
def refresh_run(
    run_id: str,
    owner: OwnerDep,
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
    base_url: BaseUrlDep,
):
    """Return the run; the local executor keeps its state current."""
    run = get_owned(session, Run, run_id, owner, "run")
    return _render_one(session, store, base_url, settings, run)
