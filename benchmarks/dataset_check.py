"""Time the server's content check of a large CSV and JSON Lines file.

The anchor, timed in the same run, reads the file in 8 MiB blocks and
counts its newline bytes, which is the least any row count can cost.
Each check is reported in MB/s and as a ratio to the anchor. With
--full the check also runs with no parse bound, as every file was
checked before the bound existed. The bound is the server's default
unless --bound-mb sets it; a file smaller than the bound is parsed
whole either way.

    .venv/bin/python benchmarks/dataset_check.py --size-mb 500
    .venv/bin/python benchmarks/dataset_check.py --size-mb 200 --full
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from pdtrain_orchestrator import dataset_check, dataset_formats

BLOCK = 8 * 1024 * 1024
CHUNK_ROWS = 20_000


def _csv_chunk() -> bytes:
    rows = (
        f"{i},{i * 0.37:.4f},label_{i % 7},\"text, with a comma {i}\"\n"
        for i in range(CHUNK_ROWS)
    )
    return "".join(rows).encode()


def _jsonl_chunk() -> bytes:
    rows = (
        f'{{"id": {i}, "x": {i * 0.37:.4f}, "label": "label_{i % 7}"}}\n'
        for i in range(CHUNK_ROWS)
    )
    return "".join(rows).encode()


def write_file(path: Path, header: bytes, chunk: bytes, size: int) -> None:
    """Write header, then chunk repeated until the file reaches size."""
    with open(path, "wb") as out:
        out.write(header)
        written = len(header)
        while written < size:
            out.write(chunk)
            written += len(chunk)


def anchor_seconds(path: Path) -> float:
    """Return the time to read path in blocks and count its newlines."""
    started = time.perf_counter()
    lines = 0
    with open(path, "rb") as stream:
        while block := stream.read(BLOCK):
            lines += block.count(b"\n")
    return time.perf_counter() - started


def check_seconds(path: Path, bound: int | None):
    """Return (seconds, report) of one content check under bound."""
    saved = dataset_formats.FULL_PARSE_BYTES
    dataset_formats.FULL_PARSE_BYTES = bound
    try:
        started = time.perf_counter()
        report = dataset_check.check_file(path.name, path)
        return time.perf_counter() - started, report
    finally:
        dataset_formats.FULL_PARSE_BYTES = saved


def measure(path: Path, bound: int, full: bool) -> None:
    """Print the anchor and the check timings for one file."""
    size_mb = path.stat().st_size / 1e6
    anchor = anchor_seconds(path)
    print(f"{path.name}: {size_mb:.0f} MB")
    print(f"  anchor (read + count newlines): {anchor:.2f} s")
    bounds = [bound]
    if full:
        bounds.append(sys.maxsize)
    for bound in bounds:
        seconds, report = check_seconds(path, bound)
        label = "no bound" if bound == sys.maxsize else f"bound {bound:,} B"
        print(
            f"  check, {label}: {seconds:.2f} s, "
            f"{size_mb / seconds:.0f} MB/s, {seconds / anchor:.1f}x anchor, "
            f"{report.row_count:,} rows, {len(report.errors)} errors"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--size-mb",
        type=int,
        default=500,
        help="size of each generated file in MB (10**6 bytes)",
    )
    parser.add_argument(
        "--bound-mb",
        type=int,
        default=dataset_formats.FULL_PARSE_BYTES // 1024**2,
        help="parse bound in MiB (default: the server's default)",
    )
    parser.add_argument(
        "--full",
        action="store_true",
        help="also time the check with no parse bound",
    )
    args = parser.parse_args()
    if args.size_mb < 1:
        parser.error(f"--size-mb {args.size_mb} is too small; use 1 or more")
    if args.bound_mb < 1:
        parser.error(f"--bound-mb {args.bound_mb} is too small; use 1 or more")
    size = args.size_mb * 1_000_000
    with tempfile.TemporaryDirectory(prefix="pdtrain-bench-") as scratch:
        for name, header, chunk in (
            ("data.csv", b"id,x,label,text\n", _csv_chunk()),
            ("data.jsonl", b"", _jsonl_chunk()),
        ):
            path = Path(scratch) / name
            write_file(path, header, chunk, size)
            measure(path, args.bound_mb * 1024**2, args.full)
            os.unlink(path)


if __name__ == "__main__":
    main()
