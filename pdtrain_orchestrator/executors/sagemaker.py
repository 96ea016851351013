"""Run training jobs on SageMaker and follow them through boto3.

A submitted run becomes one CreateTrainingJob request; its job name is
derived from the run id, so the same run can never start two jobs. The
scheduler calls `poll` from the one process that leads (see
scheduler.py). Each poll describes the active jobs and stores new
CloudWatch log lines. Once a job ends, the poll also stores its
artifacts and final status. Everything a poll needs is in the
database, so a restarted orchestrator carries on where the last one
stopped, and jobs keep running on AWS while no orchestrator runs.
"""

import logging
import time

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from pdtrain_orchestrator.aws import error_code, make_client
from pdtrain_orchestrator.backend_settings import SageMakerSettings
from pdtrain_orchestrator.executors import sagemaker_logs, sagemaker_pricing
from pdtrain_orchestrator.executors.base import RunSpec
from pdtrain_orchestrator.executors.sagemaker_request import (
    build_request,
    job_name,
)
from pdtrain_orchestrator.models import Artifact, Run

LOG = logging.getLogger(__name__)

EXECUTION_MODE = "sagemaker"
ACTIVE = ("pending", "running", "stopping")
TERMINAL = ("completed", "failed", "stopped")
ARTIFACT_NAMES = ("model.tar.gz", "output.tar.gz")

# DescribeTrainingJob (TrainingJobStatus, SecondaryStatus) -> pdtrain
# status. None as the secondary value matches any other value, so new
# secondary values SageMaker adds still map to their primary's status.
STATUS_TABLE = {
    ("InProgress", "Starting"): "pending",
    ("InProgress", "Pending"): "pending",
    ("InProgress", None): "running",
    ("Stopping", None): "stopping",
    ("Completed", None): "completed",
    ("Failed", None): "failed",
    ("Stopped", None): "stopped",
}


def map_status(primary: str, secondary: str | None) -> str | None:
    """Return the pdtrain status of a job, or None for unknown ones."""
    found = STATUS_TABLE.get((primary, secondary))
    return found or STATUS_TABLE.get((primary, None))


def _message(job: dict) -> str | None:
    transitions = job.get("SecondaryStatusTransitions") or []
    if transitions:
        return transitions[-1].get("StatusMessage") or None
    return None


