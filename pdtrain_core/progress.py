"""Transfer progress on stderr.

On a terminal a rich bar shows bytes, rate and time left; elsewhere (CI,
a pipe, a log file) one summary line per file is written when the file
is done. ``-q``/``--quiet`` shows neither. The callbacks are safe to
call from several threads, as parallel part uploads do.
"""

import contextlib
import threading
import time

from pdtrain_core import spinner
from pdtrain_core.formatting import human_size


def is_terminal(stream) -> bool:
    return bool(getattr(stream, "isatty", None) and stream.isatty())


@contextlib.contextmanager
def progress_bar(label, total, stream, quiet=False, verb="Transferred"):
    """Yield advance(count) for a transfer of total bytes named label.

    count may be negative, which takes back bytes of a failed attempt.
    """
    if quiet:
        yield lambda count: None
    elif is_terminal(stream):
        with spinner.suppressed(), _rich_bar(label, total, stream) as advance:
            yield advance
    else:
        with _summary_line(label, stream, verb) as advance:
            yield advance


@contextlib.contextmanager
def _rich_bar(label, total, stream):
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TimeRemainingColumn,
    )

    columns = (
        "{task.description}",
        BarColumn(),
        DownloadColumn(binary_units=True),
        # rich's own speed column counts in MB/s beside the MiB sizes.
        "{task.fields[rate]}",
        TimeRemainingColumn(),
    )
    console = Console(file=stream)
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(label, total=total, rate="")

        def advance(count):
            bar.advance(task, count)
            speed = bar.tasks[0].speed
            if speed:
                bar.update(task, rate=f"{human_size(speed)}/s")

        yield advance


@contextlib.contextmanager
def _summary_line(label, stream, verb):
    lock = threading.Lock()
    done = [0]

    def advance(count):
        with lock:
            done[0] += count

    started = time.monotonic()
    yield advance
    seconds = max(time.monotonic() - started, 1e-6)
    rate = human_size(done[0] / seconds)
    stream.write(
        f"{verb} {label}: {human_size(done[0])} in {seconds:.1f} s "
        f"({rate}/s)\n"
    )
    stream.flush()


def for_app(app, label, total, verb):
    """Return progress_bar for a command of app, honouring --quiet."""
    quiet = getattr(app.options, "verbose_level", 1) == 0
    return progress_bar(label, total, app.stderr, quiet=quiet, verb=verb)
