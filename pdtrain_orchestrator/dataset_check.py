"""Validate the files of a dataset version by their content.

CSV, JSON, JSON Lines and Parquet files are read (dataset_formats); ZIP
and tar.gz archives are listed safely and their members of those
formats read (dataset_archives). Any error fails the validation, and a
failed version is never stored; warnings are reported only.
"""

import logging
from pathlib import Path

from pdtrain_orchestrator.dataset_archives import check_tar, check_zip
from pdtrain_orchestrator.dataset_formats import (
    CHECKS,
    FileReport,
    file_type,
)

LOG = logging.getLogger(__name__)

ACCEPTED = ("csv", "json", "jsonl", "parquet", "zip", "tar.gz")
# Messages kept of each kind; the rest are counted in one more line.
MAX_MESSAGES = 20


def check_file(
    name: str, path: Path, parse_bytes: int | None = None
) -> FileReport:
    """Check one stored file by the format its name gives.

    Text files are parsed up to parse_bytes (default
    dataset_formats.FULL_PARSE_BYTES) and only counted after that.
    """
    kind = file_type(name)
    if kind == "zip":
        return check_zip(path, parse_bytes)
    if kind == "tar.gz":
        return check_tar(path, parse_bytes)
    if kind not in CHECKS:
        return FileReport(
            kind,
            warnings=[
                f"content not checked: .{kind} is not one of the checked "
                f"formats ({', '.join(ACCEPTED)})"
            ],
        )
    with open(path, "rb") as stream:
        return CHECKS[kind](stream, parse_bytes)


def _tabular(reports: list[FileReport]) -> list[FileReport]:
    """Return the reports with rows to sum: members stand for archives."""
    found = []
    for report in reports:
        if report.member_count is not None:
            found.extend(report.members)
        else:
            found.append(report)
    return [item for item in found if item.row_count is not None]


def _sum_rows(reports: list[FileReport], warnings: list[str]):
    """Return (rows, columns) summed over files whose columns agree."""
    tabular = _tabular(reports)
    if not tabular:
        return None, None
    widths = {item.column_count for item in tabular}
    if len(widths) > 1:
        shown = ", ".join(str(width) for width in sorted(widths, key=str))
        warnings.append(
            f"files have different column counts ({shown}), so their rows "
            "are not added up"
        )
        return None, None
    return sum(item.row_count for item in tabular), widths.pop()


def _capped(messages: list[str]) -> list[str]:
    if len(messages) <= MAX_MESSAGES:
        return messages
    extra = len(messages) - MAX_MESSAGES
    return messages[:MAX_MESSAGES] + [f"and {extra} more"]


def describe_dataset(
    files: list[tuple[str, Path]],
    archive: str | None,
    parse_bytes: int | None = None,
) -> dict:
    """Return the validation result of a dataset version's files.

    files are (path in the dataset, stored file) pairs. The result has
    status "passed" or "failed", metadata, warnings and errors, and
    each message names its file. The metadata has file_type, and
    row_count and column_count where they apply. Counts are summed over
    files and archive members when their column counts agree. Archives
    add member_count. parse_bytes bounds the parse of each text file
    as in check_file.
    """
    warnings: list[str] = []
    errors: list[str] = []
    reports = []
    for name, path in files:
        report = check_file(name, path, parse_bytes)
        warnings.extend(f"{name}: {text}" for text in report.warnings)
        errors.extend(f"{name}: {text}" for text in report.errors)
        reports.append(report)
    types = {report.file_type for report in reports}
    row_count, column_count = _sum_rows(reports, warnings)
    metadata = {
        "file_type": types.pop() if len(types) == 1 else "mixed",
        "row_count": row_count,
        "column_count": column_count,
    }
    members = [r.member_count for r in reports if r.member_count is not None]
    if members:
        metadata["member_count"] = sum(members)
    if archive:
        metadata["archive"] = archive
    return {
        "status": "failed" if errors else "passed",
        "metadata": metadata,
        "warnings": _capped(warnings),
        "errors": _capped(errors),
    }