class SageMakerExecutor:
    """Submit, stop and follow runs as SageMaker training jobs."""

    # Jobs run on AWS, not in this process: a restart must not fail them.
    survives_restart = True

    def __init__(
        self,
        settings: SageMakerSettings,
        events,
        sessions,
        store,
        sagemaker_client=None,
        logs_client=None,
    ):
        self.settings = settings
        self.events = events
        self.sessions = sessions
        self.store = store
        self.client = sagemaker_client or make_client(
            "sagemaker", settings.region, settings.endpoint_url
        )
        logs_endpoint = settings.logs_endpoint_url or settings.endpoint_url
        self.logs = logs_client or make_client(
            "logs", settings.region, logs_endpoint
        )
        self._next_poll: dict[str, float] = {}
        self._last_state: dict[str, tuple] = {}

    def job_name(self, run_id: str) -> str:
        return job_name(self.settings.job_name_prefix, run_id)

    def submit(self, spec: RunSpec) -> None:
        """Create the run's training job; raise when SageMaker refuses."""
        request = build_request(spec, self.settings, self.store)
        name = request["TrainingJobName"]
        try:
            arn = self.client.create_training_job(**request)["TrainingJobArn"]
        except Exception as error:
            if error_code(error) != "ResourceInUse":
                raise
            # A crash after CreateTrainingJob and before the ARN was
            # stored leaves the job running: adopt it.
            LOG.warning(
                "Run %s: job %s exists; adopting it", spec.run_id, name
            )
            arn = self.client.describe_training_job(TrainingJobName=name)[
                "TrainingJobArn"
            ]
        self._record_job(spec.run_id, arn)
        LOG.info("Run %s: created training job %s", spec.run_id, name)
        self.events.status(
            spec.run_id, "pending", "Starting", f"Training job {name} created"
        )

    def _record_job(self, run_id: str, arn: str) -> None:
        with self.sessions() as session:
            run = session.get(Run, run_id)
            run.job_arn = arn
            run.region = self.settings.region
            session.commit()

    def stop(self, run_id: str) -> bool:
        """Ask SageMaker to stop the run's job; False if it has none."""
        with self.sessions() as session:
            run = session.get(Run, run_id)
            if run is None or not run.job_arn:
                return False
        try:
            self.client.stop_training_job(
                TrainingJobName=self.job_name(run_id)
            )
        except Exception as error:
            if error_code(error) != "ValidationException":
                raise
            # The job has ended or is stopping already; the next poll
            # reports its final status.
            LOG.info("Run %s: StopTrainingJob refused: %s", run_id, error)
        self._next_poll.pop(run_id, None)
        return True

    def shutdown(self) -> None:
        """Keep jobs running on AWS; nothing runs in this process."""
        LOG.info("SageMaker executor shut down; jobs keep running on AWS")

    def poll(self) -> None:
        """Poll the active jobs whose interval has passed."""
        now = time.monotonic()
        for run_id in self._active_runs():
            if self._next_poll.get(run_id, 0.0) > now:
                continue
            self._next_poll[run_id] = now + self.settings.poll_seconds
            try:
                self.poll_run(run_id)
            except Exception:
                LOG.exception(
                    "Run %s: polling its training job failed", run_id
                )

    def _active_runs(self) -> list[str]:
        with self.sessions() as session:
            return list(
                session.scalars(
                    select(Run.id).where(
                        Run.execution_mode == EXECUTION_MODE,
                        Run.status.in_(ACTIVE),
                        Run.job_arn.is_not(None),
                    )
                )
            )

    def poll_run(self, run_id: str) -> str | None:
        """Bring one run up to date with its job; return its new status."""
        name = self.job_name(run_id)
        job = self.client.describe_training_job(TrainingJobName=name)
        primary = job["TrainingJobStatus"]
        secondary = job.get("SecondaryStatus")
        status = map_status(primary, secondary)
        if status is None:
            LOG.warning("Run %s: unknown job status %s", run_id, primary)
            return None

        sagemaker_logs.store_new_lines(self.sessions, self.logs, run_id, name)
        if status in TERMINAL:
            # Read once more after the end, then record the artifacts,
            # so a follower that reads the final status has every line.
            sagemaker_logs.store_new_lines(
                self.sessions, self.logs, run_id, name
            )
            self._store_artifacts(run_id, name)
            self._store_cost(run_id, job)
        state = (status, secondary, _message(job), job.get("FailureReason"))
        if self._last_state.get(run_id) != state:
            self._last_state[run_id] = state
            self._report(run_id, state)
        if status in TERMINAL:
            self._next_poll.pop(run_id, None)
            self._last_state.pop(run_id, None)
        return status

    def _report(self, run_id: str, state: tuple) -> None:
        status, secondary, message, reason = state
        with self.sessions() as session:
            current = session.scalar(
                select(Run.status).where(Run.id == run_id)
            )
        if status == "pending" and current in ("running", "stopping"):
            # A spot job that restarts after an interruption goes back
            # to Starting; the run stays running with that secondary.
            status = current
        if status in TERMINAL and current in ("submitting", "pending"):
            # A job can end between two polls; the run passes through
            # running, as the status machine requires.
            self.events.status(run_id, "running", secondary, message)
        self.events.status(
            run_id, status, secondary, message, failure_reason=reason
        )

    def _store_cost(self, run_id: str, job: dict) -> None:
        """Store the job's estimated cost; None when it cannot be priced."""
        cost = sagemaker_pricing.training_cost(job, self.settings.region)
        with self.sessions() as session:
            run = session.get(Run, run_id)
            if run.total_cost_usd == cost:
                return
            run.total_cost_usd = cost
            session.commit()
        LOG.info("Run %s: estimated cost %s USD", run_id, cost)

    def _store_artifacts(self, run_id: str, name: str) -> None:
        with self.sessions() as session:
            run = session.get(Run, run_id)
            prefix = f"{run.owner}/artifacts/{run_id}/{name}/output/"
            known = set(
                session.scalars(
                    select(Artifact.name).where(Artifact.run_id == run_id)
                )
            )
            for key, size in self.store.list_keys(prefix):
                artifact = key[len(prefix) :]
                if artifact not in ARTIFACT_NAMES or artifact in known:
                    continue
                # NOTE: the sha256 is computed by reading the object from
                # S3 once; SageMaker does not store one with it.
                session.add(
                    Artifact(
                        run_id=run_id,
                        name=artifact,
                        s3_key=key,
                        size_bytes=size,
                        sha256=self.store.sha256(key),
                    )
                )
                LOG.info("Run %s: artifact %s (%d bytes)", run_id, key, size)
            try:
                session.commit()
            except IntegrityError:
                # Another process recorded the same artifacts first.
                session.rollback()
