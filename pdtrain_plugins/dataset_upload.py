"""The `dataset upload` command: check, pack, send and finalize."""

import collections
import logging
import mimetypes
import tempfile
import time
from pathlib import Path

from pdtrain_core import (
    command,
    formatting,
    limits,
    packing,
    progress,
    unchanged,
    uploads,
)
from pdtrain_core.exceptions import (
    NotFound,
    PdtrainError,
    UsageError,
    WaitTimedOut,
)

LOG = logging.getLogger(__name__)

# File name endings the server validates by content, and their types.
FORMATS = {
    ".csv": "csv",
    ".json": "json",
    ".jsonl": "jsonl",
    ".parquet": "parquet",
    ".zip": "zip",
    ".tar.gz": "tar.gz",
    ".tgz": "tar.gz",
}
ACCEPTED_TEXT = ".csv, .json, .jsonl, .parquet, .zip, .tar.gz (.tgz)"
VALIDATION_WAIT = 300.0  # seconds --wait allows for server validation
VALIDATION_POLL = 1.0
# Unknown file endings named in the directory warning, at most.
MAX_SUFFIXES_SHOWN = 5

UPLOAD_COLUMNS = (
    "id",
    "dataset_id",
    "name",
    "version",
    "status",
    "description",
    "validation",
    "file_type",
    "row_count",
    "column_count",
    "size_bytes",
    "warnings",
    "errors",
)


def format_of(name: str) -> str | None:
    """Return the dataset format of a file name, or None if unknown."""
    lowered = name.lower()
    for suffix, kind in FORMATS.items():
        if lowered.endswith(suffix):
            return kind
    return None


def _suffix(name: str) -> str:
    suffix = Path(name).suffix.lower()
    return suffix or "no extension"


def check_file_format(path: Path) -> None:
    """Raise UsageError unless path is a file in an accepted format."""
    if format_of(path.name) is None:
        raise UsageError(
            f"Cannot upload {str(path)!r}: {_suffix(path.name)} is not a "
            f"dataset format; use {ACCEPTED_TEXT} or a directory"
        )


