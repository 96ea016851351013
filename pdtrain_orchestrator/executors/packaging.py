"""Turn a finished run's directories into artifacts and metrics.

``model/`` becomes ``model.tar.gz`` and ``output/data/`` becomes
``output.tar.gz``, each reported with a manifest of the files inside.
Each checkpoint file is reported on its own as ``checkpoints/<path>``,
as SageMaker copies checkpoints to S3 file by file. A JSON object in
``model/metrics.json`` is reported as the run's metrics.
"""

import datetime
import json
import logging
from pathlib import Path

from pdtrain_core import archive

from . import layout

LOG = logging.getLogger(__name__)

METRICS_FILE = "metrics.json"
# A metrics file larger than this is not read: metrics are a few numbers.
MAX_METRICS_BYTES = 1024 * 1024
CHECKPOINT_PREFIX = "checkpoints/"


def manifest(source: Path) -> list[dict]:
    """Return path, size, sha256 and modification time of each file."""
    entries = []
    for relative, path in layout.list_files(source):
        stat = path.stat()
        modified = datetime.datetime.fromtimestamp(
            stat.st_mtime, tz=datetime.timezone.utc
        )
        entries.append(
            {
                "path": relative,
                "size_bytes": stat.st_size,
                "sha256": archive.file_sha256(path),
                "modified_at": modified.isoformat(),
            }
        )
    return entries


def package(run_id: str, tree: layout.RunLayout, report) -> None:
    """Pack and report the artifacts of run_id through report(...).

    report(callback_name, run_id, *arguments) calls one RunEvents
    method; see LocalExecutor._report.
    """
    for name, source in (
        ("model.tar.gz", tree.model_dir),
        ("output.tar.gz", tree.output_data_dir),
    ):
        files = manifest(source)
        target = tree.artifacts_dir / name
        size, digest = layout.package_dir(source, target)
        LOG.info("Run %s: packaged %s (%d bytes)", run_id, name, size)
        report("artifact", run_id, name, target, size, digest, files)
    for entry in manifest(tree.checkpoint_dir):
        name = CHECKPOINT_PREFIX + entry["path"]
        path = tree.checkpoint_dir / entry["path"]
        report(
            "artifact",
            run_id,
            name,
            path,
            entry["size_bytes"],
            entry["sha256"],
            None,
        )
    metrics = read_metrics(tree.model_dir / METRICS_FILE)
    if metrics is not None:
        report("metrics", run_id, metrics)


def read_metrics(path: Path) -> dict | None:
    """Return the JSON object in path, or None (with a warning if bad)."""
    if not path.is_file():
        return None
    if path.stat().st_size > MAX_METRICS_BYTES:
        LOG.warning(
            "Ignoring %s: larger than %d bytes", path, MAX_METRICS_BYTES
        )
        return None
    try:
        value = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as error:
        LOG.warning("Ignoring %s: not valid JSON (%s)", path, error)
        return None
    if not isinstance(value, dict):
        LOG.warning("Ignoring %s: not a JSON object", path)
        return None
    return value
