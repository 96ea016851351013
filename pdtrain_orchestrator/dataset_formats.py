"""Read the content of one dataset file: CSV, JSON, JSON Lines, Parquet.

Each check reads a binary stream (Parquet: a seekable file) and returns
a FileReport. Messages do not name the file; the caller adds the name,
so the same checks serve plain files and archive members.
"""

import csv
import dataclasses
import json
import logging
from typing import BinaryIO

from pdtrain_orchestrator.dataset_counts import count_csv_records, count_lines

LOG = logging.getLogger(__name__)

# CSV and JSON Lines files are parsed up to this many bytes. Parsing
# stops after the first row that ends at or past it, and the rest is only
# counted by line breaks (dataset_counts). The server's
# `dataset_full_parse_mb` setting replaces it per call. Checks read it
# when they run, so tests and benchmarks can change it.
FULL_PARSE_BYTES = 256 * 1024 * 1024

# csv's default limit of 128 Ki characters per field rejects real text
# datasets; a field past this limit is reported as an error.
MAX_CSV_FIELD = 16 * 1024 * 1024
# A JSON document is parsed whole, which takes several times its size
# in memory, so larger documents are not parsed (JSON Lines files are
# read line by line at any size).
MAX_JSON_BYTES = 100 * 1024 * 1024
# Distinct keys tracked to count JSON columns; past this, no count.
MAX_KEYS = 10_000
# Rows whose width differs from the header are reported up to this many.
MAX_ROW_WARNINGS = 5
PARQUET_MAGIC = b"PAR1"
PARQUET_EXTRA = "pip install 'pdtrain[parquet]'"


@dataclasses.dataclass
class FileReport:
    """Findings of a content check of one file or archive member."""

    file_type: str
    row_count: int | None = None
    column_count: int | None = None
    warnings: list[str] = dataclasses.field(default_factory=list)
    errors: list[str] = dataclasses.field(default_factory=list)
    # Files inside an archive, and how many of them had a content check.
    member_count: int | None = None
    checked_members: int | None = None
    # Reports of the members that had a content check.
    members: list["FileReport"] = dataclasses.field(default_factory=list)


class _BadLine(Exception):
    """A line of a text file is not UTF-8."""

    def __init__(self, number: int):
        super().__init__(f"line {number} is not UTF-8 text")
        self.number = number


class _Utf8Lines:
    """Decoded lines of a binary stream and the bytes read so far."""

    def __init__(self, stream: BinaryIO):
        self.stream = stream
        self.bytes_read = 0

    def __iter__(self):
        """Yield each line decoded, raising _BadLine with its number."""
        for number, raw in enumerate(self.stream, 1):
            self.bytes_read += len(raw)
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise _BadLine(number) from None
            if number == 1:
                line = line.removeprefix("\ufeff")
            yield line


def _parse_bound(parse_bytes: int | None) -> int:
    return FULL_PARSE_BYTES if parse_bytes is None else parse_bytes


def _size_text(size: int) -> str:
    if size % 1024**2 == 0:
        return f"{size // 1024**2} MiB"
    return f"{size:,} bytes"


def _bound_warning(bound: int) -> str:
    return (
        f"only the first {_size_text(bound)} were parsed; rows after that "
        "were counted by line breaks without checking their content, so "
        "row_count is an estimate"
    )


