"""Single files of a run's artifact archives, stored on first request.

An archive's manifest lists the files inside it. A client that wants
only some of them requests their URLs; each requested file is extracted
from the archive once, checked against the manifest's sha256 and kept
as its own object beside the archive, so later requests and ranged
(resumed) downloads read it directly.
"""

import hashlib
import logging
import tarfile
import tempfile
from pathlib import Path

from pdtrain_orchestrator.errors import Invalid, NotFound
from pdtrain_orchestrator.models import Artifact

LOG = logging.getLogger(__name__)

# Objects of single files live under "<archive key>.files/<path>".
FILES_SUFFIX = ".files/"
COPY_BYTES = 1024 * 1024


def member_key(artifact: Artifact, path: str) -> str:
    """Return the object key of one file of artifact."""
    return f"{artifact.s3_key}{FILES_SUFFIX}{path}"


def find_entry(artifact: Artifact, path: str) -> dict:
    """Return the manifest entry of path, or raise NotFound."""
    for entry in artifact.files or ():
        if entry["path"] == path:
            return entry
    raise NotFound(
        f"artifact {artifact.name} has no file {path!r}; list its files "
        "with `pdtrain artifacts list`"
    )


def _extract(archive_path: Path, path: str, target: Path) -> str:
    """Copy member path of the archive into target; return its sha256."""
    digest = hashlib.sha256()
    with tarfile.open(archive_path, "r:gz") as tar:
        try:
            member = tar.getmember(path)
        except KeyError:
            raise NotFound(
                f"file {path!r} is missing from the archive"
            ) from None
        if not member.isfile():
            raise Invalid(f"{path!r} in the archive is not a regular file")
        source = tar.extractfile(member)
        with source, open(target, "wb") as handle:
            while chunk := source.read(COPY_BYTES):
                digest.update(chunk)
                handle.write(chunk)
    return digest.hexdigest()


def materialize(store, artifact: Artifact, path: str, tmp_dir: Path) -> str:
    """Store one file of artifact as an object if needed; return its key."""
    entry = find_entry(artifact, path)
    key = member_key(artifact, path)
    if store.exists(key):
        return key
    tmp_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=tmp_dir) as folder:
        target = Path(folder) / "member"
        with store.fetch(artifact.s3_key) as archive_path:
            digest = _extract(archive_path, path, target)
        if digest != entry["sha256"]:
            raise Invalid(
                f"file {path!r} of {artifact.name} has sha256 {digest}, "
                f"but the manifest says {entry['sha256']}"
            )
        store.store_file(target, key)
    LOG.info("Stored file %s of artifact %s", path, artifact.s3_key)
    return key
