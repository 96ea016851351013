"""A spinner on stderr while an API request takes longer than a moment.

The client calls ``RequestSpinner`` around each request (its
``on_request`` hook), so the client itself never writes. The spinner
appears only after DELAY seconds and is erased when the request ends.
The app installs it only when stderr is a terminal and not with -q.
rich is imported only when a spinner is first shown, so commands whose
requests finish quickly or whose stderr is a pipe never import it.

A terminal has one cursor, so the state here is process-wide: while
``suppressed()`` is active (progress bars, streamed output such as
``logs --follow`` and ``run watch``) no spinner starts, and a log record
erases a shown spinner before it is written.
"""

import contextlib
import logging
import os
import threading

from pdtrain_core import terminal

# Seconds a request runs before the spinner appears.
DELAY = 0.4
MESSAGE = "Waiting for the server"

_lock = threading.RLock()
_suppressed = 0
_visible = None  # the rich Live display on screen, if any


def allowed(stream, quiet=False, environ=None) -> bool:
    """Return True when a spinner may be drawn on stream.

    It needs a terminal that can redraw a line (not TERM=dumb) and no
    -q. NO_COLOR keeps the spinner but draws it without colour.
    """
    environ = os.environ if environ is None else environ
    if quiet or environ.get("TERM") == "dumb":
        return False
    return terminal.is_terminal(stream)


@contextlib.contextmanager
def suppressed():
    """Keep spinners off the terminal while the block runs."""
    global _suppressed
    with _lock:
        _suppressed += 1
        _hide()
    try:
        yield
    finally:
        with _lock:
            _suppressed -= 1


def hide() -> None:
    """Erase a shown spinner, e.g. before a log line is written."""
    with _lock:
        _hide()


def _hide():
    global _visible
    if _visible is not None:
        status, _visible = _visible, None
        status.stop()


class RequestSpinner:
    """Call it as ``on_request(method, path)`` around each request.

    Nested or concurrent requests share one spinner, shown from DELAY
    seconds after the first starts until the last one ends.
    """

    def __init__(self, stream, delay=DELAY, message=MESSAGE):
        self.stream = stream
        self.delay = delay
        self.message = message
        self._active = 0
        self._timer = None

    @contextlib.contextmanager
    def __call__(self, method, path):
        self._begin()
        try:
            yield
        finally:
            self._end()

    def _begin(self):
        with _lock:
            self._active += 1
            if self._active == 1:
                self._timer = threading.Timer(self.delay, self._show)
                self._timer.daemon = True
                self._timer.start()

    def _end(self):
        with _lock:
            self._active -= 1
            if self._active == 0:
                self._timer.cancel()
                _hide()

    def _show(self):
        global _visible
        # Imported outside the lock: a request that ends meanwhile must
        # not wait for rich to load.
        status = _new_status(self.stream, self.message)
        with _lock:
            if self._active and not _suppressed and _visible is None:
                _visible = status
                status.start()


def _new_status(stream, message):
    from rich.console import Console
    from rich.live import Live
    from rich.spinner import Spinner

    # rich reads NO_COLOR itself and then draws without colour.
    console = Console(file=stream)
    # Live would otherwise swap sys.stdout for a proxy that writes to
    # this console, which is stderr, while the spinner is shown.
    return Live(
        Spinner("dots", text=message),
        console=console,
        transient=True,
        redirect_stdout=False,
        redirect_stderr=False,
        refresh_per_second=12.5,
    )


class HideSpinnerFilter(logging.Filter):
    """Erase a shown spinner before a console log record is written."""

    def filter(self, record):
        """Hide the spinner and keep the record."""
        if _visible is not None:
            hide()
        return True
