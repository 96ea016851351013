"""Temporary files of the object store, and their cleanup at start-up.

An upload streams into `tmp/upload-<pid>-<random>` and is renamed into
place when it completes. A process that dies mid-upload (kill -9, power
loss) leaves its file behind, so each process removes, when it starts,
the files of processes that no longer exist. Workers that share the
folder keep each other's files because their pids are alive.
"""

import logging
import os
import re
import time
from pathlib import Path

LOG = logging.getLogger(__name__)

PREFIXES = ("upload-", "s3-")
_PID = re.compile(r"-(\d+)-")
# A temporary file without a pid in its name (written by an older
# version) is removed once nothing has written to it for this long.
UNTAGGED_MAX_AGE_SECONDS = 3600


def prefix(kind: str) -> str:
    """Return the name prefix of this process's temporary files."""
    return f"{kind}-{os.getpid()}-"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_stale(path: Path, now: float) -> bool:
    found = _PID.match(path.name[path.name.index("-") :])
    if found is not None:
        pid = int(found.group(1))
        return pid != os.getpid() and not _pid_alive(pid)
    return now - path.stat().st_mtime > UNTAGGED_MAX_AGE_SECONDS


def remove_stale(folder: Path) -> int:
    """Remove temporary files of dead processes; return how many."""
    removed = 0
    now = time.time()
    try:
        entries = list(Path(folder).iterdir())
    except FileNotFoundError:
        return 0
    for path in entries:
        if not path.name.startswith(PREFIXES) or not path.is_file():
            continue
        try:
            if _is_stale(path, now):
                path.unlink()
                removed += 1
        except OSError as error:
            LOG.warning(
                "Cannot remove stale temporary file %s: %s", path, error
            )
    if removed:
        LOG.info("Removed %d stale temporary files from %s", removed, folder)
    return removed
