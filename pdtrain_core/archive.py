"""Pack directories into tar.gz archives and extract archives safely.

Both the CLI (packing bundles and directory datasets, unpacking downloads)
and the orchestrator (checking bundles, unpacking them into a run's code
directory, packing model.tar.gz) use this module, so it imports nothing
from either side.
"""

import dataclasses
import hashlib
import io
import logging
import os
import posixpath
import tarfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import BinaryIO

from pdtrain_core import ignore, pgzip

LOG = logging.getLogger(__name__)

# Limits for extraction. An archive past these is rejected instead of
# filling the disk: a decompression bomb expands far more than real code
# or data does.
MAX_EXTRACTED_BYTES = 50 * 1024**3
MAX_MEMBERS = 1_000_000
# gzip level 1 packs several times faster than level 6 or 9 for a few
# percent more bytes, which is the right trade before an upload.
PACK_LEVEL = 1
READ_SIZE = 1024 * 1024


class ArchiveError(Exception):
    """An archive is unreadable or unsafe to extract.

    member is the name of the member at fault, or None when the archive
    as a whole is unreadable.
    """

    def __init__(self, message: str, member: str | None = None):
        super().__init__(message)
        self.member = member


def list_files(
    root: Path, excludes: Iterable[str] = (), skip: Iterable[Path] = ()
) -> list[tuple[str, Path]]:
    """Return sorted (archive name, path) pairs of the files to pack.

    See ignore.select_files for the rules; the sort order makes packing
    deterministic.
    """
    return ignore.select_files(root, excludes, skip).pairs()


@dataclasses.dataclass
class Entry:
    """One regular file to pack: its name, size, mode and a way to read it.

    open() returns a binary file object that yields exactly size bytes.
    """

    name: str
    size: int
    executable: bool
    open: Callable[[], BinaryIO]


def pack(files: list[tuple[str, Path]], target: Path) -> str:
    """Write files into a gzip tar at target and return its sha256.

    Owner, group, times and the gzip header are fixed, so the same files
    always give the same bytes, and therefore the same checksum.
    """
    return pack_entries(
        [_file_entry(name, path) for name, path in files], target
    )


def pack_entries(entries: Iterable[Entry], target: Path) -> str:
    """Write entries, in the order given, into a gzip tar at target.

    Returns the archive's sha256. Every entry becomes a regular file with
    mode 0755 or 0644, mtime 0 and no owner, as pack() writes them.
    """
    digest = hashlib.sha256()
    with open(target, "wb") as raw:
        hashing = _HashingWriter(raw, digest)
        with pgzip.ParallelGzipWriter(hashing, PACK_LEVEL) as compressed:
            with tarfile.open(
                fileobj=compressed,
                mode="w",
                format=tarfile.PAX_FORMAT,
                copybufsize=READ_SIZE,
            ) as tar:
                for entry in entries:
                    _add(tar, entry)
    return digest.hexdigest()


def _file_entry(name: str, path: Path) -> Entry:
    return Entry(
        name=name,
        size=path.stat().st_size,
        executable=os.access(path, os.X_OK),
        open=lambda: open(path, "rb"),
    )


def _add(tar: tarfile.TarFile, entry: Entry) -> None:
    info = tarfile.TarInfo(entry.name)
    info.size = entry.size
    info.mode = 0o755 if entry.executable else 0o644
    info.mtime = 0
    # NOTE: addfile reads exactly info.size bytes; a file that shrinks
    # while it is packed raises an error instead of a corrupt archive.
    with entry.open() as handle:
        tar.addfile(info, handle)


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


@dataclasses.dataclass
class ArchiveSummary:
    """What a checked archive holds."""

    files: list[str]
    members: int
    total_bytes: int
    # Size of each regular file, by name.
    sizes: dict[str, int] = dataclasses.field(default_factory=dict)


def _fail(member: tarfile.TarInfo, reason: str):
    raise ArchiveError(f"archive member {member.name!r} {reason}", member.name)


def _inside(relative: str) -> bool:
    normal = posixpath.normpath(relative)
    return not (normal == ".." or normal.startswith("../"))


