"""Transfer progress: a rich bar on a terminal, a summary line elsewhere."""

import io
import time

from pdtrain_core import progress

MIB = 1024 * 1024


class Terminal(io.StringIO):
    def isatty(self):
        return True


def _transfer(stream, steps=6):
    with progress.progress_bar("data.csv", steps * 8 * MIB, stream) as advance:
        for _ in range(steps):
            advance(8 * MIB)
            time.sleep(0.06)


def test_terminal_bar_shows_binary_rate():
    stream = Terminal()

    _transfer(stream)

    shown = stream.getvalue()
    assert "data.csv" in shown
    assert "MiB/s" in shown
    assert "MB/s" not in shown


def test_pipe_gets_one_summary_line():
    stream = io.StringIO()

    _transfer(stream)

    lines = stream.getvalue().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Transferred data.csv: 48.0 MiB in ")
    assert lines[0].endswith("MiB/s)")
