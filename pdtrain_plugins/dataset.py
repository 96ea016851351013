"""Commands for datasets and their versions."""

import logging
import mimetypes
import os
import tempfile
from pathlib import Path

from cliff import columns as cliff_columns

from pdtrain_core import archive, command, formatting, refs, transfer
from pdtrain_core.exceptions import PdtrainError, TransferError, UsageError

LOG = logging.getLogger(__name__)

LIST_COLUMNS = (
    "id",
    "name",
    "current_version",
    "size_bytes",
    "visibility",
    "updated_at",
)
SHOW_COLUMNS = (
    "id",
    "name",
    "description",
    "current_version",
    "size_bytes",
    "visibility",
    "tags",
    "versions",
    "created_at",
    "updated_at",
)


class VersionsColumn(cliff_columns.FormattableColumn):
    """Dataset versions: one summary line each in tables."""

    def human_readable(self):
        lines = []
        for item in self._value or ():
            size = formatting.human_size(item.get("size_bytes"))
            kind = " directory" if item.get("archive") else ""
            lines.append(
                f"v{item.get('version')}: {size}, "
                f"{item.get('num_files')} files{kind}"
            )
        return "\n".join(lines)


FORMATTERS = {
    "size_bytes": formatting.SizeColumn,
    "created_at": formatting.TimeColumn,
    "updated_at": formatting.TimeColumn,
    "tags": formatting.ListColumn,
    "versions": VersionsColumn,
}


def _content_type(path: Path) -> str:
    guessed, _ = mimetypes.guess_type(path.name)
    return guessed or "application/octet-stream"


class UploadDataset(command.ShowOne):
    """Upload a file or a directory as a new dataset version.

    A file is stored as is; a directory is packed into <name>.tar.gz
    and unpacked again for training and by `dataset download`. The
    server validates the content before the version exists.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "path", metavar="<path>", help="file or directory to upload"
        )
        parser.add_argument(
            "--name",
            metavar="<name>",
            required=True,
            help="dataset name; an existing name gets a new version",
        )
        parser.add_argument(
            "--description", metavar="<text>", help="dataset description"
        )
        parser.add_argument(
            "--exclude",
            metavar="<glob>",
            action="append",
            default=[],
            help="leave out matching files of a directory (repeatable)",
        )
        return parser

    def take_action(self, parsed_args):
        path = Path(parsed_args.path).expanduser()
        name = parsed_args.name
        with tempfile.TemporaryDirectory(prefix="pdtrain-") as scratch:
            upload, packed = self._prepare(
                path, name, parsed_args.exclude, Path(scratch)
            )
            result = self._upload(
                upload, name, parsed_args.description, packed
            )
        return self._shape(result, name)

    def _prepare(self, path, name, excludes, scratch):
        """Return (file to upload, packed?) for a file or directory."""
        if path.is_dir():
            files = archive.list_files(path, excludes)
            if not files:
                raise UsageError(f"No files to upload in {path}")
            target = scratch / f"{name}.tar.gz"
            archive.pack(files, target)
            LOG.info("Packed %d files from %s", len(files), path)
            return target, True
        if not path.is_file():
            raise UsageError(f"Dataset path {str(path)!r} does not exist")
        return path, False

    def _upload(self, path, name, description, packed):
        """Presign, POST and finalize one file; return the finalize body."""
        content_type = "application/gzip" if packed else _content_type(path)
        files = [{"path": path.name, "content_type": content_type}]
        target = self.client.presign_dataset(name, files, description)
        post = target["presigned"][0]
        size = path.stat().st_size

        with transfer.progress_bar(name, size, self.app.stderr) as advance:
            transfer.post_file(
                post["url"],
                post.get("fields", {}),
                path,
                content_type=content_type,
                progress=advance,
            )

        # Finalize is the commit point: the server checks size and sha256
        # before the version exists.
        uploaded = [
            {
                "path": path.name,
                "size_bytes": size,
                "sha256": archive.file_sha256(path),
            }
        ]
        result = self.client.finalize_dataset(
            target["dataset_id"],
            target["version"],
            uploaded,
            archive="directory" if packed else None,
        )
        result.setdefault("dataset_id", target["dataset_id"])
        result.setdefault("version", target["version"])
        result["size_bytes"] = size
        return result

    def _shape(self, result, name):
        validation = result.get("validation") or {}
        metadata = validation.get("metadata") or {}
        if validation.get("status") == "failed":
            errors = "; ".join(validation.get("errors") or ())
            raise PdtrainError(
                f"Dataset {name} failed validation: "
                f"{errors or 'no reason given'}"
            )
        columns = (
            "dataset_id",
            "name",
            "version",
            "status",
            "validation",
            "file_type",
            "row_count",
            "column_count",
            "size_bytes",
            "warnings",
        )
        values = (
            result.get("dataset_id"),
            name,
            result.get("version"),
            result.get("status"),
            validation.get("status"),
            metadata.get("file_type"),
            metadata.get("row_count"),
            metadata.get("column_count"),
            formatting.SizeColumn(result.get("size_bytes")),
            formatting.ListColumn(validation.get("warnings") or []),
        )
        return columns, values


class ListDataset(command.Lister):
    """List datasets with their current version."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "--name", metavar="<name>", help="only the dataset with this name"
        )
        parser.add_argument(
            "--limit",
            metavar="<count>",
            type=int,
            help="return at most this many",
        )
        return parser

    def take_action(self, parsed_args):
        datasets = self.client.list_datasets(
            name=parsed_args.name, limit=parsed_args.limit
        )
        rows = [formatting.row(d, LIST_COLUMNS, FORMATTERS) for d in datasets]
        return LIST_COLUMNS, rows


