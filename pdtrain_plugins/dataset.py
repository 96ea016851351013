"""Commands for datasets and their versions."""

import logging
import mimetypes
import tempfile
from pathlib import Path

from cliff import columns as cliff_columns

from pdtrain_core import (
    command,
    formatting,
    limits,
    packing,
    progress,
    refs,
    uploads,
)
from pdtrain_core.exceptions import PdtrainError, UsageError

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


def _check_request(name: str, description: str | None) -> None:
    """Apply the server's limits before anything is packed or sent."""
    try:
        limits.check_name("--name", name)
        limits.check_length(
            "--description", description, limits.MAX_DESCRIPTION
        )
    except limits.LimitError as error:
        raise UsageError(str(error)) from None


class UploadDataset(command.ShowOne):
    """Upload a file or a directory as a new dataset version.

    A file is stored as is; a directory is packed into <name>.tar.gz
    (leaving out what .pdtrainignore and --exclude name) and unpacked
    again for training and by `dataset download`. Large files go in
    parallel parts, and running the same command after an interruption
    resumes the upload. The server validates the content before the
    version exists.
    """

    examples = (
        "pdtrain dataset upload ./train.csv --name iris",
        "pdtrain dataset upload ./images/ --name pets --exclude '*.tmp'",
    )

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
        packing.add_exclude_option(parser)
        return parser

    def take_action(self, parsed_args):
        path = Path(parsed_args.path).expanduser()
        name = parsed_args.name
        _check_request(name, parsed_args.description)
        with tempfile.TemporaryDirectory(prefix="pdtrain-") as scratch:
            upload, identity, packed = self._prepare(
                path, name, parsed_args.exclude, Path(scratch)
            )
            result = self._upload(
                upload, name, parsed_args.description, packed, identity
            )
        return self._shape(result, name)

    def _prepare(self, path, name, excludes, scratch):
        """Return (file to upload, resume identity, packed?)."""
        identity = {"kind": "dataset", "name": name}
        if path.is_dir():
            selection = packing.select(path, excludes)
            target = scratch / f"{name}.tar.gz"
            identity["sha256"] = packing.pack(selection, path, target)
            return target, identity, True
        if not path.is_file():
            raise UsageError(f"Dataset path {str(path)!r} does not exist")
        status = path.stat()
        identity.update(
            file=str(path.resolve()),
            mtime_ns=status.st_mtime_ns,
        )
        return path, identity, False

    def _upload(self, path, name, description, packed, identity):
        """Presign, send and finalize one file; return the finalize body."""
        content_type = "application/gzip" if packed else _content_type(path)
        uploads.preflight(self.client, "dataset", path.stat().st_size)
        uploader = uploads.Uploader(
            self.client,
            lambda label, total: progress.for_app(
                self.app, label, total, "Uploaded"
            ),
        )

        def presign():
            files = [{"path": path.name, "content_type": content_type}]
            answer = self.client.presign_dataset(name, files, description)
            post = answer["presigned"][0]
            fields = post.get("fields", {})
            return uploads.Target(
                s3_key=post.get("s3_key") or fields.get("key", ""),
                url=post["url"],
                fields=fields,
                content_type=content_type,
                extra={
                    "dataset_id": answer["dataset_id"],
                    "version": answer["version"],
                },
            )

        sent = uploader.upload(path, path.name, identity, presign)
        try:
            return self._finalize(sent, path.name, packed)
        finally:
            uploader.finished(sent)

    def _finalize(self, sent, file_name, packed):
        # Finalize is the commit point: the server checks size and sha256
        # before the version exists.
        extra = sent.target.extra
        uploaded = [
            {
                "path": file_name,
                "size_bytes": sent.size_bytes,
                "sha256": sent.sha256,
            }
        ]
        result = self.client.finalize_dataset(
            extra["dataset_id"],
            extra["version"],
            uploaded,
            archive="directory" if packed else None,
        )
        result.setdefault("dataset_id", extra["dataset_id"])
        result.setdefault("version", extra["version"])
        result["size_bytes"] = sent.size_bytes
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
        # "id" matches the bundle upload output; "dataset_id" stays for
        # scripts that already read it.
        columns = (
            "id",
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

    examples = (
        "pdtrain dataset list",
        "pdtrain dataset list -f csv -c name -c current_version",
    )

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

    examples = (
        "pdtrain dataset show iris",
        "pdtrain dataset show iris:v2 -f yaml",
    )

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


class DeleteDataset(command.Command):
    """Delete dataset versions, or whole datasets with --all-versions.

    NAME:N (or ID:N) deletes one version; NAME with --all-versions
    deletes the dataset and every version. Deleting frees the quota the
    files used. A dataset that a pending or running run reads is not
    deleted. Asks for confirmation on a terminal; elsewhere pass --yes.
    """

    examples = (
        "pdtrain dataset delete iris:2",
        "pdtrain dataset delete iris --all-versions",
        "pdtrain dataset delete old-a:1 old-b:3 --yes",
    )

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "references",
            metavar="<dataset>",
            nargs="+",
            help="name:N or id:N of a version, or a dataset name or id "
            "with --all-versions",
        )
        parser.add_argument(
            "--all-versions",
            action="store_true",
            help="delete whole datasets, every version of each",
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
        targets = self._resolve_all(parsed_args)
        failures = 0
        for text, dataset, number in targets:
            try:
                self._delete_one(dataset, number, parsed_args.yes)
            except PdtrainError as error:
                LOG.error("Cannot delete dataset %s: %s", text, error)
                failures += 1
        if failures:
            total = len(targets)
            raise PdtrainError(
                f"{failures} of {total} datasets were not deleted"
            )
        return 0

    def _resolve_all(self, parsed_args):
        """Resolve every reference, or raise having deleted nothing."""
        targets, errors = [], []
        for text in parsed_args.references:
            try:
                targets.append((text, *self._resolve(text, parsed_args)))
            except PdtrainError as error:
                errors.append((text, error))
        if len(errors) == 1 and len(parsed_args.references) == 1:
            # One line, with exit status 1 as for any failed delete.
            error = errors[0][1]
            raise PdtrainError(str(error)) from error
        for text, error in errors:
            LOG.error("Cannot delete dataset %s: %s", text, error)
        if errors:
            raise PdtrainError(
                f"{len(errors)} of {len(parsed_args.references)} datasets "
                "could not be resolved, so none was deleted; fix or drop "
                "those references"
            )
        return targets

    def _resolve(self, text, parsed_args):
        """Return (dataset, version number or None) for one reference."""
        version = refs.parse(text).version
        if version is not None and parsed_args.all_versions:
            raise UsageError(
                f"{text!r} names one version but --all-versions deletes "
                "them all; drop one of the two"
            )
        if version is None and not parsed_args.all_versions:
            raise UsageError(
                f"{text!r} names a whole dataset: name one version "
                f"({text}:N) or pass --all-versions to delete every version"
            )
        dataset, number = refs.resolve_dataset(self.client, text)
        return dataset, None if version is None else number

    def _delete_one(self, dataset, number, assume_yes):
        label = f"{dataset['name']} ({dataset['id']})"
        if number is None:
            self._delete_dataset(dataset, label, assume_yes)
        else:
            self._delete_version(dataset, number, label, assume_yes)

    def _delete_dataset(self, dataset, label, assume_yes):
        question = f"Delete dataset {label} and all its versions?"
        if not assume_yes and not self._confirm(question):
            self.notice(f"Kept dataset {label}")
            return
        self.client.delete_dataset(dataset["id"])
        self.notice(f"Deleted dataset {label}")

    def _delete_version(self, dataset, number, label, assume_yes):
        if not self.client.has("dataset_version_delete"):
            raise PdtrainError(
                "This server cannot delete single dataset versions; pass "
                "the dataset name with --all-versions to delete all of them"
            )
        question = f"Delete version {number} of dataset {label}?"
        if not assume_yes and not self._confirm(question):
            self.notice(f"Kept version {number} of dataset {label}")
            return
        self.client.delete_dataset_version(dataset["id"], number)
        self.notice(f"Deleted version {number} of dataset {label}")

    def _confirm(self, question) -> bool:
        self.app.stderr.write(f"{question} [y/N] ")
        self.app.stderr.flush()
        return self.app.stdin.readline().strip().lower() in ("y", "yes")