def check_member(member: tarfile.TarInfo) -> None:
    """Raise ArchiveError for a member that is unsafe to extract."""
    name = member.name
    if name.startswith("/") or os.path.isabs(name) or ":" in name[:2]:
        _fail(member, "has an absolute path")
    if not _inside(name):
        _fail(member, "points outside the folder")
    if member.isdev() or member.isfifo():
        _fail(member, "is a device or pipe")
    if member.issym():
        target = member.linkname
        joined = posixpath.join(posixpath.dirname(name), target)
        if target.startswith("/") or not _inside(joined):
            _fail(member, f"is a link to {target!r}, outside the folder")
    if member.islnk():
        target = member.linkname
        if target.startswith("/") or not _inside(target):
            _fail(member, f"is a link to {target!r}, outside the folder")


def check_members(
    members: Iterable[tarfile.TarInfo],
    name: str,
    max_bytes: int = MAX_EXTRACTED_BYTES,
    max_members: int = MAX_MEMBERS,
) -> ArchiveSummary:
    """Check every member, stopping at the first unsafe one.

    name is the archive's, for messages. Raises ArchiveError naming the
    member at fault.
    """
    files, count, total, sizes = [], 0, 0, {}
    for member in members:
        count += 1
        total += member.size
        if count > max_members:
            _fail(
                member,
                f"is past the limit of {max_members} entries in {name}; "
                "the archive may be a decompression bomb",
            )
        if total > max_bytes:
            _fail(
                member,
                f"takes {name} past the limit of {max_bytes} bytes "
                "unpacked; the archive may be a decompression bomb",
            )
        check_member(member)
        if member.isfile():
            files.append(member.name)
            sizes[member.name] = member.size
    return ArchiveSummary(files, count, total, sizes)


def _open(archive: Path) -> tarfile.TarFile:
    try:
        return tarfile.open(archive, mode="r:*")
    except (tarfile.TarError, OSError) as error:
        # tarfile's own message lists every compression it tried.
        raise ArchiveError(
            f"{archive.name} is not a tar archive or is damaged"
        ) from error


def check(
    archive: Path,
    max_bytes: int = MAX_EXTRACTED_BYTES,
    max_members: int = MAX_MEMBERS,
) -> ArchiveSummary:
    """Read every member header of archive and apply extract's checks."""
    archive = Path(archive)
    with _open(archive) as tar:
        return _scan(tar, archive.name, max_bytes, max_members)


def _scan(tar, name, max_bytes, max_members) -> ArchiveSummary:
    try:
        return check_members(tar, name, max_bytes, max_members)
    except (tarfile.TarError, EOFError, OSError, ValueError) as error:
        raise ArchiveError(f"{name} is damaged: {error}") from error


def extract(
    archive: Path,
    destination: Path,
    max_bytes: int = MAX_EXTRACTED_BYTES,
    max_members: int = MAX_MEMBERS,
) -> list[str]:
    """Extract a tar archive into destination after checking every member.

    Rejects absolute paths, paths and links that leave destination,
    devices and pipes, more than max_members entries and more than
    max_bytes in total, naming the member at fault. Every member is
    checked before anything is written, so a bad archive leaves nothing
    behind. Returns the names of the extracted files.
    """
    archive = Path(archive)
    destination = Path(destination).resolve()
    with _open(archive) as tar:
        summary = _scan(tar, archive.name, max_bytes, max_members)
        destination.mkdir(parents=True, exist_ok=True)
        try:
            # The "data" filter (Python 3.12, 3.11.4 and 3.10.12) repeats
            # the checks above against the real disk and also drops
            # setuid bits and owners.
            tar.extractall(destination, filter="data")
        except tarfile.FilterError as error:
            raise ArchiveError(
                f"archive member {error.tarinfo.name!r} is unsafe: {error}",
                error.tarinfo.name,
            ) from error
        except (tarfile.TarError, EOFError, OSError) as error:
            raise ArchiveError(
                f"{archive.name} cannot be extracted: {error}"
            ) from error
    return summary.files


def file_sha256(path: Path, chunk_size: int = READ_SIZE) -> str:
    """Return the hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()
