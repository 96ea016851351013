"""The one door from the CLI to the orchestrator-api (``/v1``).

Every call goes through ``Client._request``, which joins the URL, sets a
timeout and the Bearer header, retries idempotent requests on connection
errors, 429 and 5xx (with jittered backoff, honouring Retry-After), logs
one DEBUG line per request and turns error responses into the
``ApiError`` tree. The client never prints or prompts.
"""

import logging
import os
import time
import urllib.parse

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from pdtrain_core import __version__, retry
from pdtrain_core.exceptions import (
    ApiError,
    NotFound,
    ServerError,
    ServerUnavailable,
    UsageError,
)

LOG = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 30.0  # seconds, per connect and per read
# Bytes per second of upload that a dataset finalize is given to return.
# The reference server parses JSON Lines at about 6 MB/s on 2 cores, so
# this leaves room and large files do not time out while validated.
FINALIZE_RATE = 2 * 1024 * 1024
TIMEOUT_ENV = "PDTRAIN_TIMEOUT"
RETRIES_ENV = "PDTRAIN_RETRIES"
DEFAULT_RETRIES = 3
# Upper bounds of PDTRAIN_TIMEOUT (one day) and PDTRAIN_RETRIES. Larger
# timeouts overflow the socket layer's time_t, and backoff between
# retries grows to 2 minutes, so 100 retries already wait for hours.
MAX_TIMEOUT = 86400.0
MAX_RETRIES = 100
RETRY_STATUSES = (429, 500, 502, 503, 504)
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
PAGE_SIZE = 100
# Seconds between the attempts of a run create with an idempotency key.
CREATE_RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0)


class _LoggingRetry(Retry):
    """urllib3 Retry that logs each retry at WARNING, path only."""

    def increment(self, method=None, url=None, *args, **kwargs):
        new = super().increment(method, url, *args, **kwargs)
        path = urllib.parse.urlsplit(url or "").path
        error = kwargs.get("error")
        response = kwargs.get("response")
        if response is not None:
            reason = f"HTTP {response.status}"
        else:
            reason = _reason(error)
        LOG.warning("Retrying %s %s after %s", method, path, reason)
        return new


def make_session(retries=None) -> requests.Session:
    """Return a session that retries idempotent requests with backoff.

    retries defaults to PDTRAIN_RETRIES, else DEFAULT_RETRIES.
    """
    if retries is None:
        retries = _configured_retries()
    retry = _LoggingRetry(
        total=retries,
        connect=retries,
        read=0,  # a read failure may have reached the server
        status=retries,
        backoff_factor=0.5,
        backoff_jitter=0.5,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=IDEMPOTENT_METHODS,
        raise_on_status=False,
    )
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = f"pdtrain/{__version__}"
    return session


def _configured_retries() -> int:
    text = os.environ.get(RETRIES_ENV, "")
    if not text:
        return DEFAULT_RETRIES
    # isdigit() alone accepts digits such as "²" that int() rejects.
    if not (text.isascii() and text.isdigit()) or int(text) > MAX_RETRIES:
        raise UsageError(
            f"Invalid {RETRIES_ENV}={text!r}: expected a whole number of "
            f"retries from 0 to {MAX_RETRIES}, such as {DEFAULT_RETRIES}"
        )
    return int(text)


def configured_timeout() -> float:
    """Return the request timeout from PDTRAIN_TIMEOUT or the default."""
    text = os.environ.get(TIMEOUT_ENV, "")
    if not text:
        return DEFAULT_TIMEOUT
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds <= MAX_TIMEOUT:
        raise UsageError(
            f"Invalid {TIMEOUT_ENV}={text!r}: expected a positive number "
            f"of seconds up to {MAX_TIMEOUT:g}, such as 30"
        )
    return seconds


def items_of(body) -> list:
    """Return the list from a bare JSON array or an {items} object."""
    # Older servers send a bare JSON array, newer ones may wrap it.
    if isinstance(body, list):
        return body
    if isinstance(body, dict):
        for key in ("items", "bundles", "datasets", "runs"):
            if isinstance(body.get(key), list):
                return body[key]
    raise ServerError(200, f"expected a list, got {type(body).__name__}")


