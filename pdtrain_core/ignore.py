"""Choose the files of a folder that go into a bundle or dataset archive.

Patterns use gitignore syntax (through pathspec): the built-in defaults,
then the folder's ``.pdtrainignore``, then ``--exclude`` options, so a
later ``!pattern`` can bring back a file an earlier pattern left out.
As in git, a file inside an excluded folder cannot be brought back.
"""

import dataclasses
import logging
import os
from collections.abc import Iterable
from pathlib import Path

import pathspec

LOG = logging.getLogger(__name__)

IGNORE_FILE = ".pdtrainignore"

# Folders and files that never belong in a training bundle or dataset.
DEFAULT_PATTERNS = (
    ".git/",
    ".hg/",
    ".svn/",
    "__pycache__/",
    "*.py[cod]",
    ".venv/",
    "venv/",
    ".tox/",
    ".nox/",
    ".mypy_cache/",
    ".pytest_cache/",
    ".ruff_cache/",
    ".ipynb_checkpoints/",
    ".DS_Store",
)

# Names that usually hold credentials. They are shipped if not excluded,
# but `--dry-run` and every upload warn about them.
SECRET_PATTERNS = pathspec.GitIgnoreSpec.from_lines(
    (
        ".env",
        ".env.*",
        "!.env.example",
        "!.env.sample",
        "!.env.template",
        "*.pem",
        "*.key",
        "*.p12",
        "*.pfx",
        "*.keystore",
        "*.jks",
        "id_rsa",
        "id_dsa",
        "id_ecdsa",
        "id_ed25519",
        ".netrc",
        ".pypirc",
        ".npmrc",
        ".aws/credentials",
        "credentials.json",
        "*service-account*.json",
        "*.tfvars",
    )
)


@dataclasses.dataclass
class Selection:
    """The files chosen from a folder, sorted by archive name."""

    files: list[tuple[str, Path, int]]

    @property
    def total_bytes(self) -> int:
        return sum(size for _, _, size in self.files)

    def largest(self, count: int = 5) -> list[tuple[str, int]]:
        """Return (name, size) of the count largest files."""
        ranked = sorted(self.files, key=lambda item: (-item[2], item[0]))
        return [(name, size) for name, _, size in ranked[:count]]

    def secrets(self) -> list[str]:
        """Return names of files that look like credentials."""
        return [
            name
            for name, _, _ in self.files
            if SECRET_PATTERNS.match_file(name)
        ]

    def pairs(self) -> list[tuple[str, Path]]:
        """Return (archive name, path) pairs, as archive.pack takes."""
        return [(name, path) for name, path, _ in self.files]


def load_patterns(root: Path, excludes: Iterable[str] = ()) -> list[str]:
    """Return the default, .pdtrainignore and command-line patterns."""
    patterns = list(DEFAULT_PATTERNS)
    ignore_file = root / IGNORE_FILE
    if ignore_file.is_file():
        lines = ignore_file.read_text(encoding="utf-8").splitlines()
        patterns.extend(lines)
        LOG.info("Read %d lines from %s", len(lines), ignore_file)
    patterns.extend(excludes)
    return patterns


def _is_virtualenv(folder: Path) -> bool:
    # Every virtual environment that venv or virtualenv creates has this
    # file at its top, whatever the folder is called.
    return (folder / "pyvenv.cfg").is_file()


def select_files(
    root: Path, excludes: Iterable[str] = (), skip: Iterable[Path] = ()
) -> Selection:
    """Walk root and return the files that no pattern excludes.

    skip lists paths (files or folders) to leave out whatever the
    patterns say, such as the archive being written. Symbolic links are
    left out with a warning, because their targets may lie outside root.
    """
    root = Path(root)
    spec = pathspec.GitIgnoreSpec.from_lines(load_patterns(root, excludes))
    skipped = {Path(path).resolve() for path in skip}
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        base = Path(dirpath)
        dirnames[:] = [
            name
            for name in sorted(dirnames)
            if _keep_dir(root, base / name, spec, skipped)
        ]
        for name in filenames:
            path = base / name
            relative = path.relative_to(root).as_posix()
            if spec.match_file(relative) or path.resolve() in skipped:
                continue
            if path.is_symlink() or not path.is_file():
                LOG.warning("Skipping %s: not a regular file", relative)
                continue
            found.append((relative, path, path.stat().st_size))
    found.sort()
    return Selection(found)


def _keep_dir(root: Path, folder: Path, spec, skipped) -> bool:
    relative = folder.relative_to(root).as_posix()
    if folder.is_symlink():
        LOG.warning("Skipping symbolic link %s", relative)
        return False
    if spec.match_file(relative + "/") or folder.resolve() in skipped:
        return False
    if _is_virtualenv(folder):
        LOG.info("Skipping virtual environment %s", relative)
        return False
    return True
