"""Tunable sizes of uploads, read from the environment.

- ``PDTRAIN_MULTIPART_THRESHOLD``: files of at least this size use a
  multipart upload when the server offers one (default 100MiB).
- ``PDTRAIN_PART_SIZE``: the part size asked for (default 16MiB); the
  server may raise it so that a file fits in 10,000 parts.
- ``PDTRAIN_TRANSFER_WORKERS``: parts sent at once (default 4).

Sizes take a number of bytes or a number with a unit such as 512KiB,
100MiB or 2GiB (KB, MB and GB mean the same binary units).
"""

import dataclasses
import os
import re

from pdtrain_core.exceptions import UsageError

MIB = 1024**2
THRESHOLD_ENV = "PDTRAIN_MULTIPART_THRESHOLD"
PART_SIZE_ENV = "PDTRAIN_PART_SIZE"
WORKERS_ENV = "PDTRAIN_TRANSFER_WORKERS"
MAX_WORKERS = 64

_UNITS = {"": 1, "k": 1024, "m": MIB, "g": 1024**3, "t": 1024**4}
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*", re.I)


@dataclasses.dataclass(frozen=True)
class TransferSettings:
    """Sizes and parallelism of uploads."""

    multipart_threshold: int = 100 * MIB
    part_size: int = 16 * MIB
    workers: int = 4


def parse_size(text: str, name: str) -> int:
    """Return the byte count of text such as "100MiB"; raise UsageError."""
    match = _SIZE.fullmatch(text)
    if match is None:
        raise UsageError(
            f"Invalid {name}={text!r}: use bytes or a size such as 100MiB"
        )
    number, unit = match.groups()
    return int(float(number) * _UNITS[unit.lower()])


def from_environ(environ=None) -> TransferSettings:
    """Return the settings, with environment values over the defaults."""
    environ = os.environ if environ is None else environ
    defaults = TransferSettings()
    threshold = environ.get(THRESHOLD_ENV)
    part_size = environ.get(PART_SIZE_ENV)
    workers = environ.get(WORKERS_ENV)
    if workers is not None and (
        not workers.strip().isdigit() or not 1 <= int(workers) <= MAX_WORKERS
    ):
        raise UsageError(
            f"Invalid {WORKERS_ENV}={workers!r}: use a whole number from 1 "
            f"to {MAX_WORKERS}"
        )
    return TransferSettings(
        multipart_threshold=(
            parse_size(threshold, THRESHOLD_ENV)
            if threshold
            else defaults.multipart_threshold
        ),
        part_size=(
            parse_size(part_size, PART_SIZE_ENV)
            if part_size
            else defaults.part_size
        ),
        workers=int(workers) if workers else defaults.workers,
    )
