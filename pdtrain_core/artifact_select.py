"""Name, list and select the files of a run's artifacts.

Each archive artifact (``model.tar.gz``) contributes one row for itself
and, when the server sends its manifest, one row per file inside it,
named as the file lands after extraction (``model/weights.pt``).
Checkpoints are their own artifacts (``checkpoints/epoch-3.pt``).
``--include`` globs match either an artifact name, which selects the
whole artifact, or the name of a file inside one.
"""

import fnmatch
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from pdtrain_core.exceptions import TransferError, UsageError

ARCHIVE_SUFFIX = ".tar.gz"


def safe_path(text) -> str:
    """Return text as a relative POSIX path, rejecting ones that escape."""
    value = str(text or "").replace("\\", "/").strip("/")
    parts = PurePosixPath(value).parts
    if not parts or any(part in ("", ".", "..") for part in parts):
        raise TransferError(
            f"The server sent an artifact path that is not a safe "
            f"relative path: {text!r}"
        )
    return "/".join(parts)


def artifact_name(artifact) -> str:
    """Return the artifact's name as a safe relative path."""
    return safe_path(artifact.get("name") or artifact.get("path"))


def folder_of(name: str) -> str:
    """Return where an archive extracts: model.tar.gz -> model."""
    if name.endswith(ARCHIVE_SUFFIX):
        return name[: -len(ARCHIVE_SUFFIX)]
    return name


def kind_of(name: str) -> str:
    """Return "checkpoint", "archive" or "file" for an artifact name."""
    if name.startswith("checkpoints/"):
        return "checkpoint"
    return "archive" if name.endswith(ARCHIVE_SUFFIX) else "file"


def rows(artifacts) -> list[dict]:
    """Return one row per artifact and per file inside an archive."""
    found = []
    for artifact in artifacts:
        name = artifact_name(artifact)
        found.append(
            {
                "path": name,
                "kind": kind_of(name),
                "artifact": name,
                "size_bytes": artifact.get("size_bytes"),
                "sha256": artifact.get("sha256"),
                "time": artifact.get("created_at"),
            }
        )
        for entry in artifact.get("files") or ():
            found.append(
                {
                    "path": f"{folder_of(name)}/{safe_path(entry['path'])}",
                    "kind": "member",
                    "artifact": name,
                    "size_bytes": entry.get("size_bytes"),
                    "sha256": entry.get("sha256"),
                    "time": entry.get("modified_at"),
                }
            )
    return found


@dataclass
class Selection:
    """Artifacts to download whole, and files to take out of archives."""

    whole: list = field(default_factory=list)
    # artifact -> [(member path, local path)]
    members: dict = field(default_factory=dict)


def select(artifacts, globs) -> Selection:
    """Select by --include globs; every glob must match something."""
    chosen = Selection()
    used = set()
    for artifact in artifacts:
        name = artifact_name(artifact)
        hits = {glob for glob in globs if fnmatch.fnmatchcase(name, glob)}
        if hits:
            used |= hits
            chosen.whole.append(artifact)
            continue
        for entry in artifact.get("files") or ():
            member = safe_path(entry["path"])
            local = f"{folder_of(name)}/{member}"
            hits = {g for g in globs if fnmatch.fnmatchcase(local, g)}
            if hits:
                used |= hits
                chosen.members.setdefault(name, []).append((member, local))
    unused = [glob for glob in globs if glob not in used]
    if unused:
        raise UsageError(
            f"--include {unused[0]!r} matches no artifact or file; list "
            "them with `pdtrain artifacts list RUN_ID`"
        )
    return chosen
