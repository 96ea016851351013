"""Validate an uploaded bundle archive before it becomes a bundle."""

import dataclasses
import logging
import posixpath
from pathlib import Path

from pdtrain_core.archive import ArchiveError, check
from pdtrain_orchestrator.errors import Invalid

LOG = logging.getLogger(__name__)

GZIP_MAGIC = b"\x1f\x8b"
# A bundle may unpack to this many times the largest accepted upload
# (Settings.max_bundle_bytes); more is rejected as a likely decompression
# bomb. Source code and small assets compress about 3 to 5 times.
UNPACK_RATIO = 4
DEFAULT_ENTRY = "train.py"


@dataclasses.dataclass
class BundleCheck:
    """Findings of the validation of a bundle archive."""

    total_files: int
    has_requirements_txt: bool
    entry_point_verified: bool
    warnings: list[str]


def check_entry(entry: str) -> str:
    """Return entry if it is a relative path inside the bundle."""
    normalized = posixpath.normpath(entry)
    if (
        not entry
        or entry.startswith("/")
        or normalized.startswith("..")
        or "\\" in entry
        or "\x00" in entry
    ):
        raise Invalid(
            f"invalid entry {entry!r}: give a path relative to the bundle "
            "root, such as 'train.py'"
        )
    return normalized


def _extract_names(path: Path, max_unpacked_bytes: int) -> set[str]:
    """Return the file names of the bundle after extract's safety checks.

    Reading the member headers is enough, so nothing is written to disk.
    """
    with open(path, "rb") as handle:
        if handle.read(2) != GZIP_MAGIC:
            raise Invalid(
                "bundle is not a gzip-compressed tar archive (.tar.gz)"
            )
    try:
        summary = check(path, max_bytes=max_unpacked_bytes)
    except ArchiveError as error:
        raise Invalid(f"invalid bundle archive: {error}") from error
    return {posixpath.normpath(name) for name in summary.files}


def _top_folder(names: set[str]) -> str | None:
    tops = {name.split("/", 1)[0] for name in names}
    if len(tops) == 1 and all("/" in name for name in names):
        return tops.pop()
    return None


def check_bundle(
    path: Path, entry: str, tmp_dir: Path, max_unpacked_bytes: int
) -> BundleCheck:
    """Extract the archive at path into a scratch folder and inspect it.

    Raises Invalid when the file is not a tar.gz, is unsafe to extract
    or contains no files. A missing entry point is only a warning, because
    a run may name another entry.
    """
    names = _extract_names(path, max_unpacked_bytes)
    if not names:
        raise Invalid("bundle archive contains no files")

    warnings = []
    verified = entry in names
    if not verified:
        message = f"entry point {entry!r} is not in the bundle root"
        top = _top_folder(names)
        if top:
            message += (
                f"; every file is under {top + '/'!r}, so pack the "
                "folder's contents instead of the folder"
            )
        warnings.append(message)
    return BundleCheck(
        total_files=len(names),
        has_requirements_txt="requirements.txt" in names,
        entry_point_verified=verified,
        warnings=warnings,
    )
