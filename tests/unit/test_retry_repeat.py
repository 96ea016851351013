"""retry.repeat: which error responses make an idempotent POST go again."""

import pytest

from pdtrain_core import retry
from pdtrain_core.exceptions import Conflict, ServerError


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch):
    monkeypatch.setattr(retry, "BACKOFF_FACTOR", 0)
    monkeypatch.setattr(retry, "BACKOFF_JITTER", 0)


def _answers(*outcomes):
    """Return a send() that raises or returns each outcome in turn."""
    pending = list(outcomes)
    calls = []

    def send():
        calls.append(1)
        outcome = pending.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    return send, calls


@pytest.mark.parametrize("status", [502, 503, 504])
def test_repeat_retries_gateway_statuses(status):
    send, calls = _answers(ServerError(status, "busy"), {"id": "r1"})

    result = retry.repeat(send, "POST", "/v1/runs/r1/submit", retries=1)

    assert result == {"id": "r1"}
    assert len(calls) == 2


def test_repeat_does_not_retry_500():
    send, calls = _answers(ServerError(500, "broken"), {"id": "r1"})

    with pytest.raises(ServerError) as raised:
        retry.repeat(send, "POST", "/v1/bundles/finalize", retries=3)

    assert raised.value.status == 500
    assert len(calls) == 1


def test_repeat_does_not_retry_client_errors():
    send, calls = _answers(Conflict(409, "stopped"), {"id": "r1"})

    with pytest.raises(Conflict):
        retry.repeat(send, "POST", "/v1/runs/r1/submit", retries=3)

    assert len(calls) == 1


def test_repeat_raises_last_error_when_spent(caplog):
    errors = [ServerError(503, f"busy {i}") for i in range(3)]
    send, calls = _answers(*errors)

    with pytest.raises(ServerError) as raised:
        retry.repeat(send, "POST", "/v1/datasets/finalize", retries=2)

    assert raised.value is errors[-1]
    assert len(calls) == 3
    assert "Retrying POST /v1/datasets/finalize after HTTP 503" in (
        caplog.text
    )


def test_repeat_with_no_retries_sends_once():
    send, calls = _answers(ServerError(503, "busy"))

    with pytest.raises(ServerError):
        retry.repeat(send, "POST", "/v1/runs/r1/stop", retries=0)

    assert len(calls) == 1