def check_csv(stream: BinaryIO, parse_bytes: int | None = None) -> FileReport:
    """Check that stream is UTF-8 CSV with a header; count rows, columns.

    Rows are parsed up to parse_bytes (default FULL_PARSE_BYTES) and
    only counted after that.
    """
    report = FileReport("csv")
    csv.field_size_limit(MAX_CSV_FIELD)
    lines = _Utf8Lines(stream)
    reader = csv.reader(lines)
    try:
        header = next(reader, None)
        if header is None:
            report.errors.append("is empty; a CSV file needs a header row")
            return report
        report.column_count = len(header)
        _check_header(header, report)
        bound = _parse_bound(parse_bytes)
        report.row_count, stopped = _count_rows(reader, lines, report, bound)
        # csv.reader reads no further than the row it returned, so the
        # stream is at a row boundary, outside any quotes.
        extra = count_csv_records(stream) if stopped else 0
        if extra:
            report.row_count += extra
            report.warnings.append(_bound_warning(bound))
    except _BadLine as error:
        report.errors.append(str(error))
    except csv.Error as error:
        report.errors.append(f"line {reader.line_num}: {error}")
    return report


def _check_header(header: list[str], report: FileReport) -> None:
    names = [name.strip() for name in header]
    if any(not name for name in names):
        report.warnings.append("the header has an empty column name")
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        report.warnings.append(
            f"the header repeats column names: {', '.join(duplicates)}"
        )
    if all(_is_number(name) for name in names):
        report.warnings.append(
            "every header field is a number, so the first row may be data "
            "rather than column names"
        )


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _count_rows(reader, lines: _Utf8Lines, report: FileReport, bound: int):
    """Parse rows until one ends at or past bound bytes.

    Returns the row count and whether parsing stopped before the end.
    """
    width = report.column_count
    rows = uneven = 0
    stopped = False
    for row in reader:
        if not row:
            continue
        rows += 1
        if len(row) != width:
            uneven += 1
            if uneven <= MAX_ROW_WARNINGS:
                report.warnings.append(
                    f"line {reader.line_num} has {_fields(len(row))}, the "
                    f"header has {width}"
                )
        if lines.bytes_read >= bound:
            stopped = True
            break
    if uneven > MAX_ROW_WARNINGS:
        report.warnings.append(
            f"{uneven - MAX_ROW_WARNINGS} more rows have a different "
            "number of fields than the header"
        )
    if rows == 0:
        report.warnings.append("has a header but no data rows")
    return rows, stopped


class _Columns:
    """Distinct keys of JSON records, and whether records disagree."""

    def __init__(self):
        self.keys: set[str] | None = set()
        self.first: set[str] | None = None
        self.differ = False
        self.non_objects = 0

    def add(self, record) -> None:
        if not isinstance(record, dict):
            self.non_objects += 1
            return
        if self.first is None:
            self.first = set(record)
        elif record.keys() == self.first:
            # The common case: the same keys as the first record.
            return
        else:
            self.differ = True
        if self.keys is not None:
            self.keys.update(record)
            if len(self.keys) > MAX_KEYS:
                self.keys = None

    def finish(self, report: FileReport) -> None:
        """Set the column count and warn about uneven records."""
        if self.non_objects:
            report.warnings.append(
                f"{self.non_objects} records are not JSON objects, so "
                "there is no column count"
            )
            return
        if self.keys is None:
            report.warnings.append(
                f"records have more than {MAX_KEYS} distinct keys, so "
                "there is no column count"
            )
            return
        report.column_count = len(self.keys)
        if self.differ:
            report.warnings.append(
                "records do not all have the same keys; the column count "
                "is the number of distinct keys"
            )


def check_json(
    stream: BinaryIO, parse_bytes: int | None = None
) -> FileReport:
    """Check that stream is one JSON document; count an array's records.

    A document over parse_bytes (default FULL_PARSE_BYTES) or over
    MAX_JSON_BYTES is not parsed, because json parses a whole document
    or nothing.
    """
    # TODO: a large top-level array could be parsed record by record up
    # to the bound and its other records counted. Remove once it is.
    report = FileReport("json")
    limit = min(MAX_JSON_BYTES, _parse_bound(parse_bytes))
    data = stream.read(limit + 1)
    if len(data) > limit:
        report.warnings.append(
            f"is larger than {_size_text(limit)}, so its content was not "
            "checked; JSON Lines (.jsonl) is checked at any size"
        )
        return report
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        report.errors.append(f"line {line} is not UTF-8 text")
        return report
    except json.JSONDecodeError as error:
        report.errors.append(
            f"line {error.lineno} column {error.colno}: invalid JSON "
            f"({error.msg})"
        )
        return report
    _describe_document(document, report)
    return report


