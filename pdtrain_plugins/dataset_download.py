"""The dataset download command: fetch, verify and unpack a version."""

import logging
import os
from pathlib import Path

from pdtrain_core import (
    archive,
    command,
    downloads,
    formatting,
    progress,
    refs,
    transfer,
)
from pdtrain_core.exceptions import TransferError

LOG = logging.getLogger(__name__)


def _safe_file_name(name) -> str:
    """Return the last part of a server-sent name, rejecting tricks."""
    base = os.path.basename(str(name or "").replace("\\", "/"))
    if base in ("", ".", ".."):
        raise TransferError(f"The server sent an invalid file name {name!r}")
    return base


class DownloadDataset(command.Lister):
    """Download one dataset version, checking sizes and checksums.

    A version uploaded from a directory is unpacked into the output
    directory with path, link and size checks.
    """

    examples = (
        "pdtrain dataset download iris",
        "pdtrain dataset download iris:3 --output ./data",
    )

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "reference",
            metavar="<dataset>",
            help="id, name, name:latest, name:N or name:vN",
        )
        parser.add_argument(
            "--output",
            metavar="<dir>",
            help="target directory (default: ./<name>-v<version>)",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="replace files that already exist in the target directory",
        )
        return parser

    def take_action(self, parsed_args):
        dataset, version = refs.resolve_dataset(
            self.client, parsed_args.reference
        )
        value = parsed_args.output or f"{dataset['name']}-v{version}"
        output = Path(value).expanduser()
        listing = self.client.dataset_download(dataset["id"], version)
        packed = _is_packed(dataset, version)
        downloads.prepare_output(output, value)
        if not packed:
            names = [
                _safe_file_name(item.get("file_name"))
                for item in listing.get("files", [])
            ]
            downloads.check_targets(output, names, parsed_args.force)
        written = []
        self._version = version
        self._force = parsed_args.force
        for item in listing.get("files", []):
            written.extend(self._fetch(dataset, item, output, packed))
        return ("file", "size_bytes"), [
            (str(path), formatting.SizeColumn(path.stat().st_size))
            for path in written
        ]

    def _fresh_url(self, dataset, item) -> str:
        """Return a newly signed URL for item, after its URL expired."""
        listing = self.client.dataset_download(dataset["id"], self._version)
        for fresh in listing.get("files", []):
            if fresh.get("file_name") == item.get("file_name"):
                return fresh["download_url"]
        raise TransferError(
            f"{item.get('file_name')} is no longer in dataset "
            f"{dataset['name']} version {self._version}"
        )

    def _fetch(self, dataset, item, output, packed):
        name = _safe_file_name(item.get("file_name"))
        size = item.get("size_bytes")
        target = output / name
        if packed:
            # Beside the output folder, not in a temporary one, so that
            # an interrupted download resumes on the next run.
            target = _scratch_parent(output) / f".{output.name}.{name}"
        verb = "Downloaded"
        with progress.for_app(self.app, name, size, verb) as advance:
            transfer.download_file(
                item["download_url"],
                target,
                item.get("sha256"),
                size,
                progress=advance,
                renew_url=lambda: self._fresh_url(dataset, item),
            )
        if not packed:
            return [target]
        try:
            members = archive.check(target).files
            downloads.check_targets(output, members, self._force)
            names = archive.extract(target, output)
        except archive.ArchiveError as error:
            raise TransferError(f"Cannot unpack {name}: {error}") from error
        finally:
            target.unlink(missing_ok=True)
        return [output / member for member in names]


def _scratch_parent(output: Path) -> Path:
    """Return a directory beside output so renames stay on one disk."""
    parent = output.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    return parent


def _is_packed(dataset, version) -> bool:
    for item in dataset.get("versions") or ():
        if item.get("version") == version:
            return item.get("archive") == "directory"
    return False
