"""Pack directories into tar.gz archives and extract archives safely.

Both the CLI (packing bundles and directory datasets, unpacking downloads)
and the orchestrator (unpacking bundles into a run's code directory) use
this module, so it imports nothing from either side.
"""

import fnmatch
import gzip
import hashlib
import io
import logging
import os
import tarfile
from collections.abc import Iterable
from pathlib import Path

LOG = logging.getLogger(__name__)

# Directories that never belong in a training bundle or dataset archive.
DEFAULT_EXCLUDES = (
    ".git",
    ".hg",
    ".svn",
    "__pycache__",
    "*.pyc",
    ".venv",
    "venv",
    ".mypy_cache",
    ".pytest_cache",
    ".ipynb_checkpoints",
    ".DS_Store",
)

# Limits for extraction. A bundle or dataset archive past these is refused
# instead of filling the disk (a "zip bomb" compresses far better than
# real code or data).
MAX_EXTRACTED_BYTES = 50 * 1024**3
MAX_MEMBERS = 1_000_000


class ArchiveError(Exception):
    """An archive is unreadable or unsafe to extract."""


def _is_excluded(relative: str, patterns: Iterable[str]) -> bool:
    parts = relative.split("/")
    for pattern in patterns:
        if fnmatch.fnmatch(relative, pattern):
            return True
        if any(fnmatch.fnmatch(part, pattern) for part in parts):
            return True
    return False


def list_files(
    root: Path, excludes: Iterable[str] = (), skip: Iterable[Path] = ()
) -> list[tuple[str, Path]]:
    """List the files under root that survive the exclude patterns.

    Returns sorted (archive name, path) pairs; the sort order makes packing
    deterministic. Symbolic links are skipped with a warning because their
    targets may lie outside root.
    """
    patterns = tuple(DEFAULT_EXCLUDES) + tuple(excludes)
    skipped = {path.resolve() for path in skip}
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        base = Path(dirpath)
        kept_dirs = []
        for name in sorted(dirnames):
            relative = (base / name).relative_to(root).as_posix()
            if (base / name).is_symlink():
                LOG.warning("Skipping symbolic link %s", relative)
            elif not _is_excluded(relative, patterns):
                kept_dirs.append(name)
        dirnames[:] = kept_dirs
        for name in filenames:
            path = base / name
            relative = path.relative_to(root).as_posix()
            if path.resolve() in skipped or _is_excluded(relative, patterns):
                continue
            if path.is_symlink():
                LOG.warning("Skipping symbolic link %s", relative)
                continue
            found.append((relative, path))
    found.sort()
    return found


def pack(files: list[tuple[str, Path]], target: Path) -> str:
    """Write files into a gzip tar at target and return its sha256.

    Owner, group and times are fixed so the same files always give the same
    bytes, and therefore the same checksum.
    """
    digest = hashlib.sha256()
    with open(target, "wb") as raw:
        hashing = _HashingWriter(raw, digest)
        with gzip.GzipFile(
            filename="", mode="wb", fileobj=hashing, mtime=0
        ) as compressed:
            with tarfile.open(
                fileobj=compressed, mode="w", format=tarfile.PAX_FORMAT
            ) as tar:
                for name, path in files:
                    info = tarfile.TarInfo(name)
                    info.size = path.stat().st_size
                    info.mode = 0o755 if os.access(path, os.X_OK) else 0o644
                    info.mtime = 0
                    with open(path, "rb") as handle:
                        tar.addfile(info, handle)
    return digest.hexdigest()


class _HashingWriter(io.RawIOBase):
    """Pass writes through to a file while feeding a hash."""

    def __init__(self, target, digest):
        self._target = target
        self._digest = digest

    def writable(self):
        return True

    def write(self, data):
        self._digest.update(data)
        return self._target.write(data)


def _check_member(member: tarfile.TarInfo, destination: Path) -> None:
    name = member.name
    if name.startswith("/") or os.path.isabs(name):
        raise ArchiveError(f"archive member {name!r} has an absolute path")
    target = (destination / name).resolve()
    if not target.is_relative_to(destination):
        raise ArchiveError(f"archive member {name!r} points outside the folder")
    if member.issym() or member.islnk():
        raise ArchiveError(f"archive member {name!r} is a link")
    if member.isdev() or member.isfifo():
        raise ArchiveError(f"archive member {name!r} is a device or pipe")


def extract(
    archive: Path,
    destination: Path,
    max_bytes: int = MAX_EXTRACTED_BYTES,
    max_members: int = MAX_MEMBERS,
) -> list[str]:
    """Extract a tar archive into destination after checking every member.

    Refuses absolute paths, paths that leave destination, links, devices,
    more than max_members entries and more than max_bytes in total. Checks
    run over the whole member list before anything is written, so a bad
    archive leaves nothing behind. Returns the extracted file names.
    """
    destination = Path(destination).resolve()
    try:
        tar = tarfile.open(archive, mode="r:*")
    except (tarfile.TarError, OSError) as error:
        raise ArchiveError(
            f"{archive.name} is not a tar archive: {error}"
        ) from error
    with tar:
        try:
            members = tar.getmembers()
        except (tarfile.TarError, EOFError, OSError) as error:
            raise ArchiveError(
                f"{archive.name} is damaged: {error}"
            ) from error
        if len(members) > max_members:
            raise ArchiveError(
                f"{archive.name} has {len(members)} entries, over the limit "
                f"of {max_members}"
            )
        total = 0
        for member in members:
            _check_member(member, destination)
            total += member.size
        if total > max_bytes:
            raise ArchiveError(
                f"{archive.name} unpacks to {total} bytes, over the limit "
                f"of {max_bytes}"
            )
        destination.mkdir(parents=True, exist_ok=True)
        # The "data" filter (Python 3.12, backported to 3.10.12 and 3.11.4)
        # repeats the checks above and also strips setuid bits and owners.
        tar.extractall(destination, filter="data")
    return [member.name for member in members if member.isfile()]


def file_sha256(path: Path, chunk_size: int = 1024 * 1024) -> str:
    """Return the hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()