def _describe_document(document, report: FileReport) -> None:
    if not isinstance(document, list):
        report.warnings.append(
            "the top level is not an array of records, so there are no "
            "row and column counts"
        )
        return
    columns = _Columns()
    for record in document:
        columns.add(record)
    report.row_count = len(document)
    columns.finish(report)


def check_jsonl(
    stream: BinaryIO, parse_bytes: int | None = None
) -> FileReport:
    """Check that every line of stream is JSON; stop at the first bad one.

    Lines are parsed up to parse_bytes (default FULL_PARSE_BYTES) and
    only counted after that.
    """
    report = FileReport("jsonl")
    columns = _Columns()
    bound = _parse_bound(parse_bytes)
    rows = bytes_read = 0
    for number, raw in enumerate(stream, 1):
        bytes_read += len(raw)
        if not raw.strip():
            continue
        try:
            record = json.loads(raw.removeprefix(b"\xef\xbb\xbf"))
        except UnicodeDecodeError:
            report.errors.append(f"line {number} is not UTF-8 text")
            return report
        except json.JSONDecodeError as error:
            report.errors.append(
                f"line {number} is not valid JSON ({error.msg} at column "
                f"{error.colno})"
            )
            return report
        rows += 1
        columns.add(record)
        if bytes_read >= bound:
            extra = count_lines(stream)
            if extra:
                rows += extra
                report.warnings.append(_bound_warning(bound))
            break
    report.row_count = rows
    if rows == 0:
        report.warnings.append("has no records")
        return report
    columns.finish(report)
    return report


def check_parquet(
    stream: BinaryIO, parse_bytes: int | None = None
) -> FileReport:
    """Check the Parquet markers, then read the schema and row count.

    stream must be seekable. Without pyarrow only the markers are
    checked, and a warning reports that. parse_bytes is not used: only
    the footer is read, whatever the file's size.
    """
    report = FileReport("parquet")
    head = stream.read(4)
    size = stream.seek(0, 2)
    stream.seek(max(size - 4, 0))
    tail = stream.read(4)
    if size < 12 or head != PARQUET_MAGIC or tail != PARQUET_MAGIC:
        report.errors.append(
            "is not a Parquet file: it does not start and end with PAR1"
        )
        return report
    try:
        import pyarrow
        import pyarrow.parquet as parquet
    except ImportError:
        report.warnings.append(
            "rows and columns were not counted because the server lacks "
            f"pyarrow ({PARQUET_EXTRA} on the server adds it)"
        )
        return report
    stream.seek(0)
    try:
        found = parquet.ParquetFile(stream)
        report.row_count = found.metadata.num_rows
        report.column_count = len(found.schema_arrow)
    except (pyarrow.ArrowException, OSError, ValueError) as error:
        report.errors.append(f"cannot be read as Parquet ({error})")
    return report


CHECKS = {
    "csv": check_csv,
    "json": check_json,
    "jsonl": check_jsonl,
    "parquet": check_parquet,
}
def file_type(name: str) -> str:
    """Return the type of a file from its extension, such as 'csv'.

    .tgz counts as tar.gz; a name without an extension is 'unknown'.
    """
    lowered = name.lower()
    if lowered.endswith((".tar.gz", ".tgz")):
        return "tar.gz"
    for double in (".tar.bz2", ".tar.xz"):
        if lowered.endswith(double):
            return double[1:]
    _, dot, suffix = lowered.rpartition("/")[2].rpartition(".")
    return suffix if dot and suffix else "unknown"


def _fields(count: int) -> str:
    return "1 field" if count == 1 else f"{count} fields"
