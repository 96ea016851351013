"""Write one gzip member, compressing fixed-size blocks in parallel.

The technique is pigz's: every block is compressed on its own as raw
deflate, primed with the last 32 KiB of the block before it and ended
with a sync flush, so the blocks joined in order form one valid deflate
stream. zlib releases the GIL while it compresses, so threads use every
core. The output depends only on the input, not on the thread count, so
the same files always give the same bytes.

A block whose first 64 KiB do not shrink at level 1 (model weights,
images, already compressed files) is stored without compression, which
costs nothing and loses almost nothing.
"""

import collections
import concurrent.futures
import io
import os
import struct
import zlib

BLOCK_SIZE = 1024 * 1024
WINDOW = 32 * 1024
SAMPLE = 64 * 1024
# A sample that compresses to more than this share of its size is
# treated as incompressible.
STORE_RATIO = 0.97
# gzip header: magic, deflate, no flags, mtime 0, no extra flags, OS
# unknown. A fixed header keeps the output reproducible.
HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"


def _compress_block(block: bytes, window: bytes, level: int) -> bytes:
    sample = block[:SAMPLE]
    if level and len(sample) == SAMPLE:
        trial = zlib.compress(sample, 1)
        if len(trial) > STORE_RATIO * len(sample):
            level = 0
    if window and level:
        compressor = zlib.compressobj(level, zlib.DEFLATED, -15, zdict=window)
    else:
        compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
    return compressor.compress(block) + compressor.flush(zlib.Z_SYNC_FLUSH)


class ParallelGzipWriter(io.RawIOBase):
    """A write-only file that gzips into raw (another binary file).

    close() writes the end of the stream but leaves raw open.
    """

    def __init__(self, raw, level: int = 1, workers: int | None = None):
        self._raw = raw
        self._level = level
        self._workers = workers or min(4, os.cpu_count() or 1)
        self._pool = concurrent.futures.ThreadPoolExecutor(self._workers)
        self._pending = collections.deque()
        self._buffer = bytearray()
        self._window = b""
        self._crc = 0
        self._size = 0
        raw.write(HEADER)

    def writable(self) -> bool:
        return True

    def tell(self) -> int:
        """Return the number of uncompressed bytes written so far."""
        return self._size + len(self._buffer)

    def write(self, data) -> int:
        self._buffer += data
        while len(self._buffer) >= BLOCK_SIZE:
            self._submit(bytes(self._buffer[:BLOCK_SIZE]))
            del self._buffer[:BLOCK_SIZE]
        return len(data)

    def _submit(self, block: bytes) -> None:
        self._crc = zlib.crc32(block, self._crc)
        self._size += len(block)
        future = self._pool.submit(
            _compress_block, block, self._window, self._level
        )
        self._window = block[-WINDOW:]
        self._pending.append(future)
        # Two blocks per worker in flight bound the memory in use.
        while len(self._pending) > 2 * self._workers:
            self._raw.write(self._pending.popleft().result())

    def close(self) -> None:
        if self.closed:
            return
        try:
            if self._buffer:
                self._submit(bytes(self._buffer))
                self._buffer.clear()
            while self._pending:
                self._raw.write(self._pending.popleft().result())
            # An empty final block ends the deflate stream.
            self._raw.write(zlib.compressobj(0, zlib.DEFLATED, -15).flush())
            self._raw.write(
                struct.pack("<II", self._crc, self._size & 0xFFFFFFFF)
            )
        finally:
            self._pool.shutdown(cancel_futures=True)
            super().close()
