"""Run training jobs on this machine under the SageMaker container contract.

Each run gets a directory laid out like /opt/ml, its code and data staged
there, a cached environment, and a child process in its own process group.
Runs past max_concurrent wait in a FIFO queue.
"""

import logging
import queue
import threading
from dataclasses import dataclass
from pathlib import Path

from pdtrain_orchestrator import fault_points

from . import container, failure, launch, layout, packaging, training_env
from .base import RunEvents, RunSpec
from .environments import EnvironmentCache, EnvironmentFailure, StopRequested
from .output import OutputFiles, ProcessOutput, now_ms
from .process import NOTE_PREFIX, NOTE_STREAM, StopControl, run_process

LOG = logging.getLogger(__name__)

STOPPED = "Stopped"
MAX_RUNTIME = "MaxRuntimeExceeded"
# The instance type a run gets when its request names none
# (run_requests.DEFAULT_INSTANCE_TYPE); any other value was asked for.
LOCAL_INSTANCE_TYPE = "local"


@dataclass
class Outcome:
    """The terminal status of a run and what goes with it."""

    status: str
    secondary_status: str
    message: str
    failure_reason: str | None = None
    exit_code: int | None = None


class _Run:
    """Bookkeeping for one submitted run."""

    def __init__(self, spec: RunSpec, grace_seconds: float):
        self.spec = spec
        self.control = StopControl(grace_seconds)
        self.lock = threading.Lock()
        self.phase = "pending"
        self.stop_message = "Stopped on request"


