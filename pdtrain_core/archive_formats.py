"""Read bundle archives in each accepted format: tar.gz, tar and zip.

detect() identifies the format from the first bytes of the file, and
check() applies archive.py's member checks to any of them. to_tar_gz()
converts a tar or zip into the canonical tar.gz that archive.pack()
writes for a folder, so the same files give the same bytes in any
format.
"""

import contextlib
import logging
import posixpath
import stat
import tarfile
import zipfile
from pathlib import Path

from pdtrain_core import archive
from pdtrain_core.archive import ArchiveError, ArchiveSummary, Entry

LOG = logging.getLogger(__name__)

TAR_GZ = "tar.gz"
TAR = "tar"
ZIP = "zip"
GZIP_MAGIC = b"\x1f\x8b"
# Local file header, and the end record, which is all an empty zip
# contains.
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
# A zip stores a symbolic link as a member whose data is the target.
MAX_LINK_TARGET = 4096


def detect(path: Path) -> str:
    """Return TAR_GZ, TAR (any other tar) or ZIP for the file at path.

    Raises ArchiveError for anything else, such as a gzip file that does
    not hold a tar.
    """
    path = Path(path)
    with open(path, "rb") as handle:
        head = handle.read(4)
    if head[:4] in ZIP_MAGICS:
        return ZIP
    if not tarfile.is_tarfile(path):
        raise ArchiveError(
            f"{path.name} is not a tar archive (.tar, .tar.gz, .tgz) or a "
            "zip archive, or it is damaged"
        )
    return TAR_GZ if head[:2] == GZIP_MAGIC else TAR


def check(path: Path, max_bytes: int, max_members: int) -> ArchiveSummary:
    """Check every member of a tar or zip archive as archive.check does."""
    path = Path(path)
    if detect(path) != ZIP:
        return archive.check(path, max_bytes, max_members)
    with _open_zip(path) as source:
        members = (_zip_member(source, info) for info in source.infolist())
        return _scan_zip(members, path.name, max_bytes, max_members)


def _scan_zip(members, name, max_bytes, max_members) -> ArchiveSummary:
    try:
        return archive.check_members(members, name, max_bytes, max_members)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as error:
        raise ArchiveError(f"{name} is damaged: {error}") from error


@contextlib.contextmanager
def _open_zip(path: Path):
    try:
        source = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as error:
        raise ArchiveError(
            f"{path.name} is not a zip archive or is damaged"
        ) from error
    with source:
        yield source


def _zip_mode(info: zipfile.ZipInfo) -> int:
    """Return the Unix st_mode a zip member was made with, or 0."""
    return info.external_attr >> 16


def _zip_member(source: zipfile.ZipFile, info) -> tarfile.TarInfo:
    """Describe a zip member as a TarInfo, so one set of checks serves."""
    member = tarfile.TarInfo(info.filename)
    mode = _zip_mode(info)
    kind = stat.S_IFMT(mode)
    member.mode = stat.S_IMODE(mode) or 0o644
    if info.is_dir():
        member.type = tarfile.DIRTYPE
    elif kind == stat.S_IFLNK:
        member.type = tarfile.SYMTYPE
        member.linkname = _link_target(source, info)
    elif kind in (stat.S_IFCHR, stat.S_IFBLK, stat.S_IFIFO):
        member.type = tarfile.CHRTYPE
    else:
        member.size = info.file_size
    return member


def _link_target(source: zipfile.ZipFile, info) -> str:
    if info.file_size > MAX_LINK_TARGET:
        raise ArchiveError(
            f"archive member {info.filename!r} is a link with a "
            f"{info.file_size}-byte target, over {MAX_LINK_TARGET}",
            info.filename,
        )
    return source.read(info).decode("utf-8", "replace")


def to_tar_gz(path: Path, target: Path) -> str:
    """Convert the tar or zip at path into a canonical tar.gz at target.

    Members are sorted by name and only regular files are kept, with the
    modes and times archive.pack() writes. A link to a file inside the
    archive becomes a copy of that file, and other links are skipped
    with a warning. Check the archive first: this trusts its names.
    Returns the sha256 of the new file.
    """
    path = Path(path)
    if detect(path) == ZIP:
        with _open_zip(path) as source:
            return archive.pack_entries(_zip_entries(source), target)
    try:
        with tarfile.open(path, mode="r:*") as source:
            return archive.pack_entries(_tar_entries(source), target)
    except (tarfile.TarError, EOFError) as error:
        raise ArchiveError(f"{path.name} is damaged: {error}") from error


def _tar_entries(source: tarfile.TarFile) -> list[Entry]:
    # A later member of the same name replaces an earlier one, as it does
    # when tar extracts them.
    latest = {posixpath.normpath(m.name): m for m in source.getmembers()}
    entries = []
    for name in sorted(latest):
        member = latest[name]
        if member.issym() or member.islnk():
            member = _tar_link_file(name, member, latest)
        if member is None or not member.isfile():
            continue
        entries.append(
            Entry(
                name=name,
                size=member.size,
                executable=bool(member.mode & 0o111),
                open=lambda m=member: source.extractfile(m),
            )
        )
    return entries


def _tar_link_file(name, member, members):
    """Return the regular file a tar link points to, or None."""
    if member.issym():
        target = posixpath.join(posixpath.dirname(name), member.linkname)
    else:
        target = member.linkname
    found = members.get(posixpath.normpath(target))
    if found is None or not found.isfile():
        LOG.warning("Skipping %s: a link to a folder or to nothing", name)
        return None
    return found


def _zip_entries(source: zipfile.ZipFile) -> list[Entry]:
    latest = {posixpath.normpath(i.filename): i for i in source.infolist()}
    entries = []
    for name in sorted(latest):
        info = latest[name]
        if info.is_dir():
            continue
        if stat.S_ISLNK(_zip_mode(info)):
            info = _zip_link_file(source, name, info, latest)
            if info is None:
                continue
        entries.append(
            Entry(
                name=name,
                size=info.file_size,
                executable=bool(_zip_mode(info) & 0o111),
                open=lambda i=info: source.open(i),
            )
        )
    return entries


def _zip_link_file(source, name, info, members):
    """Return the regular file a zip link points to, or None."""
    target = _link_target(source, info)
    resolved = posixpath.normpath(
        posixpath.join(posixpath.dirname(name), target)
    )
    found = members.get(resolved)
    if found is None or found.is_dir() or stat.S_ISLNK(_zip_mode(found)):
        LOG.warning("Skipping %s: a link to a folder or to nothing", name)
        return None
    return found
