"""Check ZIP and tar.gz datasets: list them safely, read known members.

Member paths, links and sizes go through the same checks as extraction
(pdtrain_core.archive), so a dataset that passes here also unpacks.
Members in a format with a content check are read one at a time; the
others are counted only.
"""

import contextlib
import functools
import logging
import posixpath
import shutil
import stat
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from pdtrain_core import archive
from pdtrain_orchestrator.dataset_formats import (
    CHECKS,
    FileReport,
    file_type,
)

LOG = logging.getLogger(__name__)

# Maximum bytes of a symbolic-link target read from a ZIP member.
MAX_LINK_BYTES = 4096
# Checks that need to seek; their members are copied to a temporary file.
SEEKING_TYPES = ("parquet",)
# Errors reading a member's bytes: damaged data, a bad CRC, an
# unsupported compression method.
MEMBER_ERRORS = (
    OSError,
    EOFError,
    zlib.error,
    zipfile.BadZipFile,
    tarfile.TarError,
    NotImplementedError,
)

# Opens one member for reading: () -> a context manager of a binary file.
Opener = Callable[[], contextlib.AbstractContextManager[BinaryIO]]


def _is_metadata(name: str) -> bool:
    """Tell macOS resource-fork copies apart from data members."""
    base = posixpath.basename(name)
    return name.startswith("__MACOSX/") or base.startswith("._")


def _checked_names(names: list[str]) -> list[str]:
    return [
        name
        for name in names
        if file_type(name) in CHECKS and not _is_metadata(name)
    ]


def check_tar(path: Path, parse_bytes: int | None = None) -> FileReport:
    """List a tar archive with extract's checks and read its known members."""
    report = FileReport("tar.gz")
    try:
        summary = archive.check(path)
    except archive.ArchiveError as error:
        report.errors.append(f"is not safe to unpack: {error}")
        return report
    checked = set(_checked_names(summary.files))
    _record_members(report, summary.files, checked)
    if not checked:
        return report
    try:
        with tarfile.open(path, mode="r:*") as tar:
            for member in tar:
                if member.isfile() and member.name in checked:
                    opener = functools.partial(tar.extractfile, member)
                    _check_member(report, member.name, opener, parse_bytes)
    except (tarfile.TarError, EOFError, OSError) as error:
        report.errors.append(f"is damaged: {error}")
    return report


def check_zip(path: Path, parse_bytes: int | None = None) -> FileReport:
    """List a ZIP archive with extract's checks and read its known members."""
    report = FileReport("zip")
    try:
        with zipfile.ZipFile(path) as bundle:
            files = _safe_zip_files(bundle, report)
            if report.errors:
                return report
            checked = _checked_names(files)
            _record_members(report, files, set(checked))
            for name in checked:
                opener = functools.partial(bundle.open, name)
                _check_member(report, name, opener, parse_bytes)
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        report.errors.append(f"is not a ZIP archive or is damaged ({error})")
    return report


def _safe_zip_files(bundle: zipfile.ZipFile, report: FileReport):
    """Return the regular file names, or add an error for an unsafe one."""
    files, total = [], 0
    infos = bundle.infolist()
    if len(infos) > archive.MAX_MEMBERS:
        report.errors.append(
            f"has {len(infos)} entries, over the limit of "
            f"{archive.MAX_MEMBERS}"
        )
        return files
    for info in infos:
        total += info.file_size
        try:
            member = _as_tar_member(bundle, info)
            archive.check_member(member)
        except archive.ArchiveError as error:
            report.errors.append(f"is not safe to unpack: {error}")
            return files
        if info.flag_bits & 0x1:
            report.errors.append(
                f"member {info.filename!r} is encrypted and cannot be read"
            )
            return files
        if member.isfile():
            files.append(info.filename)
    if total > archive.MAX_EXTRACTED_BYTES:
        report.errors.append(
            f"unpacks to {total} bytes, over the limit of "
            f"{archive.MAX_EXTRACTED_BYTES}; it may be a decompression bomb"
        )
    return files


def _as_tar_member(bundle, info: zipfile.ZipInfo) -> tarfile.TarInfo:
    """Describe a ZIP entry as a tar member for archive.check_member."""
    member = tarfile.TarInfo(info.filename)
    member.size = info.file_size
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        # A ZIP symbolic link stores its target as the member's data.
        member.type = tarfile.SYMTYPE
        with bundle.open(info) as handle:
            target = handle.read(MAX_LINK_BYTES)
        member.linkname = target.decode("utf-8", "replace")
    elif info.is_dir():
        member.type = tarfile.DIRTYPE
    return member


def _record_members(report, files, checked) -> None:
    report.member_count = len(files)
    report.checked_members = len(checked)
    if not files:
        report.warnings.append("has no files")


def _check_member(
    report: FileReport, name: str, opener: Opener, parse_bytes: int | None
) -> None:
    """Read one member with its format's check and merge the findings."""
    kind = file_type(name)
    try:
        with _member_stream(opener, kind) as stream:
            found = CHECKS[kind](stream, parse_bytes)
    except MEMBER_ERRORS as error:
        found = FileReport(kind, errors=[f"cannot be read ({error})"])
    prefix = f"member {name!r}"
    report.errors.extend(f"{prefix} {text}" for text in found.errors)
    report.warnings.extend(f"{prefix} {text}" for text in found.warnings)
    report.members.append(found)


@contextlib.contextmanager
def _member_stream(opener: Opener, kind: str) -> Iterator:
    with opener() as source:
        if kind not in SEEKING_TYPES:
            yield source
            return
        # Seeking back in a compressed stream decompresses it again from
        # the start, so a member that needs seeks is read from a copy.
        with tempfile.TemporaryFile(prefix="pdtrain-member-") as copy:
            shutil.copyfileobj(source, copy, archive.READ_SIZE)
            copy.seek(0)
            yield copy
