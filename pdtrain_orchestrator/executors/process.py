"""Run a child process in its own group, streaming lines and obeying stops.

The executor runs pip and the training script through this module, so a
stop request or the max runtime ends whichever of them is running.
"""

import collections
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable

LOG = logging.getLogger(__name__)

POLL_SECONDS = 0.1
# How long output readers may run on after the main process has exited,
# while a child it left behind keeps the pipes open.
READER_GRACE_SECONDS = 5
TAIL_LINES = 50

# Lines the executor itself adds to a run's log go to this stream with
# this prefix, between the lines of pip and of the script.
NOTE_STREAM = "stdout"
NOTE_PREFIX = "pdtrain: "

LineSink = Callable[[str, str], None]


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
    sink: LineSink,
    control: StopControl,
    on_kill: Callable[[], None] | None = None,
) -> ProcessResult:
    """Run argv to its end, sending each output line to sink.

    SIGTERM goes to the whole process group when control requests a stop,
    and SIGKILL once the grace period has passed. on_kill runs after the
    SIGKILL to end what the group does not contain, such as a container.
    """
    process = subprocess.Popen(
        argv,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    tail = collections.deque(maxlen=TAIL_LINES)
    readers = [
        _start_reader(process.stdout, "stdout", sink, None),
        _start_reader(process.stderr, "stderr", sink, tail),
    ]

    returncode = _wait(process, control, on_kill)
    _finish_readers(process.pid, readers)
    return ProcessResult(returncode, list(tail))


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


def _start_reader(pipe, stream, sink, tail) -> threading.Thread:
    thread = threading.Thread(
        target=_pump,
        args=(pipe, stream, sink, tail),
        name=f"pdtrain-{stream}-reader",
        daemon=True,
    )
    thread.start()
    return thread


def _pump(pipe, stream: str, sink: LineSink, tail) -> None:
    with pipe:
        for raw in iter(pipe.readline, b""):
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            if tail is not None:
                tail.append(line)
            try:
                sink(stream, line)
            except Exception:
                LOG.exception("Could not record a %s line", stream)


def _finish_readers(pgid: int, readers: list[threading.Thread]) -> None:
    for reader in readers:
        reader.join(READER_GRACE_SECONDS)
    if any(reader.is_alive() for reader in readers):
        # A child of the script keeps the pipes open, so end the group.
        LOG.warning("Killing processes left in group %d", pgid)
        _signal_group(pgid, signal.SIGKILL)
        for reader in readers:
            reader.join(READER_GRACE_SECONDS)
    if any(reader.is_alive() for reader in readers):
        # Only a process that left the group (setsid) can still hold them.
        LOG.warning("Output of group %d is still open; not waiting", pgid)
