"""Recognize a dataset upload whose content is already the latest version.

Rerunning an upload whose response was lost (a timeout while the server
was still committing) would otherwise make a second, identical
version. The check is cheap when nothing matches: the file is hashed
only when the latest version contains one file of the same name, size and
packing.
"""

import logging
from pathlib import Path

from pdtrain_core import archive

LOG = logging.getLogger(__name__)


def _latest_version(client, name):
    datasets = client.list_datasets(name=name)
    if not datasets:
        return None, None
    dataset = datasets[0]
    # Servers of the published contract list no versions; nothing is
    # skipped there.
    versions = dataset.get("versions") or []
    if not versions:
        return dataset, None
    return dataset, max(versions, key=lambda item: item.get("version", 0))


def same_dataset_version(
    client, name: str, path: Path, archive_kind=None, digest=None
):
    """Return (dataset, version) when the latest version is this file.

    path is the file to upload (a packed directory is <name>.tar.gz with
    archive_kind "directory"); digest is its sha256 when known already.
    Returns None when any of name, size, packing or sha256 differs.
    """
    dataset, latest = _latest_version(client, name)
    if latest is None:
        return None
    same_shape = (
        latest.get("num_files") == 1
        and latest.get("size_bytes") == path.stat().st_size
        and latest.get("archive") == archive_kind
    )
    if not same_shape:
        return None
    download = client.dataset_download(dataset["id"], latest["version"])
    files = download.get("files") or []
    if len(files) != 1 or files[0].get("file_name") != path.name:
        return None
    stored = files[0].get("sha256")
    if not stored:
        return None
    digest = digest or archive.file_sha256(path)
    LOG.debug("Latest version sha256 %s, upload sha256 %s", stored, digest)
    return (dataset, latest) if stored == digest else None
