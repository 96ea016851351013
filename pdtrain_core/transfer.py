"""Stream files to and from presigned object-store URLs.

Uploads stream from disk (a PUT with Content-Length, or an S3-style
presigned POST whose form fields precede the file part). Downloads stream
into a temporary file beside the target, are checked against the
expected size and sha256, and only then renamed into place, so an
interrupted download never leaves a file at the final path.

Presigned URLs carry their signature in the query string, so only the
host and path are ever logged.
"""

import contextlib
import hashlib
import logging
import os
import tempfile
import time
import urllib.parse
from pathlib import Path

import requests
from requests_toolbelt.multipart.encoder import (
    MultipartEncoder,
    MultipartEncoderMonitor,
)

from pdtrain_core.exceptions import ApiError, TransferError

LOG = logging.getLogger(__name__)

CHUNK_SIZE = 1024 * 1024
# Connect within 30 s; a stalled stream fails after 5 min without data.
TIMEOUT = (30.0, 300.0)


def _safe_url(url: str) -> str:
    """Return url without its query string, fit for logs and errors."""
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


class _ProgressReader:
    """File wrapper that reports bytes read to a callback.

    ``__len__`` lets requests send Content-Length instead of chunked
    encoding, which S3 presigned PUTs reject.
    """

    def __init__(self, handle, size, progress):
        self._handle = handle
        self._size = size
        self._progress = progress

    def __len__(self):
        return self._size

    def read(self, size=-1):
        data = self._handle.read(size)
        if data and self._progress:
            self._progress(len(data))
        return data


def _check(response, action, name):
    if response.status_code >= 400:
        error = ApiError.from_response(response)
        raise TransferError(f"{action} of {name} failed: {error}")


def _send(method, url, name, **kwargs):
    """Send one transfer request and map network errors."""
    started = time.monotonic()
    try:
        response = requests.request(method, url, timeout=TIMEOUT, **kwargs)
    except requests.RequestException as error:
        raise TransferError(
            f"{method} of {name} to {_safe_url(url)} failed: "
            f"{type(error).__name__}"
        ) from error
    LOG.debug(
        "%s %s -> %s in %.0f ms",
        method,
        _safe_url(url),
        response.status_code,
        (time.monotonic() - started) * 1000,
    )
    return response


def put_file(url, path: Path, content_type="application/gzip", progress=None):
    """Upload path with a streaming PUT to a presigned URL."""
    size = path.stat().st_size
    with open(path, "rb") as handle:
        body = _ProgressReader(handle, size, progress)
        headers = {"Content-Type": content_type, "Content-Length": str(size)}
        response = _send("PUT", url, path.name, data=body, headers=headers)
    _check(response, "Upload", path.name)
    return response


def post_file(
    url,
    fields: dict,
    path: Path,
    file_name=None,
    content_type="application/octet-stream",
    progress=None,
):
    """Upload path as an S3-style presigned POST, fields first."""
    file_name = file_name or path.name
    with open(path, "rb") as handle:
        # S3 ignores every form field that comes after the file part.
        parts = list(fields.items())
        parts.append(("file", (file_name, handle, content_type)))
        encoder = MultipartEncoder(fields=parts)
        last = [0]

        def report(monitor):
            if progress:
                progress(monitor.bytes_read - last[0])
            last[0] = monitor.bytes_read

        monitor = MultipartEncoderMonitor(encoder, report)
        headers = {"Content-Type": monitor.content_type}
        response = _send("POST", url, file_name, data=monitor, headers=headers)
    _check(response, "Upload", file_name)
    return response


def download_file(
    url, target: Path, expected_sha256=None, expected_size=None, progress=None
) -> str:
    """Download url to target atomically and return its sha256.

    Raises TransferError when the size or sha256 differs from the
    expected values; the partial file is removed in every failure.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=".part", dir=target.parent
    )
    try:
        with os.fdopen(handle, "wb") as temp:
            digest, size = _stream_into(url, target.name, temp, progress)
        _verify(target.name, digest, size, expected_sha256, expected_size)
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return digest


def _stream_into(url, name, temp, progress):
    digest = hashlib.sha256()
    size = 0
    with _send("GET", url, name, stream=True) as response:
        _check(response, "Download", name)
        try:
            for chunk in response.iter_content(CHUNK_SIZE):
                temp.write(chunk)
                digest.update(chunk)
                size += len(chunk)
                if progress:
                    progress(len(chunk))
        except requests.RequestException as error:
            raise TransferError(
                f"Download of {name} was cut off after {size} bytes: "
                f"{type(error).__name__}"
            ) from error
    return digest.hexdigest(), size


def _verify(name, digest, size, expected_sha256, expected_size):
    if expected_size is not None and size != int(expected_size):
        raise TransferError(
            f"Download of {name} got {size} bytes, expected {expected_size}"
        )
    if expected_sha256 and digest != expected_sha256.lower():
        raise TransferError(
            f"Download of {name} has sha256 {digest}, expected "
            f"{expected_sha256}; retry the download"
        )


@contextlib.contextmanager
def progress_bar(label, total, stream):
    """Yield a callback that advances a rich bar on stream.

    The bar appears only when stream is a terminal; otherwise the
    callback does nothing, so logs and CI output stay clean.
    """
    if not (hasattr(stream, "isatty") and stream.isatty()):
        yield lambda count: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TransferSpeedColumn,
    )

    columns = (
        "{task.description}",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
    )
    with Progress(
        *columns, console=Console(file=stream), transient=True
    ) as bar:
        task = bar.add_task(label, total=total)
        yield lambda count: bar.advance(task, count)
