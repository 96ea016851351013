"""Settle what a killed orchestrator left of a local run.

While a run's process lives, ``<run>/logs/process.json`` names its
process group and working directory. An orchestrator that restarts
after a crash ends that group (its output has nobody to read it and the
run is reported failed) and reads the output files on from the offsets
already stored, so the lines written before the crash reach the log.
"""

import json
import logging
import os
import signal
import time
from pathlib import Path

from .output import STREAMS, LogLine, OutputFiles, split_lines

LOG = logging.getLogger(__name__)

PROCESS_FILE = "process.json"
KILL_WAIT_SECONDS = 5.0


def remember_process(log_dir: Path, pid: int, cwd) -> None:
    """Record the running process group of a run."""
    record = {"pgid": pid, "cwd": str(Path(cwd).resolve())}
    (Path(log_dir) / PROCESS_FILE).write_text(json.dumps(record))


def forget_process(log_dir: Path) -> None:
    """Remove the record once the process group has ended."""
    (Path(log_dir) / PROCESS_FILE).unlink(missing_ok=True)


def _is_ours(record: dict) -> bool:
    """Return True when the group leader still runs in the run's code.

    The working directory check keeps a recycled process id of some
    other program from being killed.
    """
    try:
        cwd = os.readlink(f"/proc/{record['pgid']}/cwd")
    except (OSError, KeyError):
        return False
    return cwd == record.get("cwd")


def end_orphan(log_dir: Path) -> bool:
    """SIGKILL the process group a dead orchestrator left; True if one ran.

    Waits until the group has gone, so no more output is written.
    """
    path = Path(log_dir) / PROCESS_FILE
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    if not _is_ours(record):
        path.unlink(missing_ok=True)
        return False
    pgid = int(record["pgid"])
    LOG.warning("Killing process group %d left by a previous run", pgid)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + KILL_WAIT_SECONDS
    # A killed leader stays a zombie until its new parent reaps it, and
    # a zombie has no working directory, so _is_ours turns False.
    while _is_ours(record) and time.monotonic() < deadline:
        time.sleep(0.05)
    path.unlink(missing_ok=True)
    return True


def unread_lines(
    log_dir: Path, offsets: dict[str, int]
) -> dict[str, list[LogLine]]:
    """Return each stream's lines after its stored offset (0 if none)."""
    files = OutputFiles(log_dir)
    found = {}
    for stream in STREAMS:
        path = files.path(stream)
        if not path.is_file():
            continue
        start = offsets.get(stream) or 0
        with open(path, "rb") as handle:
            handle.seek(start)
            data = handle.read()
        lines, _ = split_lines(data, start, final=True)
        if lines:
            found[stream] = lines
    return found