class Client:
    """HTTP client of the orchestrator-api ``/v1`` contract."""

    def __init__(
        self, base_url, api_key=None, timeout=None, session=None
    ):
        base = base_url.rstrip("/")
        if base.endswith("/v1"):
            base = base[: -len("/v1")]
        self.base_url = base
        self.api_key = api_key
        self.timeout = timeout or configured_timeout()
        self.session = session or make_session()
        self._capabilities = None
        # Called as on_request(method, path) around each request; the
        # context manager it returns may show a spinner (see spinner.py).
        self.on_request = None

    def _request(
        self,
        method,
        path,
        params=None,
        json=None,
        expect_json=True,
        headers=None,
        timeout=None,
    ):
        """Send one request and return the decoded JSON body.

        timeout (seconds) replaces the client's read timeout for this
        request only.
        """
        headers = {"Accept": "application/json", **(headers or {})}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        if params:
            params = {k: v for k, v in params.items() if v is not None}

        started = time.monotonic()
        send = (method, path, params, json, headers, timeout)
        if self.on_request is None:
            response = self._send(*send)
        else:
            with self.on_request(method, path):
                response = self._send(*send)
        elapsed_ms = (time.monotonic() - started) * 1000
        LOG.debug(
            "%s %s -> %s in %.0f ms",
            method,
            path,
            response.status_code,
            elapsed_ms,
        )

        if response.status_code >= 400:
            raise ApiError.from_response(response)
        if not expect_json or response.status_code == 204:
            return response
        return _decode(response, method, path)

    def _repeatable(self, method, path, **kwargs):
        """Send a request the server treats as idempotent.

        It is repeated after a 502, 503 or 504 response, up to
        PDTRAIN_RETRIES times (see retry.repeat).
        """
        return retry.repeat(
            lambda: self._request(method, path, **kwargs),
            method,
            path,
            _configured_retries(),
        )

    def _send(self, method, path, params, json, headers, timeout=None):
        """Send through the retrying session, mapping network failures."""
        timeout = timeout or self.timeout
        try:
            return self.session.request(
                method,
                self.base_url + path,
                params=params,
                json=json,
                headers=headers,
                timeout=timeout,
            )
        except requests.Timeout as error:
            raise ServerUnavailable(
                self.base_url, f"no response within {timeout:g} s"
            ) from error
        except requests.ConnectionError as error:
            reason = _reason(error)
            if reason == "timed out":
                # urllib3 wraps a read timeout in a connection error once
                # its retries are spent.
                reason = f"no response within {self.timeout:g} s"
            raise ServerUnavailable(self.base_url, reason) from error
        except requests.exceptions.ChunkedEncodingError as error:
            # The server closed the connection in the middle of a body,
            # as when its process is killed.
            raise ServerUnavailable(
                self.base_url, "connection closed mid-response"
            ) from error

    # -- meta ---------------------------------------------------------

    def health(self):
        """Return the server's health document."""
        return self._request("GET", "/v1/health")

    def capabilities(self) -> frozenset:
        """Return the additive features the server offers (cached)."""
        if self._capabilities is None:
            try:
                body = self._request("GET", "/v1/capabilities")
            except NotFound:
                # Servers of the published contract have no such endpoint.
                body = {}
            found = body.get("capabilities", []) if body else []
            self._capabilities = frozenset(found)
            LOG.debug("Server capabilities: %s", sorted(found))
        return self._capabilities

    def has(self, capability) -> bool:
        """Return True when the server offers capability."""
        return capability in self.capabilities()

    def check_key(self):
        """Make one cheap authenticated call; raise Unauthorized if bad."""
        self._request("GET", "/v1/bundles", params={"limit": 1})

    # -- lists ---------------------------------------------------------

    def _list(self, path, params=None, limit=None):
        """Return up to limit items, or every item page by page."""
        params = dict(params or {})
        if limit is not None:
            params["limit"] = limit
            return items_of(self._request("GET", path, params=params))
        found, seen = [], set()
        offset = 0
        while True:
            params.update(limit=PAGE_SIZE, offset=offset)
            page = items_of(self._request("GET", path, params=params))
            fresh = [i for i in page if _key(i) not in seen]
            found.extend(fresh)
            seen.update(_key(i) for i in fresh)
            # A server that ignores offset repeats its first page.
            if len(page) < PAGE_SIZE or not fresh:
                return found
            offset += len(page)

    # -- bundles -------------------------------------------------------

    def presign_bundle(
        self, file_name, content_type="application/gzip", expires_in=3600
    ):
        """Return {presigned_url, s3_key} for uploading a bundle file."""
        body = {
            "operation": "put_object",
            "path": f"bundles/{file_name}",
            "content_type": content_type,
            "expires_in": expires_in,
        }
        return self._request("POST", "/v1/storage/presign", json=body)

    def finalize_bundle(
        self, s3_key, name=None, size_bytes=None, sha256=None, entry=None
    ):
        """Commit an uploaded bundle file and return the bundle.

        A named entry makes the server fail validation when the bundle
        lacks that file.
        """
        body = {
            "s3_key": s3_key,
            "name": name,
            "size_bytes": size_bytes,
            "sha256": sha256,
            "entry": entry,
        }
        body = {k: v for k, v in body.items() if v is not None}
        # The server returns the same bundle for the same s3_key.
        return self._repeatable("POST", "/v1/bundles/finalize", json=body)

    def list_bundles(self, name=None, limit=None):
        """Return bundles, newest first, optionally of one name."""
        bundles = self._list("/v1/bundles", {"name": name}, limit)
        if name is not None:
            bundles = [b for b in bundles if b.get("name") == name]
        return bundles

    def get_bundle(self, bundle_id):
        """Return one bundle by id."""
        return self._request("GET", f"/v1/bundles/{_quote(bundle_id)}")

    def delete_bundle(self, bundle_id):
        """Delete one bundle version (capability bundle_delete), return it."""
        return self._request("DELETE", f"/v1/bundles/{_quote(bundle_id)}")

    # -- datasets ------------------------------------------------------

    def presign_dataset(self, name, files, description=None, dataset_id=None):
        """Return {dataset_id, version, presigned} for new files."""
        body = {"dataset_name": name, "files": files}
        if description is not None:
            body["description"] = description
        if dataset_id is not None:
            body["dataset_id"] = dataset_id
        return self._request("POST", "/v1/datasets/presign", json=body)

    def finalize_dataset(self, dataset_id, version, files, archive=None):
        """Commit an uploaded dataset version; return its validation."""
        body = {
            "dataset_id": dataset_id,
            "version": version,
            "size_bytes": sum(f["size_bytes"] for f in files),
            "num_files": len(files),
            "set_current": True,
            "files": files,
        }
        if archive:
            body["archive"] = archive
        # The server hashes and parses every file before it responds.
        seconds = max(self.timeout, body["size_bytes"] / FINALIZE_RATE)
        # A finalize of a committed version returns that version.
        return self._repeatable(
            "POST", "/v1/datasets/finalize", json=body, timeout=seconds
        )

    def list_datasets(self, name=None, limit=None):
        """Return datasets, optionally of one name."""
        datasets = self._list("/v1/datasets", {"name": name}, limit)
        if name is not None:
            datasets = [d for d in datasets if d.get("name") == name]
        return datasets

    def get_dataset(self, dataset_id):
        """Return one dataset by id."""
        return self._request("GET", f"/v1/datasets/{_quote(dataset_id)}")

    def delete_dataset(self, dataset_id):
        """Delete a dataset and every version of it."""
        self._request(
            "DELETE", f"/v1/datasets/{_quote(dataset_id)}", expect_json=False
        )

    def dataset_download(self, dataset_id, version):
        """Return {files: [{file_name, download_url, size_bytes}]}."""
        path = (
            f"/v1/datasets/{_quote(dataset_id)}/versions/"
            f"{_quote(version)}/download"
        )
        return self._request("GET", path)

    # -- runs ----------------------------------------------------------

    def create_run(self, body, idempotency_key=None):
        """Create a run from a run-create body and return it.

        With idempotency_key the POST is safe to repeat, so it is retried
        after a connection failure or a 502, 503 or 504 answer; a server
        that saw the first attempt returns the run it made then.
        """
        if idempotency_key is None:
            return self._request("POST", "/v1/runs", json=body)
        headers = {"Idempotency-Key": idempotency_key}
        for delay in (*CREATE_RETRY_DELAYS, None):
            try:
                return self._request(
                    "POST", "/v1/runs", json=body, headers=headers
                )
            except (ServerUnavailable, ServerError) as error:
                status = getattr(error, "status", None)
                retryable = status is None or status in (502, 503, 504)
                if delay is None or not retryable:
                    raise
                LOG.warning("Retrying run create in %g s: %s", delay, error)
                time.sleep(delay)

    def list_runs(self, status=None, name=None, limit=None):
        """Return runs, newest first, filtered by status and name."""
        params = {"status": status, "name": name}
        runs = self._list("/v1/runs", params, limit)
        if status is not None:
            runs = [r for r in runs if r.get("status") == status]
        if name is not None:
            runs = [r for r in runs if r.get("name") == name]
        return runs

    def get_run(self, run_id):
        """Return one run by id."""
        return self._request("GET", f"/v1/runs/{_quote(run_id)}")

    def run_action(self, run_id, action):
        """POST submit, stop or refresh on a run and return the run.

        Each is safe to repeat: the server returns a run that was
        submitted or stopped already as it is.
        """
        path = f"/v1/runs/{_quote(run_id)}/{action}"
        return self._repeatable("POST", path)

    def get_logs(
        self,
        run_id,
        limit=None,
        next_token=None,
        start_time=None,
        stream=None,
        grep=None,
        ignore_case=False,
    ):
        """Return {events, next_token?, status?, more?} for a run's logs.

        start_time (epoch ms) and stream need the log_filters capability,
        grep (a Python regular expression) and ignore_case need log_grep.
        """
        params = {
            "limit": limit,
            "next_token": next_token,
            "start_time": start_time,
            "stream": stream,
            "grep": grep,
            "ignore_case": "true" if grep and ignore_case else None,
        }
        return self._request(
            "GET", f"/v1/runs/{_quote(run_id)}/logs", params=params
        )

    def list_artifacts(self, run_id):
        """Return the artifacts of a run."""
        body = self._request("GET", f"/v1/runs/{_quote(run_id)}/artifacts")
        if isinstance(body, dict) and "artifacts" in body:
            return body["artifacts"]
        return items_of(body)

    def get_quota(self):
        """Return the storage quota document."""
        return self._request("GET", "/v1/storage/quota")

    def artifact_file_urls(self, run_id, artifact, paths):
        """Return signed URLs of files inside an artifact archive."""
        body = {"artifact": artifact, "paths": list(paths)}
        path = f"/v1/runs/{_quote(run_id)}/artifacts/files"
        return self._request("POST", path, json=body)["files"]

    def list_envs(self):
        """Return the server's cached framework environments."""
        return items_of(self._request("GET", "/v1/envs"))

    def delete_env(self, env_id):
        """Remove a cached environment or a failed-install record."""
        self._request("DELETE", f"/v1/envs/{_quote(env_id)}")

    def delete_dataset_version(self, dataset_id, version):
        """Delete one dataset version (capability dataset_version_delete)."""
        path = f"/v1/datasets/{_quote(dataset_id)}/versions/{int(version)}"
        self._request("DELETE", path, expect_json=False)

    # -- multipart uploads (capability `multipart`) --------------------

    def create_multipart(self, s3_key, size_bytes, part_size=None):
        """Start a multipart upload to a presigned key; return it."""
        body = {"s3_key": s3_key, "size_bytes": size_bytes}
        if part_size:
            body["part_size"] = part_size
        return self._request("POST", "/v1/storage/multipart", json=body)

    def get_multipart(self, upload_id):
        """Return an upload with the parts the server stores."""
        path = f"/v1/storage/multipart/{_quote(upload_id)}"
        return self._request("GET", path)

    def presign_parts(self, upload_id, part_numbers):
        """Return {parts: [{part_number, url, size_bytes}], expires_at}."""
        path = f"/v1/storage/multipart/{_quote(upload_id)}/parts"
        body = {"part_numbers": list(part_numbers)}
        return self._request("POST", path, json=body)

    def complete_multipart(self, upload_id, parts):
        """Join the parts [{part_number, etag}] into the object."""
        path = f"/v1/storage/multipart/{_quote(upload_id)}/complete"
        return self._request("POST", path, json={"parts": parts})

    def abort_multipart(self, upload_id):
        """Abort an upload and drop its stored parts."""
        path = f"/v1/storage/multipart/{_quote(upload_id)}"
        self._request("DELETE", path, expect_json=False)


def _quote(value) -> str:
    text = urllib.parse.quote(str(value), safe="")
    # requests drops "." and ".." path segments, so `run show .` would
    # read the run list; percent-encoded dots stay one segment.
    if text in (".", ".."):
        text = text.replace(".", "%2E")
    return text


def _key(item):
    return item.get("id") if isinstance(item, dict) else repr(item)


def _reason(error) -> str:
    """Return a short cause for a connection error, for messages."""
    text = str(error)
    for marker, reason in _CONNECTION_REASONS:
        if marker in text:
            return reason
    return type(error).__name__


_CONNECTION_REASONS = (
    ("Connection refused", "connection refused"),
    ("Name or service not known", "unknown host"),
    ("getaddrinfo", "unknown host"),
    ("timed out", "timed out"),
    ("Connection reset", "connection reset"),
    ("RemoteDisconnected", "connection closed by the server"),
)


def _decode(response, method, path):
    try:
        return response.json()
    except ValueError as error:
        raise ServerError(
            response.status_code,
            f"{method} {path} returned a body that is not JSON",
        ) from error
