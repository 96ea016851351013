"""Commands for the files a run produced (model, output data, checkpoints)."""

import argparse
import logging
from pathlib import Path

from pdtrain_core import (
    archive,
    artifact_select,
    command,
    downloads,
    formatting,
    progress,
    refs,
    transfer,
)
from pdtrain_core.exceptions import TransferError

LOG = logging.getLogger(__name__)

LIST_COLUMNS = ("path", "kind", "artifact", "size_bytes", "sha256", "time")
FORMATTERS = {
    "size_bytes": formatting.SizeColumn,
    "time": formatting.TimeColumn,
}
ARCHIVE_SUFFIX = artifact_select.ARCHIVE_SUFFIX
# Downloads without --output go to ./artifacts/<run-id>/.
DEFAULT_OUTPUT_DIR = "artifacts"


class ListArtifact(command.Lister):
    """List a run's artifacts and the files inside them.

    Each archive (kind "archive") is followed by the files it contains
    (kind "member"), named as they land after extraction, with their
    size, sha256 and modification time. Checkpoints are listed one file
    each (kind "checkpoint"). A table ends with a total row: the number
    and size of the stored artifacts (members are inside them already);
    machine formats list artifacts and files only.
    """

    examples = (
        "pdtrain artifacts list RUN_ID",
        "pdtrain artifacts list RUN_ID -f json",
    )

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "run_id", metavar="<run-id>", help="run id, id prefix or run name"
        )
        return parser

    def take_action(self, parsed_args):
        parsed_args.run_id = refs.resolve_run_id(
            self.client, parsed_args.run_id
        )
        found = self.client.list_artifacts(parsed_args.run_id)
        listed = artifact_select.rows(found)
        # Members are inside archives already, so only the stored objects
        # (archives, plain files, checkpoints) add up to the total.
        stored = [item for item in listed if item.get("kind") != "member"]
        self._total_bytes = sum(item.get("size_bytes") or 0 for item in stored)
        self._total_count = len(stored)
        LOG.info(
            "Run %s: %d artifacts, %d bytes",
            parsed_args.run_id,
            self._total_count,
            self._total_bytes,
        )
        return LIST_COLUMNS, [
            formatting.row(item, LIST_COLUMNS, FORMATTERS) for item in listed
        ]

    def produce_output(self, parsed_args, column_names, data):
        """Sort the rows, then end a table with a total row.

        NOTE: only tables get the total. In json, yaml, csv and value
        output every row is one artifact or file, so a script can sum
        size_bytes itself and never mistakes a total for an artifact.
        """
        if parsed_args.formatter != "table":
            return super().produce_output(parsed_args, column_names, data)
        rows = list(data)
        if parsed_args.sort_columns:
            rows = command.sort_rows(
                column_names,
                rows,
                parsed_args.sort_columns,
                descending=parsed_args.sort_direction == "desc",
            )
            parsed_args = argparse.Namespace(**vars(parsed_args))
            parsed_args.sort_columns = []
        total = dict.fromkeys(column_names)
        total.update(
            path=f"total ({formatting.plural(self._total_count, 'artifact')})",
            size_bytes=formatting.SizeColumn(self._total_bytes),
        )
        rows.append([total[name] for name in column_names])
        return super().produce_output(parsed_args, column_names, rows)