class ShowDataset(command.ShowOne):
    """Show one dataset and its versions."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "reference",
            metavar="<dataset>",
            help="id, name, name:latest, name:N or name:vN",
        )
        return parser

    def take_action(self, parsed_args):
        dataset, _ = refs.resolve_dataset(self.client, parsed_args.reference)
        return SHOW_COLUMNS, formatting.row(dataset, SHOW_COLUMNS, FORMATTERS)


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
        return parser

    def take_action(self, parsed_args):
        dataset, version = refs.resolve_dataset(
            self.client, parsed_args.reference
        )
        output = Path(
            parsed_args.output or f"{dataset['name']}-v{version}"
        ).expanduser()
        listing = self.client.dataset_download(dataset["id"], version)
        packed = _is_packed(dataset, version)
        written = []
        for item in listing.get("files", []):
            written.extend(self._fetch(item, output, packed))
        return ("file", "size_bytes"), [
            (str(path), formatting.SizeColumn(path.stat().st_size))
            for path in written
        ]

    def _fetch(self, item, output, packed):
        name = _safe_file_name(item.get("file_name"))
        size = item.get("size_bytes")
        with tempfile.TemporaryDirectory(
            prefix="pdtrain-", dir=_scratch_parent(output)
        ) as tmp:
            target = (Path(tmp) if packed else output) / name
            with transfer.progress_bar(name, size, self.app.stderr) as advance:
                transfer.download_file(
                    item["download_url"],
                    target,
                    item.get("sha256"),
                    size,
                    progress=advance,
                )
            if not packed:
                return [target]
            try:
                names = archive.extract(target, output)
            except archive.ArchiveError as error:
                raise TransferError(
                    f"Cannot unpack {name}: {error}"
                ) from error
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


class DeleteDataset(command.Command):
    """Delete datasets with every version of each.

    Asks for confirmation on a terminal; elsewhere pass --yes.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "references",
            metavar="<dataset>",
            nargs="+",
            help="id or name of a dataset to delete",
        )
        parser.add_argument(
            "--yes", action="store_true", help="delete without asking"
        )
        return parser

    def take_action(self, parsed_args):
        if not parsed_args.yes and not self.app.stdin.isatty():
            raise UsageError(
                "Deleting datasets needs confirmation and stdin is not a "
                "terminal: pass --yes"
            )
        failures = 0
        for text in parsed_args.references:
            try:
                self._delete_one(text, parsed_args.yes)
            except PdtrainError as error:
                LOG.error("Cannot delete dataset %s: %s", text, error)
                failures += 1
        if failures:
            total = len(parsed_args.references)
            raise PdtrainError(
                f"{failures} of {total} datasets were not deleted"
            )
        return 0

    def _delete_one(self, text, assume_yes):
        if refs.parse(text).version is not None:
            raise UsageError(
                f"{text!r} names one version, but delete removes every "
                "version; pass the dataset name or id alone"
            )
        dataset, _ = refs.resolve_dataset(self.client, text)
        label = f"{dataset['name']} ({dataset['id']})"
        if not assume_yes and not self._confirm(label):
            self.notice(f"Kept dataset {label}")
            return
        self.client.delete_dataset(dataset["id"])
        self.notice(f"Deleted dataset {label}")

    def _confirm(self, label) -> bool:
        self.app.stderr.write(
            f"Delete dataset {label} and all its versions? [y/N] "
        )
        self.app.stderr.flush()
        return self.app.stdin.readline().strip().lower() in ("y", "yes")
