"""Capture a run's process output in files and turn it into log lines.

Processes write straight into ``<run>/logs/stdout.log`` and
``stderr.log``, opened for appending, so every byte they write is in
the file even if the orchestrator dies a moment later. A tailer thread
reads both files and hands complete lines to the run's events in
batches, each line with the byte offset just past it. After a crash the
orchestrator reads each file on from the largest offset it stored (see
reclaim.py), so no line is lost and none is stored twice.
"""

import collections
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

LOG = logging.getLogger(__name__)

STREAMS = ("stdout", "stderr")
# How long the tailer sleeps when neither file has grown. It bounds the
# delay between a line being written and being stored.
POLL_SECONDS = 0.05
READ_BYTES = 1024 * 1024
# A line longer than this is stored in pieces of this size.
MAX_LINE_BYTES = 256 * 1024
TAIL_LINES = 50

# (message, timestamp in epoch ms, byte offset just past the line)
LogLine = tuple[str, int, int]
Deliver = Callable[[str, list[LogLine]], None]


def now_ms() -> int:
    """Return the time in epoch milliseconds."""
    return int(time.time() * 1000)


class OutputFiles:
    """The append-only stdout and stderr files of one run."""

    def __init__(self, log_dir: Path):
        self.log_dir = Path(log_dir)

    def path(self, stream: str) -> Path:
        """Return the file of stream ("stdout" or "stderr")."""
        return self.log_dir / f"{stream}.log"

    def open_for_append(self) -> dict:
        """Open both files for a child process to write to."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        return {stream: open(self.path(stream), "ab") for stream in STREAMS}

    def sizes(self) -> dict[str, int]:
        """Return the current size of each file (0 when missing)."""
        found = {}
        for stream in STREAMS:
            try:
                found[stream] = self.path(stream).stat().st_size
            except FileNotFoundError:
                found[stream] = 0
        return found


@dataclass
class ProcessOutput:
    """Where a process's output goes: the files and the line receiver."""

    files: OutputFiles
    deliver: Deliver


def split_lines(buffer: bytes, start: int, final: bool):
    """Split buffer into lines; return (lines, unused bytes).

    start is the file offset of buffer's first byte. When final is
    True the bytes after the last newline form a line too.
    """
    lines = []
    position = 0
    stamp = now_ms()
    while True:
        end = buffer.find(b"\n", position, position + MAX_LINE_BYTES)
        if end == -1:
            if len(buffer) - position >= MAX_LINE_BYTES:
                end = position + MAX_LINE_BYTES - 1
            elif final and position < len(buffer):
                end = len(buffer) - 1
            else:
                break
        raw = buffer[position : end + 1]
        text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        lines.append((text, stamp, start + end + 1))
        position = end + 1
    return lines, buffer[position:]


class _StreamReader:
    """Read one output file from an offset, keeping a partial line."""

    def __init__(self, path: Path, stream: str, offset: int, tail):
        self.path = path
        self.stream = stream
        self.offset = offset  # file offset of the first unread byte
        self.pending = b""
        self.tail = tail
        self.handle = None

    def read(self, final: bool) -> list[LogLine]:
        if self.handle is None:
            if not self.path.exists():
                return []
            self.handle = open(self.path, "rb")
            self.handle.seek(self.offset)
        data = self.handle.read(READ_BYTES)
        if not data and not (final and self.pending):
            return []
        start = self.offset - len(self.pending)
        self.offset += len(data)
        lines, self.pending = split_lines(
            self.pending + data, start, final and not data
        )
        if self.tail is not None:
            self.tail.extend(text for text, _, _ in lines)
        return lines

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()


class Tailer:
    """Deliver the lines a process appends to its output files.

    The thread polls both files until finish() is called, then reads
    them to the end, partial last lines included.
    """

    def __init__(self, output: ProcessOutput, offsets: dict[str, int]):
        self.output = output
        self.stderr_tail = collections.deque(maxlen=TAIL_LINES)
        self._readers = [
            _StreamReader(
                output.files.path(stream),
                stream,
                offsets.get(stream, 0),
                self.stderr_tail if stream == "stderr" else None,
            )
            for stream in STREAMS
        ]
        self._done = threading.Event()
        self._thread = threading.Thread(
            target=self._loop, name="pdtrain-output-tailer", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def finish(self) -> None:
        """Stop polling and deliver whatever the files still hold."""
        self._done.set()
        self._thread.join()
        while self._read_once(final=True):
            pass
        for reader in self._readers:
            reader.close()

    def _loop(self) -> None:
        while not self._done.is_set():
            try:
                found = self._read_once(final=False)
            except OSError:
                LOG.exception("Reading %s failed", self.output.files.log_dir)
                found = False
            if not found:
                self._done.wait(POLL_SECONDS)

    def _read_once(self, final: bool) -> bool:
        found = False
        for reader in self._readers:
            lines = reader.read(final)
            if lines:
                found = True
                self._deliver(reader.stream, lines)
        return found

    def _deliver(self, stream: str, lines: list[LogLine]) -> None:
        try:
            self.output.deliver(stream, lines)
        except Exception:
            LOG.exception("Could not record %d %s lines", len(lines), stream)
