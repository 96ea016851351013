"""Commands for training-code bundles."""

import logging
import tempfile
import time
from pathlib import Path

from pdtrain_core import archive, command, formatting, refs, transfer
from pdtrain_core.exceptions import PdtrainError, UsageError, WaitTimedOut

LOG = logging.getLogger(__name__)

ARCHIVE_SUFFIXES = (".tar.gz", ".tgz")
VALIDATION_WAIT = 300.0  # seconds --wait allows for server validation
VALIDATION_POLL = 1.0

LIST_COLUMNS = (
    "id",
    "name",
    "version",
    "validation_status",
    "size_bytes",
    "created_at",
)
SHOW_COLUMNS = (
    "id",
    "name",
    "version",
    "validation_status",
    "validation_errors",
    "validation_warnings",
    "has_requirements_txt",
    "entry_point",
    "entry_point_verified",
    "total_files",
    "size_bytes",
    "sha256",
    "created_at",
)
FORMATTERS = {
    "size_bytes": formatting.SizeColumn,
    "created_at": formatting.TimeColumn,
    "validation_errors": formatting.ListColumn,
    "validation_warnings": formatting.ListColumn,
}


def show_bundle(bundle):
    """Return (columns, values) for one bundle."""
    return SHOW_COLUMNS, formatting.row(bundle, SHOW_COLUMNS, FORMATTERS)


def _archive_stem(path: Path):
    for suffix in ARCHIVE_SUFFIXES:
        if path.name.endswith(suffix):
            return path.name[: -len(suffix)]
    return None


class UploadBundle(command.ShowOne):
    """Upload training code as a new bundle version.

    PATH is a directory, packed into a tar.gz without VCS folders,
    caches and virtual environments, or an existing .tar.gz uploaded
    as is. An upload under an existing name makes a new version.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "path",
            metavar="<path>",
            help="directory or .tar.gz file to upload",
        )
        parser.add_argument(
            "--name",
            metavar="<name>",
            help="bundle name (default: the folder or file name)",
        )
        parser.add_argument(
            "--exclude",
            metavar="<glob>",
            action="append",
            default=[],
            help="leave out matching files (repeatable)",
        )
        parser.add_argument(
            "--wait",
            action="store_true",
            help="wait until the server has validated it",
        )
        return parser

    def take_action(self, parsed_args):
        path = Path(parsed_args.path).expanduser()
        with tempfile.TemporaryDirectory(prefix="pdtrain-") as scratch:
            name, upload = self._prepare(path, parsed_args, Path(scratch))
            bundle = self._upload(upload, name)
        if parsed_args.wait:
            bundle = self._wait(bundle)
        return show_bundle(bundle)

    def _prepare(self, path, parsed_args, scratch):
        """Return (name, archive path), packing a directory if needed."""
        if path.is_dir():
            name = parsed_args.name or path.resolve().name
            files = archive.list_files(path, parsed_args.exclude)
            if not files:
                raise UsageError(f"No files to upload in {path}")
            target = scratch / f"{name}.tar.gz"
            archive.pack(files, target)
            LOG.info("Packed %d files from %s", len(files), path)
            return name, target
        stem = _archive_stem(path)
        if not path.is_file() or stem is None:
            raise UsageError(
                f"Invalid bundle path {str(path)!r}: expected a directory "
                "or a .tar.gz file"
            )
        return parsed_args.name or stem, path

    def _upload(self, path, name):
        size = path.stat().st_size
        sha256 = archive.file_sha256(path)
        target = self.client.presign_bundle(f"{name}.tar.gz")
        with transfer.progress_bar(name, size, self.app.stderr) as advance:
            transfer.put_file(target["presigned_url"], path, progress=advance)
        return self.client.finalize_bundle(
            target["s3_key"], name=name, size_bytes=size, sha256=sha256
        )

    def _wait(self, bundle):
        deadline = time.monotonic() + VALIDATION_WAIT
        while bundle.get("validation_status") == "validating":
            if time.monotonic() > deadline:
                raise WaitTimedOut(
                    f"Bundle {bundle['id']} is still validating after "
                    f"{VALIDATION_WAIT:g} s; check it later with "
                    f"`pdtrain bundle show {bundle['id']}`"
                )
            time.sleep(VALIDATION_POLL)
            bundle = self.client.get_bundle(bundle["id"])
        if bundle.get("validation_status") == "failed":
            errors = "; ".join(bundle.get("validation_errors") or ())
            raise PdtrainError(
                f"Bundle {bundle['name']} v{bundle.get('version')} failed "
                f"validation: {errors or 'no reason given'}"
            )
        return bundle


class ListBundle(command.Lister):
    """List bundles, every version of each."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "--name", metavar="<name>", help="only versions of this bundle"
        )
        parser.add_argument(
            "--limit",
            metavar="<count>",
            type=int,
            help="return at most this many",
        )
        return parser

    def take_action(self, parsed_args):
        bundles = self.client.list_bundles(
            name=parsed_args.name, limit=parsed_args.limit
        )
        rows = [formatting.row(b, LIST_COLUMNS, FORMATTERS) for b in bundles]
        return LIST_COLUMNS, rows


class ShowBundle(command.ShowOne):
    """Show one bundle by id, name (latest), name:N or name:vN."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "reference",
            metavar="<bundle>",
            help="id, name, name:latest, name:N or name:vN",
        )
        return parser

    def take_action(self, parsed_args):
        bundle = refs.resolve_bundle(self.client, parsed_args.reference)
        return show_bundle(self.client.get_bundle(bundle["id"]))
