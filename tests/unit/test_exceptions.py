import json

import pytest
import requests

from pdtrain_core import exceptions
from pdtrain_core.app import exit_code_for
from pdtrain_core.exitcodes import ExitCode


def _response(status, body=None, text=None):
    response = requests.Response()
    response.status_code = status
    response.reason = "Reason"
    if body is not None:
        response._content = json.dumps(body).encode()
    else:
        response._content = (text or "").encode()
    return response


@pytest.mark.parametrize(
    ("status", "error_class"),
    [
        (400, exceptions.Invalid),
        (401, exceptions.Unauthorized),
        (404, exceptions.NotFound),
        (409, exceptions.Conflict),
        (422, exceptions.Invalid),
        (500, exceptions.ServerError),
        (503, exceptions.ServerError),
        (418, exceptions.ApiError),
    ],
)
def test_api_error_from_response_picks_class(status, error_class):
    error = exceptions.ApiError.from_response(
        _response(status, {"detail": "x"})
    )

    assert type(error) is error_class


def test_api_error_message_has_detail_and_status():
    body = {"detail": "Run r1 not found", "code": "not_found"}

    error = exceptions.ApiError.from_response(_response(404, body))

    assert str(error) == "Run r1 not found (HTTP 404)"
    assert error.code == "not_found"
    assert error.status == 404


def test_api_error_joins_fastapi_validation_list():
    body = {"detail": [{"loc": ["body", "name"], "msg": "field required"}]}

    error = exceptions.ApiError.from_response(_response(422, body))

    assert str(error) == "body.name: field required (HTTP 422)"


def test_api_error_uses_first_line_of_text_body():
    error = exceptions.ApiError.from_response(
        _response(502, text="Bad gateway\nmore")
    )

    assert str(error) == (
        "Bad gateway (HTTP 502): the server failed; retry later or check "
        "the server log"
    )


def test_run_failed_message_and_exit_code():
    run = {"id": "r1", "status": "failed", "failure_reason": "exit code 2"}

    error = exceptions.RunFailed(run)

    assert str(error) == (
        "Run r1 ended failed: exit code 2 (see `pdtrain logs r1`)"
    )
    assert error.exit_code == ExitCode.RUN_FAILED


def test_run_failed_message_is_one_line():
    run = {"id": "r1", "status": "failed", "failure_reason": "A:\nB \n"}

    assert "ended failed: A:; B (see" in str(exceptions.RunFailed(run))


def test_server_unavailable_names_url_and_fix():
    error = exceptions.ServerUnavailable("http://127.0.0.1:9", "refused")

    assert "http://127.0.0.1:9 (refused)" in str(error)
    assert "`pdtrain info` shows the URL" in str(error)


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (exceptions.ConfigError("x"), 1),
        (exceptions.UsageError("x"), 2),
        (exceptions.RunStopped({"id": "r", "status": "stopped"}), 4),
        (exceptions.WaitTimedOut("x"), 5),
        (exceptions.NotFound(404, "x"), 1),
        (KeyboardInterrupt(), 130),
        (BrokenPipeError(), 141),
        (KeyError("k"), 1),
    ],
)
def test_exit_code_for_each_error(error, code):
    assert exit_code_for(error) == code


def test_bundle_count_quota_names_bundle_delete():
    body = {"detail": "bundle count limit 3 reached", "code": "quota"}

    error = exceptions.ApiError.from_response(_response(413, body))

    assert isinstance(error, exceptions.QuotaRejected)
    assert "`pdtrain bundle delete NAME:N`" in str(error)
