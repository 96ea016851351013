"""Stream files to and from presigned object-store URLs.

Uploads stream from disk in 256 KiB blocks (a PUT with Content-Length,
or an S3-style presigned POST whose form fields precede the file part)
and hash the file in the same pass. Downloads stream into a partial file
beside the target, resume with HTTP Range after a cut-off, and are
renamed into place only once their size and sha256 match, so a failed
download never leaves a file at the final path. Every request has a
timeout and is retried under the policy of retry.py.

Presigned URLs carry their signature in the query string, so only the
host and path are ever logged.
"""

import hashlib
import logging
import time

import requests
from requests.adapters import HTTPAdapter

from pdtrain_core import downloads
from pdtrain_core.bodies import FileSlice, MultipartFormBody
from pdtrain_core.exceptions import ApiError, TransferError
from pdtrain_core.progress import progress_bar  # noqa: F401 (public API)
from pdtrain_core.retry import RETRY_STATUSES, Attempts, safe_url

LOG = logging.getLogger(__name__)

# Connect within 30 s; a stalled stream fails after 5 min without data.
TIMEOUT = (30.0, 300.0)
# How often one request may fetch a fresh URL after its URL expired.
MAX_RENEWALS = 3
_NETWORK_ERRORS = (requests.ConnectionError, requests.Timeout)
# An empty body is sent as b"" and never read, so nothing feeds its hash.
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def make_session(connections: int = 1) -> requests.Session:
    """Return a session for transfers: pooled, with no built-in retries.

    Retries happen in send(), which can rebuild the request body.
    """
    session = requests.Session()
    adapter = HTTPAdapter(
        pool_connections=1, pool_maxsize=max(1, connections), max_retries=0
    )
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def _error(action: str, name: str, response) -> TransferError:
    error = ApiError.from_response(response)
    return TransferError(f"{action} of {name} failed: {error}")


def send(
    method,
    url,
    name,
    body=None,
    headers=None,
    stream=False,
    session=None,
    renew_url=None,
    accept=(),
):
    """Send one transfer request, retrying it; return the response.

    body may be a FileSlice or MultipartFormBody (rebuilt for each
    attempt by iterating it again). On 403, renew_url() may return a
    fresh URL to try, for when a signed URL expired mid-transfer. A
    status in accept is returned as it is. Any other 4xx, or a failure
    once retries are spent, raises TransferError.
    """
    session = session or make_session()
    attempts = Attempts(method, url, name)
    renewals = 0
    while True:
        response = _attempt(session, method, url, name, body, headers, stream)
        if isinstance(response, Exception):
            attempts.failed(_reason(response), error=response)
            continue
        status = response.status_code
        if status < 400 or status in accept:
            return response
        _rewind(body)
        if status in RETRY_STATUSES:
            attempts.failed(f"HTTP {status}", response=response.raw)
            response.close()
        elif status == 403 and renew_url and renewals < MAX_RENEWALS:
            renewals += 1
            LOG.warning("URL for %s expired or was refused; renewing", name)
            response.close()
            url = renew_url()
        else:
            raise _error(_action(method), name, response)


def _attempt(session, method, url, name, body, headers, stream):
    """Send once; return the response, or the network error it raised."""
    started = time.monotonic()
    try:
        response = session.request(
            method,
            url,
            data=b"" if body is not None and len(body) == 0 else body,
            headers=headers,
            stream=stream,
            timeout=TIMEOUT,
        )
    except _NETWORK_ERRORS as error:
        _rewind(body)
        return error
    LOG.debug(
        "%s %s -> %s in %.0f ms",
        method,
        safe_url(url),
        response.status_code,
        (time.monotonic() - started) * 1000,
    )
    return response


def _rewind(body) -> None:
    if body is not None and hasattr(body, "rewind_progress"):
        body.rewind_progress()


def _action(method: str) -> str:
    return "Download" if method in ("GET", "HEAD") else "Upload"


def _reason(error: Exception) -> str:
    if isinstance(error, requests.Timeout):
        return "timed out"
    text = str(error)
    if "Connection refused" in text:
        return "connection refused"
    if "reset" in text.lower() or "aborted" in text.lower():
        return "connection reset"
    return type(error).__name__


def put_file(
    url, path, content_type="application/gzip", progress=None, session=None
) -> str:
    """Upload path with a streaming PUT to a presigned URL.

    Returns the sha256 of the bytes sent.
    """
    body = FileSlice(path, progress=progress)
    headers = {"Content-Type": content_type, "Content-Length": str(len(body))}
    try:
        send("PUT", url, path.name, body, headers, session=session).close()
    finally:
        digest = body.digest.hexdigest() if body.digest else EMPTY_SHA256
    return digest


def post_file(
    url,
    fields: dict,
    path,
    file_name=None,
    content_type="application/octet-stream",
    progress=None,
    session=None,
) -> str:
    """Upload path as an S3-style presigned POST, fields first.

    Returns the sha256 of the file's bytes.
    """
    file_name = file_name or path.name
    body = MultipartFormBody(
        fields, FileSlice(path, progress=progress), file_name, content_type
    )
    headers = {
        "Content-Type": body.content_type,
        "Content-Length": str(len(body)),
    }
    try:
        send("POST", url, file_name, body, headers, session=session).close()
    finally:
        digest = body.file.digest
        digest = digest.hexdigest() if digest else EMPTY_SHA256
    return digest


def download_file(
    url,
    target,
    expected_sha256=None,
    expected_size=None,
    progress=None,
    renew_url=None,
    session=None,
) -> str:
    """Download url to target, resuming, verified; return its sha256.

    See downloads.Download for the partial file and resume rules.
    Raises TransferError when the size or sha256 differs from the
    expected values; a wrong file never reaches target.
    """
    download = downloads.Download(
        url, target, expected_sha256, expected_size, progress
    )

    def renew():
        download.url = renew_url()
        return download.url

    def fetch(headers):
        return send(
            "GET",
            download.url,
            download.name,
            headers=headers,
            stream=True,
            session=session,
            renew_url=renew if renew_url else None,
            accept=(416,),
        )

    return download.run(fetch)
