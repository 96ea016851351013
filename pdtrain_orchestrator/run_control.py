"""Submit, stop and recover runs, and build what the executor receives.

Recovery at startup, for runs a previous process left unfinished:

- `submitting` and `pending` runs had not started, so they are queued
  again with the executor;
- `running` runs lost their process and become `failed` with the
  failure reason "orchestrator restarted";
- `stopping` runs become `stopped`.
"""

import logging

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from pdtrain_orchestrator import lifecycle, run_recovery
from pdtrain_orchestrator.errors import Conflict
from pdtrain_orchestrator.executors.base import Channel, Deferred, RunSpec
from pdtrain_orchestrator.models import (
    TERMINAL_STATUSES,
    Bundle,
    DatasetFile,
    DatasetVersion,
    Run,
    utcnow,
)
from pdtrain_orchestrator.settings import Settings
from pdtrain_orchestrator.storage.local import LocalObjectStore

LOG = logging.getLogger(__name__)

RESTARTED = "orchestrator restarted"


def _channel(session: Session, item: dict, store: LocalObjectStore) -> Channel:
    version = session.scalar(
        select(DatasetVersion).where(
            DatasetVersion.dataset_id == item["dataset_id"],
            DatasetVersion.version == item["version"],
        )
    )
    if version is None:
        raise Conflict(
            f"dataset {item['dataset_id']} version {item['version']} was "
            "deleted; create the run again with an existing version"
        )
    files = session.scalars(
        select(DatasetFile)
        .where(DatasetFile.version_id == version.id)
        .order_by(DatasetFile.id)
    ).all()
    content_types = {item.content_type for item in files}
    return Channel(
        name=item["channel"],
        files=[store.local_path(row.s3_key) for row in files],
        unpack=version.archive == "directory",
        names=[row.path for row in files],
        content_type=content_types.pop() if len(content_types) == 1 else None,
        keys=[row.s3_key for row in files],
    )


def build_spec(
    session: Session, run: Run, settings: Settings, store: LocalObjectStore
) -> RunSpec:
    """Return run's RunSpec, raising Conflict if its code or data is gone."""
    bundle = session.get(Bundle, run.bundle_id)
    if bundle.deleted_at is not None:
        # Only a run created while its bundle was being deleted gets here.
        raise Conflict(
            f"bundle {bundle.id} ({bundle.name} version {bundle.version}) "
            "was deleted; create the run again with an existing bundle"
        )
    return RunSpec(
        run_id=run.id,
        run_dir=settings.runs_dir / run.id,
        bundle_path=store.local_path(bundle.s3_key),
        entry=run.entry,
        hyperparameters=dict(run.hyperparameters),
        env=dict(run.env),
        channels=[_channel(session, item, store) for item in run.inputs],
        framework=run.framework,
        framework_version=run.framework_version,
        python_version=run.python_version,
        image=run.image,
        instance_type=run.instance_type,
        max_runtime_seconds=run.max_runtime_seconds,
        bundle_key=bundle.s3_key,
        owner=run.owner,
        name=run.name,
        instance_count=run.instance_count or 1,
        spot_instances=run.spot_instances,
        max_wait_seconds=run.max_wait_seconds,
    )


def _move(session: Session, run_id: str, sources, status, **values) -> bool:
    """Move the run to status only while its status is in sources."""
    return lifecycle.move(
        session, run_id, status, only_from=tuple(sources), **values
    )


def hand_over(session: Session, run: Run, spec: RunSpec, executor) -> None:
    """Give a `submitting` run to the executor and mark it `pending`.

    executor is the Scheduler: in a process that does not lead it raises
    Deferred, the run stays `submitting` and the leader hands it over.
    """
    try:
        executor.submit(spec)
    except Deferred:
        LOG.info("Run %s waits for the scheduling process", run.id)
        return
    except Exception as error:
        LOG.exception("Executor rejected run %s", run.id)
        _move(
            session,
            run.id,
            ("submitting",),
            status="failed",
            failure_reason=f"executor rejected the run: {error}",
            ended_at=utcnow(),
        )
        return
    # The executor may have reported `running` already from its thread.
    _move(
        session,
        run.id,
        ("submitting",),
        status="pending",
        secondary_status="Pending",
        status_message="waiting for a free run slot",
    )


