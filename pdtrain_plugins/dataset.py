"""Commands for datasets and their versions."""

import logging

from cliff import columns as cliff_columns

from pdtrain_core import command, formatting, refs
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
    "version",
    "description",
    "current_version",
    "file_type",
    "row_count",
    "column_count",
    "size_bytes",
    "num_files",
    "validation",
    "warnings",
    "errors",
    "visibility",
    "tags",
    "versions",
    "created_at",
    "updated_at",
)


def _count(value, noun) -> str:
    """Return "1 file" or "3 files"; "? files" when the server sent none."""
    if value is None:
        return f"? {noun}s"
    return formatting.plural(value, noun)


class VersionsColumn(cliff_columns.FormattableColumn):
    """Dataset versions: one summary line each in tables."""

    def human_readable(self):
        lines = []
        for item in self._value or ():
            size = formatting.human_size(item.get("size_bytes"))
            kind = " directory" if item.get("archive") else ""
            line = (
                f"v{item.get('version')}: {size}, "
                f"{_count(item.get('num_files'), 'file')}{kind}"
            )
            metadata = (item.get("validation") or {}).get("metadata") or {}
            if metadata.get("file_type"):
                line += f", {metadata['file_type']}"
            if metadata.get("row_count") is not None:
                line += f", {_count(metadata['row_count'], 'row')}"
            lines.append(line)
        return "\n".join(lines)


FORMATTERS = {
    "size_bytes": formatting.SizeColumn,
    "created_at": formatting.TimeColumn,
    "updated_at": formatting.TimeColumn,
    "tags": formatting.ListColumn,
    "warnings": formatting.ListColumn,
    "errors": formatting.ListColumn,
    "versions": VersionsColumn,
}


def version_details(dataset: dict, number: int | None) -> dict:
    """Return dataset with the fields of version number on top.

    The version's own description, size and validation replace the
    dataset's; a server that lists no such version leaves them as they
    are.
    """
    entries = {v.get("version"): v for v in dataset.get("versions") or ()}
    entry = entries.get(number) or {}
    validation = entry.get("validation") or {}
    metadata = validation.get("metadata") or {}
    details = dict(dataset, version=number)
    for key in ("description", "size_bytes", "num_files"):
        if key in entry:
            details[key] = entry[key]
    details.update(
        file_type=metadata.get("file_type"),
        row_count=metadata.get("row_count"),
        column_count=metadata.get("column_count"),
        validation=validation.get("status"),
        warnings=validation.get("warnings") or [],
        errors=validation.get("errors") or [],
    )
    return details


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
    """Show one version of a dataset, and the list of its versions.

    Without a version the current one is shown. description, size,
    file type, row and column counts and validation warnings are the
    version's own.
    """

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
        dataset, number = refs.resolve_dataset(
            self.client, parsed_args.reference
        )
        details = version_details(dataset, number)
        return SHOW_COLUMNS, formatting.row(details, SHOW_COLUMNS, FORMATTERS)


class DeleteDataset(command.Command):
    """Delete dataset versions, or whole datasets with --all-versions.

    NAME:N (or ID:N) deletes one version; NAME with --all-versions
    deletes the dataset and every version. Deleting frees the quota the
    files used. A dataset that a run reads is not deleted until the run
    ends. Asks for confirmation on a terminal; elsewhere pass --yes.
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
        if not parsed_args.yes:
            self.check_can_confirm("Deleting datasets")
        targets = self._resolve_all(parsed_args)
        failures = 0
        for text, dataset, number in targets:
            try:
                self._delete_one(dataset, number, parsed_args.yes)
            except PdtrainError as error:
                message = f"Cannot delete dataset {text}: {error}"
                if len(targets) == 1:
                    # One reference, one error line.
                    raise PdtrainError(message) from error
                LOG.error(message)
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
        if not assume_yes and not self.confirm(question):
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
        if not assume_yes and not self.confirm(question):
            self.notice(f"Kept version {number} of dataset {label}")
            return
        self.client.delete_dataset_version(dataset["id"], number)
        self.notice(f"Deleted version {number} of dataset {label}")
