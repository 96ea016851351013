"""Errors that pdtrain reports to the user.

Every error the CLI expects derives from ``PdtrainError`` and carries the
exit status that ``app.py`` returns for it. The message is one line that
names the value at fault and, where there is one, the fix.
"""

from pdtrain_core.exitcodes import ExitCode


class PdtrainError(Exception):
    """Base of every error pdtrain reports without a traceback."""

    exit_code = ExitCode.ERROR


class ConfigError(PdtrainError):
    """The configuration file or a setting in it is invalid."""


class UsageError(PdtrainError):
    """A command-line value is malformed, such as ``--env KEY`` without =."""

    exit_code = ExitCode.USAGE


class InvalidReference(PdtrainError):
    """A bundle or dataset reference names nothing that exists."""


class TransferError(PdtrainError):
    """An upload or download failed or its checksum did not match."""


class QuotaExceeded(PdtrainError):
    """An upload would not fit the size or storage limits."""


class InvalidBundle(PdtrainError):
    """A bundle is unsafe or incomplete, found before or after upload."""


class ServerUnavailable(PdtrainError):
    """The orchestrator-api cannot be reached."""

    def __init__(self, url, reason=""):
        message = (
            f"Cannot reach the orchestrator at {url}"
            + (f" ({reason})" if reason else "")
            + f": {_unavailable_hint(reason)}"
        )
        super().__init__(message)
        self.url = url


def _unavailable_hint(reason):
    """Return what to do about a failed connection, by its cause."""
    if reason.startswith("no response within"):
        return (
            "retry, or raise PDTRAIN_TIMEOUT (seconds) if the server is "
            "busy"
        )
    if reason in ("connection reset", "connection closed mid-response"):
        return "retry the command; if it keeps failing, check the server log"
    # The URL may come from an option, the environment or a profile,
    # and `pdtrain info` shows which.
    return (
        "check that it is running and that the URL is right (`pdtrain "
        "info` shows the URL and where it comes from)"
    )


class RunEnded(PdtrainError):
    """A waited-on run ended in a state other than completed."""

    def __init__(self, run, logs_hint=True):
        """logs_hint=False leaves out the pointer to `pdtrain logs`."""
        self.run = run
        run_id = run.get("id")
        message = f"Run {run_id} ended {run.get('status')}"
        # The failure reason names the error; the status message of a
        # failed run only says that the script exited.
        reason = _one_line(
            run.get("failure_reason")
            or run.get("status_message")
            or run.get("error_message")
        )
        if reason:
            message += f": {reason}"
        if logs_hint:
            message += f" (see `pdtrain logs {run_id}`)"
        super().__init__(message)


def _one_line(text, limit=300):
    """Join a multi-line reason into one line of at most limit chars."""
    if not text:
        return ""
    joined = "; ".join(
        line.strip() for line in str(text).splitlines() if line.strip()
    )
    return joined if len(joined) <= limit else joined[: limit - 3] + "..."


class RunFailed(RunEnded):
    """A waited-on run ended with status ``failed``."""

    exit_code = ExitCode.RUN_FAILED


class RunStopped(RunEnded):
    """A waited-on run ended with status ``stopped``."""

    exit_code = ExitCode.RUN_STOPPED


class WaitTimedOut(PdtrainError):
    """A wait for a run passed its ``--timeout``."""

    exit_code = ExitCode.WAIT_TIMED_OUT


class ApiError(PdtrainError):
    """The orchestrator-api returned an error status."""

    def __init__(self, status, detail, code=None):
        self.status = status
        self.detail = detail
        self.code = code
        super().__init__(f"{detail} (HTTP {status})")

    @classmethod
    def from_response(cls, response):
        """Build the error subclass that matches a requests response."""
        detail, code = _read_error_body(response)
        error_class = _STATUS_CLASSES.get(response.status_code)
        if error_class is None:
            if response.status_code >= 500:
                error_class = ServerError
            else:
                error_class = ApiError
        return error_class(response.status_code, detail, code)


class Unauthorized(ApiError):
    """The API key is missing, unknown or revoked (HTTP 401 or 403)."""

    def __init__(self, status, detail, code=None):
        super().__init__(status, detail, code)
        hint = "check --api-key, PDTRAIN_API_KEY or `pdtrain configure`"
        self.args = (f"{self.args[0]}: {hint}",)


class NotFound(ApiError):
    """The resource does not exist or belongs to another owner (404)."""


class Conflict(ApiError):
    """The request conflicts with the resource's state (409)."""


class Invalid(ApiError):
    """The server rejected the request body or parameters (400 or 422)."""


class QuotaRejected(ApiError, QuotaExceeded):
    """The server rejected an upload over a storage limit (HTTP 413)."""

    def __init__(self, status, detail, code=None):
        super().__init__(status, detail, code)
        if "dataset count limit" in str(detail):
            hint = (
                "delete a dataset with `pdtrain dataset delete NAME "
                "--all-versions` or ask the server's operator to raise "
                "the limit"
            )
        elif "bundle count limit" in str(detail):
            hint = (
                "delete an old version with `pdtrain bundle delete NAME:N` "
                "or ask the server's operator to raise the limit"
            )
        else:
            hint = (
                "free space (`pdtrain quota` lists the largest items) or "
                "ask the server's operator to raise the limit"
            )
        self.args = (f"{self.args[0]}: {hint}",)


class ServerError(ApiError):
    """The server failed while handling the request (5xx)."""

    def __init__(self, status, detail, code=None):
        super().__init__(status, detail, code)
        hint = "the server failed; retry later or check the server log"
        self.args = (f"{self.args[0]}: {hint}",)


_STATUS_CLASSES = {
    400: Invalid,
    401: Unauthorized,
    403: Unauthorized,
    404: NotFound,
    409: Conflict,
    413: QuotaRejected,
    422: Invalid,
}


def _read_error_body(response):
    """Return (detail, code) from a JSON error body or the raw text."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and "detail" in body:
        detail = body["detail"]
        if not isinstance(detail, str):
            # FastAPI's own validation errors send a list of problems.
            detail = _join_validation_errors(detail)
        return detail, body.get("code")
    text = (response.text or "").strip().splitlines()
    reason = response.reason or "error"
    return (text[0][:200] if text else reason), None


def _join_validation_errors(detail):
    if not isinstance(detail, list):
        return str(detail)
    parts = []
    for item in detail:
        if isinstance(item, dict):
            where = ".".join(str(p) for p in item.get("loc", ()))
            parts.append(f"{where}: {item.get('msg', '')}".strip(": "))
        else:
            parts.append(str(item))
    return "; ".join(parts)