class LocalExecutor:
    """Run training jobs as local processes, max_concurrent at a time."""

    def __init__(
        self,
        work_dir,
        envs_dir,
        events: RunEvents,
        max_concurrent: int,
        stop_grace_seconds: float = 30,
    ):
        if max_concurrent < 1:
            raise ValueError(f"max_concurrent must be >= 1: {max_concurrent}")
        self.work_dir = Path(work_dir)
        self.events = events
        self.stop_grace_seconds = stop_grace_seconds
        self._cache = EnvironmentCache(Path(envs_dir))
        self._queue: queue.Queue = queue.Queue()
        self._runs: dict[str, _Run] = {}
        self._lock = threading.Lock()
        self._closed = False
        self._num_gpus: int | None = None
        self._workers = [
            threading.Thread(
                target=self._work, name=f"pdtrain-executor-{index}"
            )
            for index in range(max_concurrent)
        ]
        for worker in self._workers:
            worker.start()

    def submit(self, spec: RunSpec) -> None:
        """Queue a run and return at once; it waits pending for a slot."""
        run = _Run(spec, self.stop_grace_seconds)
        with self._lock:
            if self._closed:
                raise RuntimeError("the executor has been shut down")
            if spec.run_id in self._runs:
                raise ValueError(f"run {spec.run_id} is already submitted")
            self._runs[spec.run_id] = run

        LOG.info("Run %s queued", spec.run_id)
        self._status(
            spec.run_id, "pending", "Pending", "Waiting for a free run slot"
        )
        self._queue.put(run)

    def stop(self, run_id: str, message: str | None = None) -> bool:
        """Stop a queued or running run; return False if it is not active.

        A queued run is reported stopped at once and never starts. A
        running one gets SIGTERM, then SIGKILL after the grace period, and
        its model is still packaged.
        """
        with self._lock:
            run = self._runs.get(run_id)
        if run is None:
            return False

        with run.lock:
            if message:
                run.stop_message = message
            first = run.control.request(STOPPED)
            was_pending = run.phase == "pending"
            if was_pending:
                run.phase = "done"
        if was_pending:
            self._forget(run_id)
            self._finish(
                run_id,
                Outcome(
                    "stopped", STOPPED, message or "Stopped before it started"
                ),
            )
        elif first:
            LOG.info("Stopping run %s", run_id)
            self._status(run_id, "running", "Stopping", run.stop_message)
        return True

    def shutdown(self) -> None:
        """Stop every queued and running run and wait for the workers."""
        with self._lock:
            self._closed = True
            run_ids = list(self._runs)
        for run_id in run_ids:
            self.stop(run_id, "Stopped because the orchestrator shut down")
        for _ in self._workers:
            self._queue.put(None)
        for worker in self._workers:
            worker.join()
        LOG.info("Local executor shut down")

    def _work(self) -> None:
        while True:
            run = self._queue.get()
            if run is None:
                return
            if not self._claim(run):
                continue
            run_id = run.spec.run_id
            try:
                outcome = self._execute(run)
            except Exception as error:
                LOG.exception("Run %s failed inside the executor", run_id)
                name = type(error).__name__
                reason = f"InternalServerError: {name}: {error}"
                outcome = Outcome(
                    "failed", "Failed", "Executor error", failure_reason=reason
                )
            self._forget(run_id)
            self._finish(run_id, outcome)

    def _claim(self, run: _Run) -> bool:
        with run.lock:
            if run.phase != "pending":
                return False
            run.phase = "running"
            return True

    def _forget(self, run_id: str) -> None:
        with self._lock:
            self._runs.pop(run_id, None)

    def _execute(self, run: _Run) -> Outcome:
        spec = run.spec
        tree = layout.RunLayout(self.work_dir / spec.run_dir)
        run.control.set_deadline(spec.max_runtime_seconds)
        try:
            argv, env, on_kill = self._prepare(run, tree)
        except StopRequested:
            return self._stopped(run, None)
        except (
            layout.InputError,
            EnvironmentFailure,
            container.NoEngine,
        ) as error:
            return self._setup_failed(spec.run_id, _setup_reason(error))

        self._phase(spec.run_id, "Training", f"Running {spec.entry}")
        result = run_process(
            argv,
            tree.code_dir,
            env,
            self._output(spec.run_id, tree),
            run.control,
            on_kill,
        )
        outcome = self._script_outcome(run, tree, result, argv)

        self._phase(spec.run_id, "Uploading", "Packaging model and output")
        fault_points.reach("packaging")
        packaging.package(spec.run_id, tree, self._report)
        return outcome

    def _prepare(self, run: _Run, tree: layout.RunLayout):
        spec = run.spec
        self._phase(spec.run_id, "Starting", "Preparing the run directory")
        self._note_ignored_options(spec)
        fault_points.reach("run_start")
        tree.create()
        config = launch.write_config(spec, tree)
        self._check_stop(run)

        self._phase(
            spec.run_id,
            "Downloading",
            "Extracting the bundle and staging input data",
        )
        self._stage(spec, tree)
        self._check_stop(run)

        self._phase(
            spec.run_id, "Training", "Preparing the training environment"
        )
        command = self._command(run, tree, config)
        self._check_stop(run)
        return command

    def _note_ignored_options(self, spec: RunSpec) -> None:
        """Log one line naming the SageMaker-only options a run ignores."""
        ignored = []
        if spec.spot_instances:
            ignored.append("--spot")
        if spec.instance_type not in (None, "", LOCAL_INSTANCE_TYPE):
            ignored.append(f"--instance-type {spec.instance_type}")
        if not ignored:
            return
        LOG.info("Run %s: ignoring %s", spec.run_id, " and ".join(ignored))
        self._note(
            spec.run_id,
            f"Ignoring {' and '.join(ignored)}: the local executor runs "
            "on this machine's own capacity",
        )

    def _setup_failed(self, run_id: str, reason: str) -> Outcome:
        # The script never ran, so its log would otherwise be empty: the
        # reason goes in as the last stderr line for `pdtrain logs`.
        for line in reason.splitlines() or [reason]:
            self._report("log", run_id, "stderr", NOTE_PREFIX + line, now_ms())
        return _failed(reason)

    def _check_stop(self, run: _Run) -> None:
        if run.control.reason is not None:
            raise StopRequested(run.control.reason)

    def _stage(self, spec: RunSpec, tree: layout.RunLayout) -> None:
        layout.extract_bundle(spec.bundle_path, tree.code_dir)
        layout.check_entry(spec.entry, tree.code_dir)
        for channel in spec.channels:
            count = layout.stage_channel(
                channel, tree.channel_dir(channel.name)
            )
            self._note(spec.run_id, f"Channel {channel.name}: {count} files")

    def _command(self, run: _Run, tree: layout.RunLayout, config):
        spec = run.spec
        if spec.image:
            return launch.container_command(spec, tree)

        python, env_dir = self._cache.prepare(
            spec,
            tree.code_dir,
            lambda text: self._note(spec.run_id, text),
            self._output(spec.run_id, tree),
            run.control,
        )
        argv = launch.script_argv(spec, python, config)
        env, ignored = launch.script_env(
            spec, tree, config, python, env_dir, self._gpus()
        )
        for key in ignored:
            self._note(
                spec.run_id,
                f"Ignoring environment variable {key}: the training "
                "contract sets it",
            )
        return argv, env, None

    def _gpus(self) -> int:
        if self._num_gpus is None:
            self._num_gpus = training_env.count_gpus()
        return self._num_gpus

    def _script_outcome(self, run, tree, result, argv) -> Outcome:
        if run.control.reason is not None:
            return self._stopped(run, result.exit_code)
        if result.returncode == 0:
            failure.record_success(tree.output_dir)
            return Outcome(
                "completed", "Completed", "Training completed", exit_code=0
            )
        reason = failure.record_failure(tree.output_dir, result, argv)
        return Outcome(
            "failed",
            "Failed",
            f"{run.spec.entry} exited with {result.exit_code}",
            failure_reason=reason,
            exit_code=result.exit_code,
        )

    def _stopped(self, run: _Run, exit_code: int | None) -> Outcome:
        if run.control.reason == MAX_RUNTIME:
            seconds = run.spec.max_runtime_seconds
            return Outcome(
                "stopped",
                MAX_RUNTIME,
                f"Stopped after the max runtime of {seconds} s",
                exit_code=exit_code,
            )
        return Outcome(
            "stopped", STOPPED, run.stop_message, exit_code=exit_code
        )

    def _finish(self, run_id: str, outcome: Outcome) -> None:
        level = logging.WARNING if outcome.status == "failed" else logging.INFO
        LOG.log(
            level,
            "Run %s %s (%s): %s",
            run_id,
            outcome.status,
            outcome.secondary_status,
            outcome.failure_reason or outcome.message,
        )
        self._status(
            run_id,
            outcome.status,
            outcome.secondary_status,
            outcome.message,
            outcome.failure_reason,
            outcome.exit_code,
        )

    def _output(self, run_id: str, tree: layout.RunLayout) -> ProcessOutput:
        def deliver(stream: str, lines) -> None:
            self._report("log_lines", run_id, stream, lines)

        return ProcessOutput(OutputFiles(tree.logs_dir), deliver)

    def _note(self, run_id: str, text: str) -> None:
        self._report("log", run_id, NOTE_STREAM, NOTE_PREFIX + text, now_ms())

    def _phase(self, run_id: str, secondary: str, message: str) -> None:
        self._status(run_id, "running", secondary, message)

    def _status(
        self,
        run_id,
        status,
        secondary,
        message=None,
        failure_reason=None,
        exit_code=None,
    ) -> None:
        self._report(
            "status",
            run_id,
            status,
            secondary,
            message,
            failure_reason,
            exit_code,
        )

    def _report(self, callback: str, run_id: str, *args) -> None:
        try:
            getattr(self.events, callback)(run_id, *args)
        except Exception:
            LOG.exception("Run %s: the %s callback failed", run_id, callback)


def _setup_reason(error: Exception) -> str:
    if isinstance(error, container.NoEngine):
        return (
            "ClientError: image mode needs a container engine; none is "
            f"running ({error})"
        )
    if isinstance(error, layout.InputError):
        return f"ClientError: {error}"
    return str(error)


def _failed(reason: str) -> Outcome:
    return Outcome(
        "failed", "Failed", "The run could not start", failure_reason=reason
    )
