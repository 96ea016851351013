"""The request spinner's timing, suppression and log-record hook."""

import io
import logging
import threading
import time

import pytest

from pdtrain_core import spinner


class FakeStatus:
    """Stands in for rich's Status; records start and stop."""

    def __init__(self):
        self.started = threading.Event()
        self.stopped = threading.Event()

    def start(self):
        self.started.set()

    def stop(self):
        self.stopped.set()


@pytest.fixture
def statuses(monkeypatch):
    created = []

    def new_status(stream, message):
        created.append(FakeStatus())
        return created[-1]

    monkeypatch.setattr(spinner, "_new_status", new_status)
    return created


def test_spinner_hidden_for_fast_request(statuses):
    hook = spinner.RequestSpinner(io.StringIO(), delay=0.2)

    with hook("GET", "/v1/runs"):
        pass
    time.sleep(0.3)

    assert statuses == []


def test_spinner_shown_then_stopped_for_slow_request(statuses):
    hook = spinner.RequestSpinner(io.StringIO(), delay=0.05)

    with hook("GET", "/v1/runs"):
        time.sleep(0.3)
        assert statuses[0].started.is_set()

    assert statuses[0].stopped.is_set()


def test_spinner_suppressed_while_streaming(statuses):
    hook = spinner.RequestSpinner(io.StringIO(), delay=0.05)

    with spinner.suppressed(), hook("GET", "/v1/runs/x/logs"):
        time.sleep(0.3)

    assert not any(status.started.is_set() for status in statuses)


def test_spinner_erased_before_log_record(statuses):
    hook = spinner.RequestSpinner(io.StringIO(), delay=0.05)
    handler = logging.StreamHandler(io.StringIO())
    handler.addFilter(spinner.HideSpinnerFilter())
    logger = logging.getLogger("test_spinner_erased")
    logger.addHandler(handler)

    with hook("GET", "/v1/runs"):
        time.sleep(0.3)
        logger.warning("Retrying GET /v1/runs")
        assert statuses[0].stopped.is_set()


@pytest.mark.parametrize(
    ("tty", "quiet", "environ", "expected"),
    [
        (True, False, {}, True),
        (True, False, {"NO_COLOR": "1"}, True),
        (True, True, {}, False),
        (True, False, {"TERM": "dumb"}, False),
        (False, False, {}, False),
    ],
)
def test_spinner_allowed_on_capable_terminal(
    tty, quiet, environ, expected
):
    stream = io.StringIO()
    stream.isatty = lambda: tty

    assert spinner.allowed(stream, quiet, environ) is expected
