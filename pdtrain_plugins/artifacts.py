"""Commands for the files a run produced (model, output data)."""

import logging
import os
from pathlib import Path

from pdtrain_core import archive, command, formatting, transfer
from pdtrain_core.exceptions import TransferError

LOG = logging.getLogger(__name__)

LIST_COLUMNS = ("name", "path", "size_bytes", "sha256", "created_at")
FORMATTERS = {
    "size_bytes": formatting.SizeColumn,
    "created_at": formatting.TimeColumn,
}
ARCHIVE_SUFFIX = ".tar.gz"


def _artifact_name(artifact) -> str:
    """Return a plain file name for an artifact, rejecting tricks."""
    name = artifact.get("name") or os.path.basename(
        str(artifact.get("path", "")).rstrip("/")
    )
    name = os.path.basename(str(name).replace("\\", "/"))
    if name in ("", ".", ".."):
        raise TransferError(
            f"The server sent an artifact without a usable name: "
            f"{artifact.get('path')!r}"
        )
    return name


class ListArtifact(command.Lister):
    """List the artifacts of a run."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("run_id", metavar="<run-id>", help="run id")
        return parser

    def take_action(self, parsed_args):
        found = self.client.list_artifacts(parsed_args.run_id)
        rows = []
        for artifact in found:
            item = dict(artifact, name=_artifact_name(artifact))
            rows.append(formatting.row(item, LIST_COLUMNS, FORMATTERS))
        return LIST_COLUMNS, rows


class DownloadArtifact(command.Lister):
    """Download a run's artifacts, checking size and sha256.

    Each file is written under a temporary name and renamed only once
    complete and verified. --extract also unpacks each .tar.gz
    (model.tar.gz into model/) with path, link and size checks.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("run_id", metavar="<run-id>", help="run id")
        parser.add_argument(
            "--output",
            metavar="<dir>",
            help="target directory (default: ./<run-id>)",
        )
        parser.add_argument(
            "--extract",
            action="store_true",
            help="unpack .tar.gz artifacts after download",
        )
        return parser

    def take_action(self, parsed_args):
        output = Path(parsed_args.output or parsed_args.run_id).expanduser()
        found = self.client.list_artifacts(parsed_args.run_id)
        if not found:
            LOG.warning("Run %s has no artifacts", parsed_args.run_id)
        rows = []
        for artifact in found:
            target = self._download(artifact, output)
            rows.append(
                (
                    str(target),
                    formatting.SizeColumn(target.stat().st_size),
                    archive.file_sha256(target),
                )
            )
            if parsed_args.extract and target.name.endswith(ARCHIVE_SUFFIX):
                rows.append((str(self._extract(target)), None, None))
        return ("file", "size_bytes", "sha256"), rows

    def _download(self, artifact, output):
        name = _artifact_name(artifact)
        target = output / name
        size = artifact.get("size_bytes")
        with transfer.progress_bar(name, size, self.app.stderr) as advance:
            transfer.download_file(
                artifact["url"],
                target,
                artifact.get("sha256"),
                size,
                progress=advance,
            )
        if not artifact.get("sha256"):
            LOG.warning(
                "The server sent no sha256 for %s; only its size was checked",
                name,
            )
        return target

    def _extract(self, target):
        folder = target.with_name(target.name[: -len(ARCHIVE_SUFFIX)])
        try:
            archive.extract(target, folder)
        except archive.ArchiveError as error:
            raise TransferError(f"Cannot unpack {target}: {error}") from error
        LOG.info("Unpacked %s into %s", target, folder)
        return folder
