"""A sha256 fed from a background thread.

hashlib releases the GIL while it hashes, so a thread that hashes the
blocks a transfer has just sent or received overlaps hashing with the
network and disk work. In two-core loopback runs of a 2 GiB download,
hashing in the receiving thread held pdtrain to about half of curl's
rate.

A download can also borrow the hasher's own buffers (take, submit):
reading the socket straight into a reused buffer saves an allocation
and a copy per block, which cut the download's system time by half.
Buffers of 1 MiB hand over four times fewer blocks between the threads
than 256 KiB ones. With the two cores shared by other work (load
average 7 to 9, medians of three runs), that took the client's CPU
time for a 2 GiB download from about 6.7 s to 5.2 s.
"""

import hashlib
import queue
import threading

BUFFER_SIZE = 1024 * 1024
BUFFER_COUNT = 4
# Items waiting to be hashed. With blocks of at most 2 MiB per item this
# bounds the memory a slow hash holds.
MAX_PENDING = 8
_END = None


class ThreadedSha256:
    """update() queues bytes; hexdigest() waits for the last of them."""

    def __init__(self):
        self._digest = hashlib.sha256()
        self._pending = queue.Queue(MAX_PENDING)
        self._free: queue.Queue = queue.Queue()
        self._buffers = 0
        self._result = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (item := self._pending.get()) is not _END:
            blocks, buffer, size = item
            for block in blocks:
                self._digest.update(block)
            if buffer is not None:
                self._digest.update(memoryview(buffer)[:size])
                self._free.put(buffer)

    def update(self, block: bytes) -> None:
        """Queue block (bytes, never changed afterwards) for hashing."""
        self._pending.put(((block,), None, 0))

    def update_many(self, blocks: list) -> None:
        """Queue several blocks at once, which wakes the thread once."""
        self._pending.put((blocks, None, 0))

    def take(self) -> bytearray:
        """Return a free buffer of BUFFER_SIZE bytes to read into."""
        if self._free.empty() and self._buffers < BUFFER_COUNT:
            self._buffers += 1
            return bytearray(BUFFER_SIZE)
        return self._free.get()

    def submit(self, buffer: bytearray, size: int) -> None:
        """Hash the first size bytes of a taken buffer, then free it."""
        self._pending.put(((), buffer, size))

    def give_back(self, buffer: bytearray) -> None:
        """Return a taken buffer unused."""
        self._free.put(buffer)

    def hexdigest(self) -> str:
        """Return the hex sha256 of everything queued so far, and stop."""
        if self._result is None:
            self.close()
            self._result = self._digest.hexdigest()
        return self._result

    def close(self) -> None:
        """Stop the thread once the queued blocks are hashed."""
        if self._thread.is_alive():
            self._pending.put(_END)
            self._thread.join()
