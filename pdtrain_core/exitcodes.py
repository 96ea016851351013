"""Exit statuses of the pdtrain command.

CI scripts read these after ``run watch``, ``run create --wait``,
``logs --follow`` and ``upload --wait``, so the numbers are part of the
interface and never change meaning.
"""

import enum


class ExitCode(enum.IntEnum):
    """Exit status of one pdtrain invocation."""

    SUCCESS = 0
    ERROR = 1
    USAGE = 2  # argparse and cliff already exit 2 on bad usage
    RUN_FAILED = 3  # a waited-on run ended "failed"
    RUN_STOPPED = 4  # a waited-on run ended "stopped"
    WAIT_TIMED_OUT = 5  # --timeout passed before the run ended
    INTERRUPTED = 130  # 128 + SIGINT
    BROKEN_PIPE = 141  # 128 + SIGPIPE
