"""Commands for training-code bundles."""

import logging
import tempfile
import time
from pathlib import Path

from pdtrain_core import (
    bundle_rules,
    bundle_source,
    command,
    formatting,
    limits,
    packing,
    progress,
    refs,
    uploads,
)
from pdtrain_core.exceptions import (
    ApiError,
    InvalidBundle,
    UsageError,
    WaitTimedOut,
)

LOG = logging.getLogger(__name__)

PATH_KINDS = "a directory, .tar.gz, .tgz, .tar or .zip file"
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


def _check_path(value: str) -> Path:
    """Return the bundle path, rejecting an empty or missing one.

    An empty string would otherwise mean the current directory.
    """
    if not value.strip():
        raise UsageError(
            f"Invalid bundle path '': the path is empty; pass {PATH_KINDS}"
        )
    path = Path(value).expanduser()
    if not path.exists():
        raise UsageError(
            f"Invalid bundle path {value!r}: it does not exist; pass "
            f"{PATH_KINDS}"
        )
    return path


def _check_name(name: str) -> str:
    """Apply the server's name rules before anything is packed or sent."""
    try:
        return limits.check_name("bundle name", name)
    except limits.LimitError as error:
        raise UsageError(f"{error}; pass a valid --name") from None


class UploadBundle(command.ShowOne):
    """Upload training code as a new bundle version.

    PATH is a directory, packed into a tar.gz; a .tar.gz or .tgz,
    uploaded as is; or a .tar or .zip, converted into the same tar.gz a
    directory of those files gives. Packing leaves out VCS folders,
    caches, virtual environments, files matched by the folder's
    .pdtrainignore (gitignore syntax) and --exclude patterns.

    Before anything is sent, an archive is checked: no absolute paths,
    no '..', no links out of the bundle, no devices, at most 100,000
    files and four times the server's bundle size limit unpacked. The
    entry point (train.py, or --entry) must be in the bundle root. The
    server repeats these checks. A bundle that fails them exits 1.

    An unchanged bundle (same sha256 as a version already uploaded) is
    not uploaded again. An upload under an existing name makes a new
    version.
    """

    examples = (
        "pdtrain bundle upload ./my-training-code --name mnist --wait",
        "pdtrain bundle upload . --dry-run",
        "pdtrain bundle upload ./code --exclude 'data/' --exclude '*.ckpt'",
        "pdtrain bundle upload code.zip --entry src/main.py --wait",
    )

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "path",
            metavar="<path>",
            help="directory, or .tar.gz, .tgz, .tar or .zip file to upload",
        )
        parser.add_argument(
            "--entry",
            metavar="<file>",
            default=bundle_rules.DEFAULT_ENTRY,
            help="script that starts training, relative to the bundle root; "
            "the upload fails when it is missing (default: train.py)",
        )
        parser.add_argument(
            "--name",
            metavar="<name>",
            help="bundle name (default: the folder or file name)",
        )
        packing.add_exclude_option(parser)
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="list what would be uploaded, with the total size, the "
            "largest files and likely secrets; upload nothing",
        )
        parser.add_argument(
            "--save-archive",
            metavar="<file>",
            help="also keep the packed or converted archive at this path "
            "(it and its folder are left out of a directory bundle)",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="upload even when the same content is already a version",
        )
        parser.add_argument(
            "--wait",
            action="store_true",
            help="wait while the server is still validating it; a failed "
            "validation exits 1 with the reasons either way",
        )
        return parser

    def take_action(self, parsed_args):
        path = _check_path(parsed_args.path)
        parsed_args.entry = bundle_source.check_entry(parsed_args.entry)
        if path.is_dir():
            return self._upload_folder(path, parsed_args)
        return self._upload_archive(path, parsed_args)

    def _upload_folder(self, path, parsed_args):
        name = _check_name(parsed_args.name or path.resolve().name)
        save = _save_path(parsed_args)
        selection = packing.select(path, parsed_args.exclude, save)
        limit = self._unpack_limit(parsed_args.dry_run)
        bundle_source.check_folder(path, selection, parsed_args.entry, limit)
        if parsed_args.dry_run:
            return packing.dry_run(selection)
        with tempfile.TemporaryDirectory(prefix="pdtrain-") as scratch:
            target = save or Path(scratch) / f"{name}.tar.gz"
            digest = packing.pack(selection, path, target)
            bundle = self._upload(target, name, digest, selection, parsed_args)
        return show_bundle(self._finish(bundle, parsed_args))

    def _upload_archive(self, path, parsed_args):
        name = _check_name(self._check_archive_path(path, parsed_args))
        limit = self._unpack_limit(parsed_args.dry_run)
        checked = bundle_source.check_archive(path, parsed_args.entry, limit)
        if parsed_args.dry_run:
            return packing.dry_run_of_summary(checked.summary)
        with tempfile.TemporaryDirectory(prefix="pdtrain-") as scratch:
            target = _save_path(parsed_args)
            target = target or Path(scratch) / f"{name}.tar.gz"
            sent, digest = bundle_source.to_upload(checked, target)
            bundle = self._upload(sent, name, digest, None, parsed_args)
        return show_bundle(self._finish(bundle, parsed_args))

    def _unpack_limit(self, offline):
        """Return the server's unpacked-size limit; offline, the default."""
        if offline:
            return bundle_source.unpack_limit(None)
        try:
            return bundle_source.unpack_limit(self.client.get_quota())
        except ApiError as error:
            LOG.info("No bundle size limit from the server: %s", error)
            return bundle_source.unpack_limit(None)

    def _check_archive_path(self, path, parsed_args) -> str:
        stem = bundle_source.archive_stem(path)
        if not path.is_file() or stem is None:
            raise UsageError(
                f"Invalid bundle path {str(path)!r}: expected {PATH_KINDS}"
            )
        return parsed_args.name or stem

    def _upload(self, path, name, digest, selection, parsed_args):
        """Upload and finalize the archive; reuse an identical version."""
        if not parsed_args.force:
            same = self._same_version(name, digest, parsed_args.entry)
            if same is not None:
                return same
        size = path.stat().st_size
        offenders = selection.largest(3) if selection else ()
        uploads.preflight(self.client, "bundle", size, offenders)
        uploader = uploads.Uploader(
            self.client,
            lambda label, total: progress.for_app(
                self.app, label, total, "Uploaded"
            ),
        )
        identity = {"kind": "bundle", "name": name, "sha256": digest}
        sent = uploader.upload(
            path, name, identity, lambda: self._presign(name)
        )
        try:
            return self.client.finalize_bundle(
                sent.target.s3_key,
                name=name,
                size_bytes=size,
                sha256=digest,
                entry=parsed_args.entry,
            )
        finally:
            uploader.finished(sent)

    def _presign(self, name):
        answer = self.client.presign_bundle(f"{name}.tar.gz")
        return uploads.Target(
            s3_key=answer["s3_key"],
            url=answer["presigned_url"],
            content_type="application/gzip",
        )

    def _same_version(self, name, digest, entry):
        for bundle in self.client.list_bundles(name=name):
            ready = bundle.get("validation_status") != "failed"
            # A server without the entry_point field cannot differ.
            same_entry = bundle.get("entry_point", entry) == entry
            if bundle.get("sha256") == digest and ready and same_entry:
                self.notice(
                    f"Bundle {name} is unchanged: version "
                    f"{bundle.get('version')} has the same sha256, so "
                    "nothing was uploaded (pass --force to upload anyway)"
                )
                return bundle
        return None

    def _finish(self, bundle, parsed_args):
        """Wait for validation if asked; raise when it is known to fail."""
        if parsed_args.wait:
            bundle = self._wait(bundle)
        if bundle.get("validation_status") == "failed":
            errors = "; ".join(bundle.get("validation_errors") or ())
            raise InvalidBundle(
                f"Bundle {bundle.get('name')} v{bundle.get('version')} "
                f"({bundle.get('id')}) failed validation: "
                f"{errors or 'no reason given'}; fix it and upload again"
            )
        return bundle

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
        return bundle


def _save_path(parsed_args) -> Path | None:
    save = parsed_args.save_archive
    return Path(save).expanduser() if save else None


class ListBundle(command.Lister):
    """List bundles, every version of each."""

    examples = (
        "pdtrain bundle list",
        "pdtrain bundle list --name digits -f json",
    )

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

    examples = (
        "pdtrain bundle show digits:2",
        "pdtrain bundle show digits -f json",
    )

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