def warn_unchecked(root: Path, names: list[str]) -> None:
    """Log one warning for the files of a directory in unknown formats."""
    counts = collections.Counter(
        _suffix(name) for name in names if format_of(name) is None
    )
    if not counts:
        return
    shown = ", ".join(
        f"{suffix} ({count})"
        for suffix, count in counts.most_common(MAX_SUFFIXES_SHOWN)
    )
    if len(counts) > MAX_SUFFIXES_SHOWN:
        shown += f" and {len(counts) - MAX_SUFFIXES_SHOWN} more endings"
    total = sum(counts.values())
    verb, pronoun = ("is", "it is") if total == 1 else ("are", "they are")
    LOG.warning(
        "%s in %s %s not in a format the server checks (%s); %s "
        "uploaded without content validation",
        formatting.plural(total, "file"),
        root,
        verb,
        shown,
        pronoun,
    )


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

    A file must be CSV, JSON, JSON Lines, Parquet, ZIP or tar.gz and is
    stored as is; a directory is packed into <name>.tar.gz (leaving out
    what .pdtrainignore and --exclude name) and unpacked again for
    training and by `dataset download`. Large files go in parallel
    parts, and running the same command after an interruption resumes
    the upload. The server validates the content before the version
    exists: CSV, JSON and JSON Lines must parse, Parquet must have a
    schema, and archives must be safe to unpack, with their members of
    those formats parsed too. A file that fails leaves no version, and
    the error names the file and the line or member at fault.

    When the latest version already has the same file (same name,
    size and sha256), nothing is uploaded and that version is shown;
    --force uploads a new version anyway.
    """

    examples = (
        "pdtrain dataset upload ./train.csv --name iris",
        "pdtrain dataset upload ./events.jsonl --name clicks --wait",
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
            "--description",
            metavar="<text>",
            help="description of this version, shown by `dataset show`",
        )
        parser.add_argument(
            "--wait",
            action="store_true",
            help="wait until the server has validated the version (at "
            f"most {VALIDATION_WAIT:g} s); this server validates before "
            "it answers, so this only matters on servers that validate "
            "later",
        )
        packing.add_exclude_option(parser)
        parser.add_argument(
            "--force",
            action="store_true",
            help="upload even when the latest version has the same content",
        )
        return parser

    def take_action(self, parsed_args):
        path = Path(parsed_args.path).expanduser()
        name = parsed_args.name
        _check_request(name, parsed_args.description)
        with tempfile.TemporaryDirectory(prefix="pdtrain-") as scratch:
            upload, identity, packed = self._prepare(
                path, name, parsed_args.exclude, Path(scratch)
            )
            result = None
            if not parsed_args.force:
                result = self._unchanged(
                    upload, name, packed, identity, parsed_args.description
                )
            result = result or self._upload(
                upload, name, parsed_args.description, packed, identity
            )
        result = self._settle(result, name, parsed_args.wait)
        return self._shape(result, name, parsed_args.description)

    def _prepare(self, path, name, excludes, scratch):
        """Return (file to upload, resume identity, packed?)."""
        identity = {"kind": "dataset", "name": name}
        if path.is_dir():
            selection = packing.select(path, excludes)
            warn_unchecked(path, [item[0] for item in selection.files])
            target = scratch / f"{name}.tar.gz"
            identity["sha256"] = packing.pack(selection, path, target)
            return target, identity, True
        if not path.is_file():
            raise UsageError(f"Dataset path {str(path)!r} does not exist")
        check_file_format(path)
        status = path.stat()
        identity.update(
            file=str(path.resolve()),
            mtime_ns=status.st_mtime_ns,
        )
        return path, identity, False

    def _unchanged(self, path, name, packed, identity, description):
        """Return the latest version as a finalize body if it is path.

        A --description other than that version's makes a new version,
        since each version keeps its own description.
        """
        kind = "directory" if packed else None
        same = unchanged.same_dataset_version(
            self.client, name, path, kind, identity.get("sha256")
        )
        if same is None:
            return None
        dataset, version = same
        stored = version.get("description")
        if description is not None and description != stored:
            return None
        self.notice(
            f"Dataset {name} is unchanged: version {version['version']} "
            "has the same sha256, so nothing was uploaded (pass --force "
            "to upload anyway)"
        )
        return {
            "dataset_id": dataset["id"],
            "version": version["version"],
            "status": "ready",
            "validation": version.get("validation") or {"status": "passed"},
            "size_bytes": version.get("size_bytes"),
            "description": stored,
        }

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
        # Finalize is the commit point: the server checks size, sha256
        # and content before the version exists.
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
        if result.get("status") != "failed":
            result.setdefault("version", extra["version"])
        result["size_bytes"] = sent.size_bytes
        return result

    def _settle(self, result, name, wait):
        """Raise for a failed validation; with wait, poll a pending one."""
        validation = result.get("validation") or {}
        if validation.get("status") == "validating":
            if not wait:
                self.notice(
                    f"Dataset {name} is still being validated; check it "
                    f"with `pdtrain dataset show {name}` or upload with "
                    "--wait"
                )
                return result
            validation = self._wait(result, name)
            result = dict(result, validation=validation)
        if validation.get("status") == "failed" or (
            result.get("status") == "failed"
        ):
            errors = "; ".join(validation.get("errors") or ())
            raise PdtrainError(
                f"Dataset {name} failed validation and no version was "
                f"stored: {errors or 'no reason given'}"
            )
        return result

    def _wait(self, result, name):
        """Poll the dataset until the version's validation has ended.

        Returns the version's validation. A version listed without one
        counts as passed, since servers store only validated versions.
        """
        number = result.get("version")
        deadline = time.monotonic() + VALIDATION_WAIT
        while time.monotonic() < deadline:
            time.sleep(VALIDATION_POLL)
            entry = self._version_entry(result["dataset_id"], number)
            if entry is None:
                continue
            validation = entry.get("validation") or {"status": "passed"}
            if validation.get("status") != "validating":
                return validation
        raise WaitTimedOut(
            f"Dataset {name} version {number} is still validating after "
            f"{VALIDATION_WAIT:g} s; check it later with "
            f"`pdtrain dataset show {name}:{number}`"
        )

    def _version_entry(self, dataset_id, number):
        try:
            found = self.client.get_dataset(dataset_id)
        except NotFound:
            # A dataset that is new may appear only once validated.
            return None
        for entry in found.get("versions") or ():
            if entry.get("version") == number:
                return entry
        return None

    def _shape(self, result, name, description):
        validation = result.get("validation") or {}
        metadata = validation.get("metadata") or {}
        # "id" matches the bundle upload output; "dataset_id" stays for
        # scripts that already read it.
        values = (
            result.get("dataset_id"),
            result.get("dataset_id"),
            name,
            result.get("version"),
            result.get("status"),
            result.get("description", description),
            validation.get("status"),
            metadata.get("file_type"),
            metadata.get("row_count"),
            metadata.get("column_count"),
            formatting.SizeColumn(result.get("size_bytes")),
            formatting.ListColumn(validation.get("warnings") or []),
            formatting.ListColumn(validation.get("errors") or []),
        )
        return UPLOAD_COLUMNS, values