def submit_run(
    session: Session,
    run: Run,
    executor,
    settings: Settings,
    store: LocalObjectStore,
) -> Run:
    """Hand a `created` run to the executor and return it.

    A run that was submitted before is returned unchanged, so a client
    may repeat a submit whose response it lost. A run stopped before it
    was ever submitted raises Conflict.
    """
    if run.submitted_at is not None:
        return run
    if run.status != "created":
        raise Conflict(
            f"run {run.id} is {run.status}; only a created run can be "
            "submitted"
        )
    spec = build_spec(session, run, settings, store)
    if not _move(
        session,
        run.id,
        ("created",),
        status="submitting",
        submitted_at=utcnow(),
    ):
        # A concurrent submit of the same run won the race.
        session.refresh(run)
        if run.submitted_at is not None:
            return run
        raise Conflict(f"run {run.id} is {run.status} already")
    LOG.info("Submitting run %s", run.id)
    hand_over(session, run, spec, executor)
    session.refresh(run)
    return run


def stop_run(session: Session, run: Run, executor) -> Run:
    """Stop run; a run that has ended is returned unchanged."""
    if run.status in TERMINAL_STATUSES:
        return run
    if _move(
        session,
        run.id,
        ("created",),
        status="stopped",
        status_message="stopped before it was submitted",
        ended_at=utcnow(),
    ):
        LOG.info("Stopped run %s before submit", run.id)
    else:
        _move(
            session,
            run.id,
            ("submitting", "pending", "running"),
            status="stopping",
            status_message="stop requested",
        )
        LOG.info("Stopping run %s", run.id)
        try:
            executor.stop(run.id)
        except Exception:
            LOG.exception("Executor failed to stop run %s", run.id)
    session.refresh(run)
    return run


def _requeue(
    session: Session,
    run: Run,
    executor,
    settings: Settings,
    store: LocalObjectStore,
) -> None:
    try:
        spec = build_spec(session, run, settings, store)
    except Conflict as error:
        _move(
            session,
            run.id,
            ("submitting",),
            status="failed",
            failure_reason=f"{RESTARTED}: {error.detail}",
            ended_at=utcnow(),
        )
        return
    LOG.info("Queueing run %s again after a restart", run.id)
    hand_over(session, run, spec, executor)


def _settle(session: Session, current: str, keep_jobs: bool, **values):
    query = update(Run).where(Run.status == current)
    if keep_jobs:
        # The job runs on without this process; the executor follows it.
        query = query.where(Run.job_arn.is_(None))
    result = session.execute(query.values(updated_at=utcnow(), **values))
    return result.rowcount


def recover_runs(
    sessions: sessionmaker,
    executor,
    settings: Settings,
    store: LocalObjectStore,
) -> None:
    """Settle runs a previous orchestrator process left unfinished.

    Runs with a job of an executor that survives restarts (SageMaker)
    are left as they are.
    """
    keep = getattr(executor, "survives_restart", False)
    with sessions() as session:
        if not keep:
            run_recovery.settle_local_runs(session, settings.runs_dir)
        failed = _settle(
            session,
            "running",
            keep,
            status="failed",
            failure_reason=RESTARTED,
            status_message=RESTARTED,
            ended_at=utcnow(),
        )
        stopped = _settle(
            session,
            "stopping",
            keep,
            status="stopped",
            status_message=RESTARTED,
            ended_at=utcnow(),
        )
        _settle(session, "pending", keep, status="submitting")
        session.commit()
        waiting = session.scalars(
            select(Run)
            .where(Run.status == "submitting")
            .order_by(Run.submitted_at)
        ).all()
        if failed or stopped or waiting:
            LOG.warning(
                "Recovered runs after a restart: %d failed, %d stopped, "
                "%d queued again",
                failed,
                stopped,
                len(waiting),
            )
        for run in waiting:
            _requeue(session, run, executor, settings, store)
