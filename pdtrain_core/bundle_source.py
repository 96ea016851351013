"""Check what `bundle upload` was given before any byte is sent.

A folder is checked through the files that packing selected, and an
archive (.tar.gz, .tgz, .tar or .zip) through its member headers. The
checks are the ones the orchestrator repeats at finalize: safe member
paths, no links out and no devices, a bounded number of files and
unpacked size, and the entry point present. A .tar or .zip is then
converted into the canonical tar.gz (see archive_formats.to_tar_gz),
the only format the server stores.
"""

import dataclasses
import logging
from pathlib import Path

from pdtrain_core import archive, archive_formats, bundle_rules
from pdtrain_core.exceptions import InvalidBundle, UsageError

LOG = logging.getLogger(__name__)

SUFFIXES = (".tar.gz", ".tgz", ".tar", ".zip")
MIB = 1024**2


@dataclasses.dataclass
class CheckedArchive:
    """An archive that passed the checks, and what it contains."""

    path: Path
    kind: str
    summary: archive.ArchiveSummary
    findings: bundle_rules.Findings


def archive_stem(path: Path) -> str | None:
    """Return the file name without its archive suffix, or None."""
    lower = path.name.lower()
    for suffix in SUFFIXES:
        if lower.endswith(suffix) and len(lower) > len(suffix):
            return path.name[: -len(suffix)]
    return None


def check_entry(entry: str) -> str:
    """Return --entry normalized, or raise UsageError."""
    try:
        return bundle_rules.normalize_entry(entry)
    except bundle_rules.InvalidEntry as error:
        raise UsageError(f"{error}; pass a valid --entry") from None


def unpack_limit(quota: dict | None) -> int:
    """Return the unpacked-size limit the server applies at finalize.

    The server allows UNPACK_RATIO times its largest bundle; without a
    quota response the archive module's own limit applies.
    """
    limits = (quota or {}).get("limits") or {}
    largest_mb = limits.get("max_single_bundle_size_mb")
    if not largest_mb:
        return archive.MAX_EXTRACTED_BYTES
    return int(bundle_rules.UNPACK_RATIO * float(largest_mb) * MIB)


def check_folder(root: Path, selection, entry: str, max_bytes: int):
    """Apply the bundle rules to the files selected from a folder."""
    label = str(root)
    count = len(selection.files)
    if count > bundle_rules.MAX_FILES:
        _reject(
            label,
            f"it has {count} files, over the limit of "
            f"{bundle_rules.MAX_FILES}; leave files out with "
            ".pdtrainignore or --exclude",
        )
    if selection.total_bytes > max_bytes:
        _reject(
            label,
            f"its files take {selection.total_bytes} bytes, over the limit "
            f"of {max_bytes}; leave files out with .pdtrainignore or "
            "--exclude",
        )
    names = [name for name, _, _ in selection.files]
    return _inspect(label, names, entry)


def check_archive(path: Path, entry: str, max_bytes: int) -> CheckedArchive:
    """Check every member of the archive at path and the bundle rules.

    Raises InvalidBundle with one line naming the member at fault.
    """
    label = str(path)
    try:
        kind = archive_formats.detect(path)
        summary = archive_formats.check(
            path, max_bytes, bundle_rules.MAX_FILES
        )
    except archive.ArchiveError as error:
        if error.member is None:
            fix = "re-create the archive, or upload its folder instead"
        else:
            fix = "repack the archive without that member"
        _reject(label, f"{error}; {fix}")
    findings = _inspect(label, summary.files, entry)
    return CheckedArchive(path, kind, summary, findings)


def _inspect(label: str, names, entry: str) -> bundle_rules.Findings:
    findings = bundle_rules.inspect(names, entry, strict=True)
    if findings.errors:
        _reject(label, "; ".join(findings.errors))
    if findings.has_requirements_txt:
        LOG.info(
            "%s has %s; the executor installs it before %s runs",
            label,
            bundle_rules.REQUIREMENTS_FILE,
            entry,
        )
    return findings


def _reject(label: str, reason: str):
    raise InvalidBundle(
        f"Invalid bundle {label!r}: {reason} (nothing was uploaded)"
    )


def to_upload(checked: CheckedArchive, scratch: Path) -> tuple[Path, str]:
    """Return the tar.gz to upload for a checked archive and its sha256.

    A tar.gz goes as it is, so its checksum matches the user's file; a
    .tar or .zip is converted into scratch (a file path).
    """
    if checked.kind == archive_formats.TAR_GZ:
        return checked.path, archive.file_sha256(checked.path)
    scratch.parent.mkdir(parents=True, exist_ok=True)
    try:
        digest = archive_formats.to_tar_gz(checked.path, scratch)
    except archive.ArchiveError as error:
        _reject(str(checked.path), str(error))
    LOG.info(
        "Converted %s (%s) into %s",
        checked.path,
        checked.kind,
        scratch,
    )
    return scratch, digest
