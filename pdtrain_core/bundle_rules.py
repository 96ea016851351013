"""What a training-code bundle must contain, checked on both sides.

`bundle upload` applies these rules before it sends anything, and the
orchestrator applies them again at finalize, so the two report the same
findings in the same words. This module imports nothing from either
side.
"""

import dataclasses
import posixpath
from collections.abc import Iterable

DEFAULT_ENTRY = "train.py"
REQUIREMENTS_FILE = "requirements.txt"
# A bundle may unpack to this many times the largest accepted upload
# (max_single_bundle_size_mb); more is rejected as a likely
# decompression bomb. Source code and small assets compress 3 to 5
# times.
UNPACK_RATIO = 4
# NOTE: a product limit, not a format one. Training code with more files
# than this is almost always a dataset or a virtual environment packed
# by mistake, and each file costs the executor an extraction step.
MAX_FILES = 100_000


class InvalidEntry(ValueError):
    """An entry point that is not a relative path inside the bundle."""


@dataclasses.dataclass
class Findings:
    """Results of checking a bundle's file names against the rules."""

    total_files: int
    has_requirements_txt: bool
    entry_point_verified: bool
    errors: list[str]
    warnings: list[str]


def normalize_entry(entry: str) -> str:
    """Return entry as a normalized path relative to the bundle root.

    Raises InvalidEntry for an empty, absolute or escaping path.
    """
    normalized = posixpath.normpath(entry) if entry else ""
    if (
        not entry
        or entry.startswith("/")
        or normalized.startswith("..")
        or "\\" in entry
        or "\x00" in entry
    ):
        raise InvalidEntry(
            f"invalid entry {entry!r}: give a path relative to the bundle "
            "root, such as 'train.py'"
        )
    return normalized


def top_folder(names: set[str]) -> str | None:
    """Return the one folder every file is under, if there is one."""
    tops = {name.split("/", 1)[0] for name in names}
    if len(tops) == 1 and all("/" in name for name in names):
        return tops.pop()
    return None


def missing_entry_message(entry: str, names: set[str]) -> str:
    """Say that entry is missing and how to fix the bundle."""
    message = f"entry point {entry!r} is missing from the bundle"
    top = top_folder(names)
    if top and f"{top}/{entry}" in names:
        return (
            f"{message}: every file is under {top + '/'!r}, so pack the "
            "folder's contents instead of the folder"
        )
    return (
        f"{message}; add it, or name the file that starts training with "
        "--entry"
    )


def inspect(names: Iterable[str], entry: str, strict: bool) -> Findings:
    """Check a bundle's file names against the rules.

    entry must be normalized. A missing entry point is an error when
    strict, and a warning otherwise: a client of the published contract
    names no entry at upload and picks one when it creates a run.
    """
    files = {posixpath.normpath(name) for name in names}
    errors, warnings = [], []
    if not files:
        errors.append("the bundle contains no files")
    verified = entry in files
    if files and not verified:
        message = missing_entry_message(entry, files)
        (errors if strict else warnings).append(message)
    return Findings(
        total_files=len(files),
        has_requirements_txt=REQUIREMENTS_FILE in files,
        entry_point_verified=verified,
        errors=errors,
        warnings=warnings,
    )
