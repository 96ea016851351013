"""Run a child process in its own group, streaming lines and obeying stops.

The executor runs pip and the training script through this module, so a
stop request or the max runtime ends whichever of them is running.
"""

import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable

from . import reclaim
from .output import ProcessOutput, Tailer

LOG = logging.getLogger(__name__)

POLL_SECONDS = 0.1
# How long processes the script started may run on in its group after
# the script itself has exited.
LEFTOVER_GRACE_SECONDS = 5

# Lines the executor itself adds to a run's log go to this stream with
# this prefix, between the lines of pip and of the script.
NOTE_STREAM = "stdout"
NOTE_PREFIX = "pdtrain: "


class StopControl:
    """A stop request shared by the executor and the running process."""

    def __init__(self, grace_seconds: float):
        self.grace_seconds = grace_seconds
        self._lock = threading.Lock()
        self._reason: str | None = None
        self._requested_at: float | None = None
        self._deadline: float | None = None

    def request(self, reason: str) -> bool:
        """Record a stop with its reason; return False if one came first."""
        with self._lock:
            if self._reason is not None:
                return False
            self._reason = reason
            self._requested_at = time.monotonic()
            return True

    def set_deadline(self, seconds: float | None) -> None:
        """Request a MaxRuntimeExceeded stop once seconds have passed."""
        if seconds is not None:
            self._deadline = time.monotonic() + seconds

    @property
    def reason(self) -> str | None:
        self._check_deadline()
        return self._reason

    @property
    def kill_due(self) -> bool:
        """Return True once the grace period after the stop has passed."""
        with self._lock:
            started = self._requested_at
        if started is None:
            return False
        return time.monotonic() - started >= self.grace_seconds

    def _check_deadline(self) -> None:
        if self._deadline is not None and time.monotonic() >= self._deadline:
            self.request("MaxRuntimeExceeded")


class ProcessResult:
    """Exit status and the last stderr lines of a finished process."""

    def __init__(self, returncode: int, stderr_tail: list[str]):
        self.returncode = returncode
        self.stderr_tail = stderr_tail

    @property
    def exit_code(self) -> int:
        """Return the exit code, with 128 + N for a death by signal N."""
        if self.returncode < 0:
            return 128 - self.returncode
        return self.returncode


def run_process(
    argv: list[str],
    cwd,
    env: dict[str, str],
    output: ProcessOutput,
    control: StopControl,
    on_kill: Callable[[], None] | None = None,
) -> ProcessResult:
    """Run argv to its end, appending its output to the run's files.

    Each line reaches output.deliver as the tailer reads it. SIGTERM
    goes to the whole process group when control requests a stop, and
    SIGKILL once the grace period has passed. on_kill runs after the
    SIGKILL to end what the group does not contain, such as a container.
    """
    tailer = Tailer(output, output.files.sizes())
    handles = output.files.open_for_append()
    try:
        process = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=handles["stdout"],
            stderr=handles["stderr"],
            start_new_session=True,
        )
    finally:
        for handle in handles.values():
            handle.close()
    reclaim.remember_process(output.files.log_dir, process.pid, cwd)
    tailer.start()
    try:
        returncode = _wait(process, control, on_kill)
        _end_leftovers(process.pid)
    finally:
        tailer.finish()
        reclaim.forget_process(output.files.log_dir)
    return ProcessResult(returncode, list(tailer.stderr_tail))


def _wait(process: subprocess.Popen, control: StopControl, on_kill) -> int:
    terminated = killed = False
    while True:
        try:
            return process.wait(timeout=POLL_SECONDS)
        except subprocess.TimeoutExpired:
            pass
        if control.reason is None:
            continue
        if not terminated:
            LOG.info("Sending SIGTERM to process group %d", process.pid)
            _signal_group(process.pid, signal.SIGTERM)
            terminated = True
        elif not killed and control.kill_due:
            LOG.info("Sending SIGKILL to process group %d", process.pid)
            _signal_group(process.pid, signal.SIGKILL)
            killed = True
            if on_kill is not None:
                on_kill()


def _signal_group(pgid: int, signum: int) -> None:
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        LOG.debug("Process group %d has already exited", pgid)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _end_leftovers(pgid: int) -> None:
    """Give processes the script left in its group time, then kill them.

    They may still be writing output, and the run's directory is
    packaged next, so none may outlive the run.
    """
    deadline = time.monotonic() + LEFTOVER_GRACE_SECONDS
    while _group_alive(pgid) and time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
    if _group_alive(pgid):
        LOG.warning("Killing processes left in group %d", pgid)
        _signal_group(pgid, signal.SIGKILL)
