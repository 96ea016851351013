"""Upload one bundle or dataset file to where a presign points.

Small files, and every file on a server without the `multipart`
capability, go in one streamed PUT or presigned POST. Files from the
multipart threshold up go in parallel parts; the presign and the upload
id are saved first, so the same command run again after Ctrl-C, a
dropped connection or an expired URL continues the same upload and
sends only the missing parts.

Before anything is sent, preflight() compares the size with the quota
the server reports; the server checks again at finalize.
"""

import dataclasses
import logging
from pathlib import Path

from pdtrain_core import archive, multipart, transfer, transfer_settings
from pdtrain_core.exceptions import ApiError, NotFound, QuotaExceeded
from pdtrain_core.formatting import human_size
from pdtrain_core.upload_state import UploadState

LOG = logging.getLogger(__name__)

GIB = 1024**3
MIB = 1024**2


@dataclasses.dataclass
class Target:
    """Where a presign says to send a file, and what finalize needs."""

    s3_key: str
    url: str
    # Form fields of a presigned POST; None means a presigned PUT.
    fields: dict | None = None
    content_type: str = "application/octet-stream"
    extra: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class Uploaded:
    """A file that reached the object store, ready to finalize."""

    target: Target
    sha256: str
    size_bytes: int
    resumed: bool
    identity: dict | None = None


class Uploader:
    """Send files with progress; progress(label, total) is a context
    manager that yields a callback taking a byte count."""

    def __init__(self, client, progress, settings=None, state=None):
        self.client = client
        self.progress = progress
        self.settings = settings or transfer_settings.from_environ()
        self.state = state or UploadState()

    def upload(self, path: Path, label: str, identity: dict, presign):
        """Upload path; presign() returns a Target when one is needed.

        identity names the upload across runs (see upload_state).
        """
        size = path.stat().st_size
        multipart_ok = self.client.has("multipart")
        if size < self.settings.multipart_threshold or not multipart_ok:
            target = presign()
            with self.progress(label, size) as advance:
                digest = self._send_whole(path, target, advance)
            return Uploaded(target, digest, size, resumed=False)
        identity = dict(identity, server=self.client.base_url, size=size)
        return self._upload_parts(path, label, identity, presign, size)

    def _send_whole(self, path, target: Target, advance) -> str:
        if target.fields is None:
            return transfer.put_file(
                target.url, path, target.content_type, advance
            )
        return transfer.post_file(
            target.url,
            target.fields,
            path,
            content_type=target.content_type,
            progress=advance,
        )

    def _upload_parts(self, path, label, identity, presign, size):
        target, upload = self._resume(identity)
        resumed = upload is not None
        if upload is None:
            target = presign()
            upload = self.client.create_multipart(
                target.s3_key, size, self.settings.part_size
            )
            state = {
                "target": dataclasses.asdict(target),
                "upload_id": upload["upload_id"],
            }
            self.state.save(identity, state)
        with self.progress(label, size) as advance:
            if upload.get("status") == "completed":
                # Completed by an earlier run that stopped before finalize.
                advance(size)
                digest = archive.file_sha256(path)
            else:
                digest = multipart.send_parts(
                    self.client, path, upload, self.settings.workers, advance
                )
        return Uploaded(target, digest, size, resumed, identity)

    def _resume(self, identity):
        saved = self.state.load(identity)
        if not saved:
            return None, None
        try:
            upload = self.client.get_multipart(saved["upload_id"])
        except NotFound:
            LOG.info("The saved upload is gone from the server; restarting")
            self.state.clear(identity)
            return None, None
        LOG.info("Resuming upload %s", saved["upload_id"])
        return Target(**saved["target"]), upload

    def finished(self, uploaded: Uploaded) -> None:
        """Forget a resumable upload once finalize has answered."""
        if uploaded.identity is not None:
            self.state.clear(uploaded.identity)


def preflight(client, kind: str, size: int, offenders=()) -> None:
    """Raise QuotaExceeded when size cannot fit the quota.

    kind is "bundle" or "dataset". offenders lists (name, size) of the
    largest files, named in the message. A server without a quota
    endpoint is not checked here.
    """
    try:
        quota = client.get_quota()
    except ApiError as error:
        LOG.info("No quota preflight: %s", error)
        return
    limits = quota.get("limits") or {}
    if kind == "bundle":
        limit = _scaled(limits.get("max_single_bundle_size_mb"), MIB)
        usage = quota.get("bundles") or {}
    else:
        limit = _scaled(limits.get("max_single_dataset_size_gb"), GIB)
        usage = quota.get("datasets") or {}
    if limit and size > limit:
        raise QuotaExceeded(
            f"The {kind} is {human_size(size)}, over the limit of "
            f"{human_size(limit)} per {kind}" + _offenders(offenders)
        )
    used = _scaled(usage.get("current_storage_gb"), GIB) or 0
    allowed = _scaled(usage.get("max_storage_gb"), GIB)
    if allowed and used + size > allowed:
        raise QuotaExceeded(
            f"The {kind} ({human_size(size)}) does not fit the {kind} "
            f"storage quota: {human_size(used)} of {human_size(allowed)} "
            f"used; {_FREE_SPACE_HINTS[kind]}"
        )


_FREE_SPACE_HINTS = {
    "bundle": "delete old versions with `pdtrain bundle delete NAME:N` "
    "(`pdtrain quota` lists the largest) or ask for a higher limit",
    "dataset": "delete old versions with `pdtrain dataset delete NAME:N` "
    "(`pdtrain quota` lists the largest) or ask for a higher limit",
}


def _scaled(value, unit) -> int | None:
    return None if value is None else int(float(value) * unit)


def _offenders(offenders) -> str:
    if not offenders:
        return ""
    listed = ", ".join(
        f"{name} ({human_size(size)})" for name, size in offenders
    )
    return (
        f"; largest files: {listed}; leave files out with .pdtrainignore "
        "or --exclude"
    )
