"""List and remove the cached training environments of the local executor.

Each environment is a folder ``<envs>/<key>/`` whose completion marker
records what it was built for. A framework install that failed leaves a
record under ``<envs>/failed/`` so the next run create with that version
is rejected at once instead of failing after minutes of pip; removing
the record (``pdtrain server envs delete failed-...``) allows a retry.
"""

import datetime
import fcntl
import json
import logging
import os
import shutil
from pathlib import Path

LOG = logging.getLogger(__name__)

COMPLETE_MARKER = ".pdtrain-complete"
FAILED_DIR = "failed"
FAILED_PREFIX = "failed-"


def _utc(seconds: float) -> str:
    moment = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
    return moment.isoformat()


def write_marker(env_dir: Path, details: dict) -> None:
    """Mark env_dir complete, recording what it was built for."""
    record = dict(
        details, created_at=_utc(datetime.datetime.now().timestamp())
    )
    (env_dir / COMPLETE_MARKER).write_text(json.dumps(record) + "\n")


def touch_marker(env_dir: Path) -> None:
    """Record that a run used env_dir now."""
    os.utime(env_dir / COMPLETE_MARKER)


def _folder_bytes(folder: Path) -> int:
    total = 0
    for base, _, names in os.walk(folder):
        for name in names:
            path = Path(base) / name
            if not path.is_symlink():
                total += path.stat().st_size
    return total


def list_envs(envs_dir: Path) -> list[dict]:
    """Return one dict per complete environment and failure record."""
    found = []
    if not envs_dir.is_dir():
        return found
    for marker in sorted(envs_dir.glob(f"*/{COMPLETE_MARKER}")):
        folder = marker.parent
        try:
            details = json.loads(marker.read_text())
        except ValueError:
            details = {}
        found.append(
            {
                "id": folder.name,
                "status": "ready",
                "framework": details.get("framework"),
                "framework_version": details.get("framework_version"),
                "python": details.get("python"),
                "packages": details.get("packages", []),
                "requirements": bool(details.get("requirements")),
                "size_bytes": _folder_bytes(folder),
                "created_at": details.get("created_at"),
                "last_used_at": _utc(marker.stat().st_mtime),
                "reason": None,
            }
        )
    for record in sorted((envs_dir / FAILED_DIR).glob("*.json")):
        details = json.loads(record.read_text())
        found.append(
            {
                "id": FAILED_PREFIX + record.stem,
                "status": "failed",
                "framework": details.get("framework"),
                "framework_version": details.get("framework_version"),
                "python": details.get("python"),
                "packages": details.get("packages", []),
                "requirements": False,
                "size_bytes": 0,
                "created_at": details.get("created_at"),
                "last_used_at": None,
                "reason": details.get("reason"),
            }
        )
    return found


class EnvironmentBusy(Exception):
    """The environment is being built or is in use by a build."""


def delete_env(envs_dir: Path, env_id: str) -> bool:
    """Remove an environment or failure record; False if none exists.

    Raises EnvironmentBusy while a run holds the environment's lock.
    """
    if "/" in env_id or env_id in ("", ".", ".."):
        return False
    if env_id.startswith(FAILED_PREFIX):
        record = envs_dir / FAILED_DIR / f"{env_id[len(FAILED_PREFIX) :]}.json"
        if not record.is_file():
            return False
        record.unlink()
        return True
    folder = envs_dir / env_id
    if not (folder / COMPLETE_MARKER).is_file():
        return False
    with open(envs_dir / f"{env_id}.lock", "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise EnvironmentBusy(env_id) from None
        # NOTE: a run that already started with this environment keeps
        # its open files, but its interpreter's later imports fail.
        shutil.rmtree(folder)
    LOG.info("Removed cached environment %s", env_id)
    return True


def failure_name(framework: str, version: str, python: str) -> str:
    """Return the record name of a failed framework install."""
    return f"{framework}-{version}-{python}"


def record_failure(envs_dir: Path, details: dict, reason: str) -> None:
    """Remember that installing a framework version failed here."""
    folder = envs_dir / FAILED_DIR
    folder.mkdir(parents=True, exist_ok=True)
    name = failure_name(
        details["framework"], details["framework_version"], details["python"]
    )
    record = dict(
        details,
        reason=reason,
        created_at=_utc(datetime.datetime.now().timestamp()),
    )
    (folder / f"{name}.json").write_text(json.dumps(record) + "\n")


def failed_install(
    envs_dir: Path, framework: str, version: str, python: str
) -> str | None:
    """Return the reason a framework version failed to install, if it did."""
    path = (
        envs_dir
        / FAILED_DIR
        / f"{failure_name(framework, version, python)}.json"
    )
    if not path.is_file():
        return None
    return json.loads(path.read_text()).get("reason") or "unknown reason"
