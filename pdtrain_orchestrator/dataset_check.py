"""Describe the files of a dataset version: type, rows and columns."""

import csv
import logging
from pathlib import Path

LOG = logging.getLogger(__name__)

# Rows whose width differs from the header are reported up to this many.
MAX_ROW_WARNINGS = 5


def file_type(name: str) -> str:
    """Return the type of a file from its extension, such as 'csv'."""
    lowered = name.lower()
    for double in (".tar.gz", ".tar.bz2", ".tar.xz"):
        if lowered.endswith(double):
            return double[1:]
    suffix = Path(lowered).suffix
    return suffix[1:] if suffix else "unknown"


def count_csv(path: Path, name: str, warnings: list[str]):
    """Return (rows without the header, columns) of a CSV file.

    Returns (None, None) and adds a warning when the file is not UTF-8
    text or not CSV.
    """
    rows = 0
    columns = 0
    uneven = 0
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            columns = len(header) if header else 0
            for row in reader:
                rows += 1
                if row and len(row) != columns:
                    uneven += 1
                    if uneven <= MAX_ROW_WARNINGS:
                        warnings.append(
                            f"{name}: row {rows} has {len(row)} columns, "
                            f"the header has {columns}"
                        )
    except (UnicodeDecodeError, csv.Error) as error:
        warnings.append(f"{name}: not readable as UTF-8 CSV ({error})")
        return None, None
    if uneven > MAX_ROW_WARNINGS:
        warnings.append(
            f"{name}: {uneven - MAX_ROW_WARNINGS} more uneven rows"
        )
    if header is None:
        warnings.append(f"{name}: file is empty")
    return rows, columns


def _csv_metadata(files: list[tuple[str, Path]], warnings: list[str]):
    total_rows = 0
    widths = set()
    for name, path in files:
        rows, columns = count_csv(path, name, warnings)
        if rows is None:
            return None, None
        total_rows += rows
        widths.add(columns)
    if len(widths) > 1:
        warnings.append(
            f"CSV files have different column counts: {sorted(widths)}"
        )
    column_count = widths.pop() if len(widths) == 1 else None
    return total_rows, column_count


def describe_dataset(
    files: list[tuple[str, Path]], archive: str | None
) -> dict:
    """Return the validation result of a dataset version's files.

    files are (path in the dataset, stored file) pairs. CSV data gets
    row_count (header excluded, summed over files) and column_count.
    """
    warnings: list[str] = []
    types = {file_type(name) for name, _ in files}
    kind = types.pop() if len(types) == 1 else "mixed"
    row_count = column_count = None
    if kind == "csv" and archive is None:
        row_count, column_count = _csv_metadata(files, warnings)
    metadata = {
        "file_type": kind,
        "row_count": row_count,
        "column_count": column_count,
    }
    if archive:
        metadata["archive"] = archive
    return {
        "status": "passed",
        "metadata": metadata,
        "warnings": warnings,
        "errors": [],
    }