class DownloadArtifact(command.Lister):
    """Download a run's artifacts, checking size and sha256.

    Files go to ./artifacts/<run-id>/ unless --output names another
    directory. Downloads resume where an interrupted one stopped, and
    each file is renamed into place only once complete and verified.
    --include GLOB (repeatable) fetches only what matches: an artifact
    name such as 'model.tar.gz' selects the whole archive, a file name
    such as 'model/*.pt' only those files from inside it. --extract
    unpacks each whole .tar.gz (model.tar.gz into model/) with path,
    link and size checks.
    """

    examples = (
        "pdtrain artifacts download RUN_ID --output ./model --extract",
        "pdtrain artifacts download RUN_ID --include 'model/*.json'",
    )

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "run_id", metavar="<run-id>", help="run id, id prefix or run name"
        )
        parser.add_argument(
            "--output",
            metavar="<dir>",
            help="target directory (default: ./artifacts/<run-id>)",
        )
        parser.add_argument(
            "--include",
            metavar="<glob>",
            action="append",
            default=[],
            help="download only artifacts or files matching this glob "
            "(repeatable), as `artifacts list` names them",
        )
        parser.add_argument(
            "--extract",
            action="store_true",
            help="unpack .tar.gz artifacts after download",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="replace files that already exist in the target directory",
        )
        return parser

    def take_action(self, parsed_args):
        parsed_args.run_id = refs.resolve_run_id(
            self.client, parsed_args.run_id
        )
        value = parsed_args.output or str(
            Path(DEFAULT_OUTPUT_DIR, parsed_args.run_id)
        )
        output = Path(value).expanduser()
        self._run_id = parsed_args.run_id
        self._force = parsed_args.force
        found = self.client.list_artifacts(parsed_args.run_id)
        if not found:
            LOG.warning("Run %s has no artifacts", parsed_args.run_id)
        chosen = artifact_select.Selection(whole=list(found))
        if parsed_args.include:
            chosen = artifact_select.select(found, parsed_args.include)
        downloads.prepare_output(output, value)
        names = [artifact_select.artifact_name(item) for item in chosen.whole]
        for members in chosen.members.values():
            names.extend(local for _, local in members)
        downloads.check_targets(output, names, parsed_args.force)
        rows = []
        for artifact in chosen.whole:
            target = self._download(artifact, output)
            rows.append(_row(target))
            if parsed_args.extract and target.name.endswith(ARCHIVE_SUFFIX):
                rows.append((str(self._extract(target)), None, None))
        for name, members in chosen.members.items():
            for target in self._download_members(name, members, output):
                rows.append(_row(target))
        return ("file", "size_bytes", "sha256"), rows

    def _fetch(self, url, target, sha256, size, renew):
        label = target.name
        with progress.for_app(self.app, label, size, "Downloaded") as advance:
            transfer.download_file(
                url, target, sha256, size, progress=advance, renew_url=renew
            )
        if not sha256:
            LOG.warning(
                "The server sent no sha256 for %s; only its size was checked",
                label,
            )

    def _download(self, artifact, output):
        target = output / artifact_select.artifact_name(artifact)
        self._fetch(
            artifact["url"],
            target,
            artifact.get("sha256"),
            artifact.get("size_bytes"),
            lambda: self._fresh_url(artifact),
        )
        return target

    def _download_members(self, name, members, output):
        paths = [member for member, _ in members]
        urls = self.client.artifact_file_urls(self._run_id, name, paths)
        by_path = {item["path"]: item for item in urls}
        targets = []
        for member, local in members:
            item = by_path[member]
            target = output / local
            self._fetch(
                item["url"],
                target,
                item.get("sha256"),
                item.get("size_bytes"),
                lambda member=member: self._fresh_member_url(name, member),
            )
            targets.append(target)
        return targets

    def _fresh_member_url(self, name, member) -> str:
        """Return a newly signed URL for a file inside an archive."""
        urls = self.client.artifact_file_urls(self._run_id, name, [member])
        return urls[0]["url"]

    def _fresh_url(self, artifact) -> str:
        """Return a newly signed URL for artifact, after its URL expired."""
        for fresh in self.client.list_artifacts(self._run_id):
            if fresh.get("path") == artifact.get("path"):
                return fresh["url"]
        raise TransferError(
            f"Artifact {artifact.get('path')} is gone from run {self._run_id}"
        )

    def _extract(self, target):
        folder = target.with_name(target.name[: -len(ARCHIVE_SUFFIX)])
        try:
            members = archive.check(target).files
            downloads.check_targets(folder, members, self._force)
            archive.extract(target, folder)
        except archive.ArchiveError as error:
            raise TransferError(f"Cannot unpack {target}: {error}") from error
        LOG.info("Unpacked %s into %s", target, folder)
        return folder


def _row(target: Path):
    return (
        str(target),
        formatting.SizeColumn(target.stat().st_size),
        archive.file_sha256(target),
    )
