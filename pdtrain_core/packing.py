"""Folder packing steps shared by `bundle upload` and `dataset upload`.

Choosing the files (see ignore.py), warning about likely secrets,
packing, and the `--dry-run` listing.
"""

import logging
from pathlib import Path

from cliff import columns as cliff_columns

from pdtrain_core import archive, ignore
from pdtrain_core.exceptions import UsageError
from pdtrain_core.formatting import human_size

LOG = logging.getLogger(__name__)

LARGEST_COUNT = 5
DRY_RUN_COLUMNS = ("total_files", "size_bytes", "largest", "secrets", "files")


class SizedFilesColumn(cliff_columns.FormattableColumn):
    """(name, size) pairs: "name (1.2 MiB)" lines in tables and
    [{path, size_bytes}] in machine formats."""

    def human_readable(self):
        return "\n".join(
            f"{name} ({human_size(size)})" for name, size in self._value
        )

    def machine_readable(self):
        return [
            {"path": name, "size_bytes": size} for name, size in self._value
        ]


class NamesColumn(cliff_columns.FormattableColumn):
    """A list of names, one per line in tables."""

    def human_readable(self):
        return "\n".join(self._value)

    def machine_readable(self):
        return list(self._value)


def add_exclude_option(parser) -> None:
    parser.add_argument(
        "--exclude",
        metavar="<pattern>",
        action="append",
        default=[],
        help="leave out files matching this gitignore-style pattern, on "
        f"top of {ignore.IGNORE_FILE} (repeatable)",
    )


def select(root: Path, excludes, save_archive: Path | None = None):
    """Return the Selection of root to pack, warning about secrets.

    save_archive, when it lies inside root, is left out together with
    its folder (unless that folder is root itself).
    """
    skip = []
    if save_archive is not None:
        skip.append(save_archive)
        folder = save_archive.resolve().parent
        if folder != Path(root).resolve():
            skip.append(folder)
    selection = ignore.select_files(root, excludes, skip)
    if not selection.files:
        raise UsageError(
            f"No files to upload in {root}: every file is excluded or the "
            f"folder is empty (check {ignore.IGNORE_FILE} and --exclude)"
        )
    for name in selection.secrets():
        LOG.warning(
            "%s looks like a secret (credentials or a private key); leave "
            "it out with %s or --exclude",
            name,
            ignore.IGNORE_FILE,
        )
    return selection


def pack(selection, root: Path, target: Path) -> str:
    """Pack the selection into target and return the archive's sha256."""
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = archive.pack(selection.pairs(), target)
    LOG.info(
        "Packed %d files (%s) from %s into %s",
        len(selection.files),
        human_size(selection.total_bytes),
        root,
        human_size(target.stat().st_size),
    )
    return digest


def dry_run(selection):
    """Return (columns, values) describing what an upload would send."""
    files = [(name, size) for name, _, size in selection.files]
    return DRY_RUN_COLUMNS, (
        len(files),
        selection.total_bytes,
        SizedFilesColumn(selection.largest(LARGEST_COUNT)),
        NamesColumn(selection.secrets()),
        SizedFilesColumn(files),
    )


def dry_run_of_summary(summary):
    """Describe a checked archive (an ArchiveSummary) as dry_run does a
    folder."""
    entries = [(name, None, summary.sizes[name]) for name in summary.files]
    return dry_run(ignore.Selection(sorted(entries)))
