"""Retry policies built on urllib3's Retry: byte transfers, repeatable POSTs.

A transfer retries on connection errors, timeouts, bodies cut off
mid-stream, 429 and 5xx, waiting with exponential backoff plus jitter or
as long as Retry-After says. Each attempt builds its request body anew
from the file, so a retry never resends half-read data. Transfers use
this loop instead of the adapter's built-in retries because urllib3
cannot rewind a streamed body or resume a download from an offset.

An API POST that the server treats as idempotent (a finalize, a run
submit, stop or refresh) is repeated by ``repeat`` after a 502, 503 or
504 response. A reset or a timeout after the request was sent is not
repeated: the server may still be working on the first attempt, and a
second one would race it. Running the command again is safe instead.
"""

import logging
import os
import urllib.parse

from urllib3.exceptions import MaxRetryError
from urllib3.util.retry import Retry

from pdtrain_core.exceptions import ServerError, TransferError

LOG = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
RETRIES_ENV = "PDTRAIN_TRANSFER_RETRIES"
DEFAULT_RETRIES = 5
BACKOFF_FACTOR = 0.5  # seconds; doubles with each consecutive failure
BACKOFF_JITTER = 0.5  # up to this many seconds added at random
BACKOFF_MAX = 30.0
RETRY_AFTER_MAX = 120  # seconds; a longer Retry-After is cut to this
# Statuses of a proxy or an overloaded server that did not act on the
# request. Other 5xx responses may come after a change was made.
REPEAT_STATUSES = frozenset({502, 503, 504})


def safe_url(url: str) -> str:
    """Return url without its query string, fit for logs and errors."""
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def configured_retries() -> int:
    """Return the retry count from PDTRAIN_TRANSFER_RETRIES or default."""
    text = os.environ.get(RETRIES_ENV, "")
    try:
        return max(0, int(text)) if text else DEFAULT_RETRIES
    except ValueError:
        raise TransferError(
            f"Invalid {RETRIES_ENV}={text!r}: expected a whole number"
        ) from None


def new_policy(retries: int | None = None) -> Retry:
    """Return a fresh policy for one transfer request."""
    if retries is None:
        retries = configured_retries()
    return Retry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        other=retries,
        redirect=0,
        # Every transfer request is safe to repeat: a PUT or POST to a
        # signed URL replaces the same object or part.
        allowed_methods=None,
        status_forcelist=RETRY_STATUSES,
        backoff_factor=BACKOFF_FACTOR,
        backoff_jitter=BACKOFF_JITTER,
        backoff_max=BACKOFF_MAX,
        retry_after_max=RETRY_AFTER_MAX,
        respect_retry_after_header=True,
        raise_on_status=False,
    )


class Attempts:
    """Count the failures of one request and wait between attempts."""

    def __init__(self, method: str, url: str, name: str, retries=None):
        self.method = method
        self.name = name
        self._url = safe_url(url)
        self._policy = new_policy(retries)

    def failed(self, reason: str, error=None, response=None) -> None:
        """Record a failure, then sleep; raise TransferError when spent.

        response is the urllib3 response (requests' ``response.raw``),
        whose Retry-After header sets the wait.
        """
        try:
            self._policy = self._policy.increment(
                self.method, self._url, response=response, error=error
            )
        except MaxRetryError:
            raise TransferError(
                f"{self.method} of {self.name} failed after "
                f"{len(self._policy.history) + 1} attempts: {reason}"
            ) from error
        attempt = len(self._policy.history) + 1
        LOG.warning(
            "Retrying %s of %s (attempt %d) after %s",
            self.method,
            self.name,
            attempt,
            reason,
        )
        self._policy.sleep(response)


def repeat(send, method: str, path: str, retries: int):
    """Call send() and return its result, repeating it after 502/503/504.

    send raises ServerError for an error response. Waits between attempts
    back off as for transfers; the last error propagates once retries
    are spent.
    """
    policy = Retry(
        total=retries,
        allowed_methods=None,
        status_forcelist=REPEAT_STATUSES,
        backoff_factor=BACKOFF_FACTOR,
        backoff_jitter=BACKOFF_JITTER,
        backoff_max=BACKOFF_MAX,
    )
    while True:
        try:
            return send()
        except ServerError as error:
            if error.status not in REPEAT_STATUSES:
                raise
            try:
                policy = policy.increment(method, path)
            except MaxRetryError:
                raise error from None
            LOG.warning(
                "Retrying %s %s after HTTP %s", method, path, error.status
            )
            policy.sleep()
