"""Helpers of the transfer tests (fixtures are in conftest.py)."""

import hashlib
import os
import signal
import subprocess
import time

from tests.functional.conftest import PDTRAIN

MIB = 1024 * 1024
PART = 5 * MIB


def write_random(path, size):
    """Write size bytes of random CSV text to path; return their sha256.

    Dataset uploads are validated by content, so the bytes form a
    one-column CSV file: a header, then lines of random hex digits.
    """
    digits = os.urandom(size // 2 + 1).hex()
    lines = [digits[i : i + 63] for i in range(0, len(digits), 63)]
    data = ("data\n" + "\n".join(lines)).encode()[:size]
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def sha256_of(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def interrupt_when(cli, args, ready, timeout=60):
    """Run the CLI, send SIGINT once ready() is true; return the result."""
    process = subprocess.Popen(
        [PDTRAIN, *map(str, args)],
        env=cli.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + timeout
    while not ready() and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=30)
    return subprocess.CompletedProcess(
        args, process.returncode, stdout, stderr
    )
