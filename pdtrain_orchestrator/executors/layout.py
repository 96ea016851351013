"""Build a run's /opt/ml-style tree, stage its inputs, package outputs."""

import json
import logging
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from pdtrain_core import archive

from .base import Channel

LOG = logging.getLogger(__name__)

# sagemaker-training 5.1.4 accepts entry points made of these characters.
_ENTRY_CHARS = re.compile(r"^[A-Za-z0-9_./-]+$")
ENTRY_SUFFIXES = (".py", ".sh")


class InputError(Exception):
    """A bundle, channel or entry point cannot be used for the run."""


@dataclass(frozen=True)
class RunLayout:
    """Paths of one run's tree, laid out like /opt/ml in a container."""

    root: Path

    @property
    def input_dir(self) -> Path:
        return self.root / "input"

    @property
    def config_dir(self) -> Path:
        return self.input_dir / "config"

    @property
    def data_dir(self) -> Path:
        return self.input_dir / "data"

    @property
    def code_dir(self) -> Path:
        return self.root / "code"

    @property
    def model_dir(self) -> Path:
        return self.root / "model"

    @property
    def output_dir(self) -> Path:
        return self.root / "output"

    @property
    def output_data_dir(self) -> Path:
        return self.output_dir / "data"

    @property
    def intermediate_dir(self) -> Path:
        return self.output_dir / "intermediate"

    @property
    def checkpoint_dir(self) -> Path:
        return self.root / "checkpoints"

    @property
    def artifacts_dir(self) -> Path:
        return self.root / "artifacts"

    @property
    def logs_dir(self) -> Path:
        return self.root / "logs"

    def channel_dir(self, name: str) -> Path:
        return self.data_dir / name

    def create(self) -> None:
        """Create every directory of the tree."""
        for path in (
            self.config_dir,
            self.data_dir,
            self.code_dir,
            self.model_dir,
            self.output_data_dir,
            self.intermediate_dir,
            self.checkpoint_dir,
            self.artifacts_dir,
        ):
            path.mkdir(parents=True, exist_ok=True)


def write_json(path: Path, value) -> None:
    """Write value as indented JSON."""
    path.write_text(json.dumps(value, indent=2, sort_keys=True) + "\n")


def extract_bundle(bundle_path: Path, code_dir: Path) -> list[str]:
    """Extract the bundle into code_dir with the archive safety checks."""
    try:
        return archive.extract(bundle_path, code_dir)
    except archive.ArchiveError as error:
        raise InputError(f"bundle cannot be extracted: {error}") from error


def check_entry(entry: str, code_dir: Path) -> Path:
    """Return the entry point's path after checking its name and file."""
    parts = PurePosixPath(entry).parts
    if (
        not entry
        or entry.startswith(("/", "-"))
        or ".." in parts
        or not _ENTRY_CHARS.match(entry)
    ):
        raise InputError(
            f"entry point {entry!r} is invalid: it must be a relative path "
            "inside the bundle, without '..' or a leading '/' or '-', made "
            "of letters, digits, '_', '-', '.' and '/'"
        )
    if not entry.endswith(ENTRY_SUFFIXES):
        raise InputError(
            f"entry point {entry!r} is invalid: it must end in .py or .sh"
        )

    path = code_dir / entry
    if not path.is_file():
        scripts = sorted(
            item.name for item in code_dir.glob("*.py") if item.is_file()
        )
        listed = ", ".join(scripts) if scripts else "none"
        raise InputError(
            f"entry point {entry} not found in the bundle; top-level .py "
            f"files: {listed}"
        )
    return path


def stage_channel(channel: Channel, target: Path) -> int:
    """Place a channel's files under target and return the file count."""
    target.mkdir(parents=True, exist_ok=True)
    names = channel.names or [path.name for path in channel.files]
    if len(names) != len(channel.files):
        raise InputError(
            f"channel {channel.name} has {len(channel.files)} files but "
            f"{len(names)} names"
        )

    count = 0
    for source, name in zip(channel.files, names, strict=True):
        if channel.unpack:
            count += _unpack(source, target, channel.name)
        else:
            _link_or_copy(source, _safe_child(target, name, channel.name))
            count += 1
    return count


def _unpack(source: Path, target: Path, channel_name: str) -> int:
    try:
        return len(archive.extract(source, target))
    except archive.ArchiveError as error:
        raise InputError(
            f"channel {channel_name}: dataset archive cannot be extracted: "
            f"{error}"
        ) from error


def _safe_child(root: Path, name: str, channel_name: str) -> Path:
    parts = PurePosixPath(name).parts
    if not name or name.startswith("/") or ".." in parts:
        raise InputError(
            f"channel {channel_name}: file name {name!r} leaves the channel "
            "directory"
        )
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _link_or_copy(source: Path, target: Path) -> None:
    if not source.is_file():
        raise InputError(f"dataset file {source} is missing from storage")
    # NOTE: a hard link shares the stored object's inode, so a script that
    # rewrites an input file in place would change the stored copy. SageMaker
    # scripts treat input as read-only, and copying large datasets twice
    # costs more than that risk; other filesystems fall back to a copy.
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def package_dir(source: Path, target: Path) -> tuple[int, str]:
    """Pack every file under source into a tar.gz; return size and sha256.

    Members are relative to source with no top folder. Symbolic links are
    skipped with a warning because they may point outside the run.
    """
    digest = archive.pack(list_files(source), target)
    return target.stat().st_size, digest


def list_files(source: Path) -> list[tuple[str, Path]]:
    """Return (relative POSIX path, path) of each regular file, sorted."""
    files = []
    for dirpath, dirnames, filenames in os.walk(source):
        dirnames.sort()
        base = Path(dirpath)
        for name in filenames:
            path = base / name
            relative = path.relative_to(source).as_posix()
            if path.is_symlink() or not path.is_file():
                LOG.warning("Not packaging %s: not a regular file", path)
                continue
            files.append((relative, path))
    files.sort()
    return files
