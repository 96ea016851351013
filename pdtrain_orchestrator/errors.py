"""Errors of the orchestrator-api and the one handler that renders them.

Every error response has the body `{"detail": "...", "code": "..."}`.
"""

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

LOG = logging.getLogger(__name__)


class OrchestratorError(Exception):
    """An error with the HTTP status and code the client receives."""

    status = 500
    code = "internal"

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


class NotFound(OrchestratorError):
    """A resource is missing or belongs to another owner."""

    status = 404
    code = "not_found"


class Invalid(OrchestratorError):
    """A request is well-formed JSON but its values are unacceptable."""

    status = 422
    code = "invalid"


class Conflict(OrchestratorError):
    """A request does not fit the current state of a resource."""

    status = 409
    code = "conflict"


class Unauthorized(OrchestratorError):
    """The API key is missing or unknown."""

    status = 401
    code = "unauthorized"


class Forbidden(OrchestratorError):
    """A signed object URL is invalid or expired."""

    status = 403
    code = "forbidden"


class QuotaExceeded(OrchestratorError):
    """An upload would go past a size or count limit."""

    status = 413
    code = "quota_exceeded"


class ErrorBody(BaseModel):
    """The body of every error response."""

    detail: str
    code: str


# Documents the error body in /openapi.json in place of FastAPI's default
# 422 schema, which this server never sends.
ERROR_RESPONSES = {
    "4XX": {"model": ErrorBody, "description": "Client error"},
    "5XX": {"model": ErrorBody, "description": "Server error"},
}


class InsufficientStorage(OrchestratorError):
    """The server's disk is full, so an upload cannot be stored."""

    status = 507
    code = "insufficient_storage"


# Codes for errors that Starlette raises itself, such as an unknown path.
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    416: "range_not_satisfiable",
}


def error_response(status: int, detail: str, code: str, headers=None):
    """Build the JSON response shared by every error."""
    body = {"detail": detail, "code": code}
    return JSONResponse(body, status_code=status, headers=headers)


def _orchestrator_error(request: Request, error: OrchestratorError):
    headers = None
    if isinstance(error, Unauthorized):
        headers = {"WWW-Authenticate": "Bearer"}
    if error.status >= 500:
        LOG.error(
            "%s %s failed: %s", request.method, request.url.path, error.detail
        )
    return error_response(error.status, error.detail, error.code, headers)


def _field_name(location) -> str:
    parts = [str(part) for part in location]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:] or parts
    return ".".join(parts)


def _validation_error(request: Request, error: RequestValidationError):
    messages = []
    for item in error.errors():
        field = _field_name(item.get("loc", ()))
        messages.append(f"{field}: {item.get('msg', 'invalid value')}")
    detail = "; ".join(messages) or "invalid request"
    return error_response(422, detail, "invalid")


def _http_error(request: Request, error: StarletteHTTPException):
    code = _HTTP_CODES.get(error.status_code, "error")
    detail = error.detail
    if not isinstance(detail, str):
        detail = str(detail)
    if error.status_code == 404 and detail == "Not Found":
        detail = f"no endpoint at {request.url.path}"
    if error.status_code == 405:
        detail = f"{request.method} is not allowed on {request.url.path}"
    return error_response(
        error.status_code, detail, code, getattr(error, "headers", None)
    )


def _client_disconnect(request: Request, error: ClientDisconnect):
    # The client closed the connection mid-request (Ctrl-C, a network
    # drop): nothing failed here and nobody reads the answer.
    LOG.info(
        "Client disconnected during %s %s", request.method, request.url.path
    )
    return error_response(400, "client disconnected", "bad_request")


def _unexpected_error(request: Request, error: Exception):
    LOG.exception("%s %s failed", request.method, request.url.path)
    return error_response(500, "internal server error", "internal")


def install_handlers(app: FastAPI) -> None:
    """Render every error of app as {"detail", "code"}."""
    app.add_exception_handler(OrchestratorError, _orchestrator_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(ClientDisconnect, _client_disconnect)
    app.add_exception_handler(Exception, _unexpected_error)
