"""Named points where tests stop the orchestrator on purpose.

Crash tests set PDTRAIN_FAULT_POINT to a point's name and
PDTRAIN_FAULT_MARKER to a file path. When the server reaches that point
it writes the marker and waits, so the test can kill it (SIGKILL) at a
known step, such as between checking an upload and committing it.
Without the variables, reach() does nothing.
"""

import logging
import os
import time
from pathlib import Path

LOG = logging.getLogger(__name__)

POINT_ENV = "PDTRAIN_FAULT_POINT"
MARKER_ENV = "PDTRAIN_FAULT_MARKER"
# Long enough for any test to kill the process; a server left paused by
# mistake resumes after this.
PAUSE_SECONDS = 300


def reach(name: str) -> None:
    """Pause here if a test asked to stop the server at point name."""
    if os.environ.get(POINT_ENV) != name:
        return
    LOG.warning("Paused at fault point %s for a crash test", name)
    marker = os.environ.get(MARKER_ENV)
    if marker:
        Path(marker).write_text(str(os.getpid()))
    time.sleep(PAUSE_SECONDS)
