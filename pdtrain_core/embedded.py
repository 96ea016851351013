"""Start, find and stop the local orchestrator under ``$PDTRAIN_HOME``.

With no API URL configured the CLI talks to an orchestrator it runs
itself on 127.0.0.1. Its state lives in ``$PDTRAIN_HOME/local``: the
server writes ``server.json`` ({pid, url, port, started_at}) once its
socket listens and removes it on a clean exit, and ``api_key`` contains
the key of the local owner. A file lock keeps two CLI processes that start
at the same moment from starting two servers.
"""

import dataclasses
import fcntl
import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from pdtrain_core import client as client_module
from pdtrain_core.config import ensure_private_dir
from pdtrain_core.exceptions import (
    ApiError,
    NotFound,
    PdtrainError,
    ServerUnavailable,
)

LOG = logging.getLogger(__name__)

LOCAL_DIR = "local"
SERVER_FILE = "server.json"
KEY_FILE = "api_key"
LOG_FILE = "server.log"
LOCK_FILE = "server.lock"
START_TIMEOUT = 20.0  # seconds; a cold start imports FastAPI and SQLAlchemy
STOP_TIMEOUT = 15.0  # seconds between SIGTERM and SIGKILL
POLL_INTERVAL = 0.1
MAX_TAIL_LINES = 30


@dataclasses.dataclass
class ServerStatus:
    """State of the local orchestrator, as ``server status`` shows it."""

    running: bool
    home: Path
    log_path: Path
    pid: int | None = None
    url: str | None = None
    port: int | None = None
    started_at: str | None = None


def _pid_alive(pid) -> bool:
    try:
        # Reap the server if this process started it and it has exited.
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _responds(url) -> bool:
    """Return True when an orchestrator responds at url."""
    probe = client_module.Client(
        url, timeout=2.0, session=client_module.make_session(retries=0)
    )
    try:
        probe.health()
    except NotFound:
        # Servers without /v1/health still publish their OpenAPI document.
        try:
            probe._request("GET", "/openapi.json")
        except (ApiError, ServerUnavailable):
            return False
    except ApiError:
        return True  # it responded, though not with 200
    except ServerUnavailable:
        return False
    return True


class LocalServer:
    """The embedded orchestrator whose home is ``<pdtrain home>/local``."""

    def __init__(self, pdtrain_home: Path):
        self.home = Path(pdtrain_home) / LOCAL_DIR
        self.server_file = self.home / SERVER_FILE
        self.key_file = self.home / KEY_FILE
        self.log_path = self.home / LOG_FILE

    def _read_state(self) -> dict | None:
        try:
            return json.loads(self.server_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as error:
            LOG.warning("Ignoring unreadable %s: %s", self.server_file, error)
            return None

    def status(self) -> ServerStatus:
        """Return whether the server runs, and its pid and URL if so."""
        state = self._read_state() or {}
        pid, url = state.get("pid"), state.get("url")
        running = bool(pid and url and _pid_alive(pid) and _responds(url))
        if not running:
            return ServerStatus(False, self.home, self.log_path)
        return ServerStatus(
            True,
            self.home,
            self.log_path,
            pid,
            url,
            state.get("port"),
            state.get("started_at"),
        )

    def api_key(self) -> str:
        """Return the local owner's API key written by the server."""
        try:
            return self.key_file.read_text(encoding="utf-8").strip()
        except FileNotFoundError as error:
            raise PdtrainError(
                f"The local orchestrator wrote no key to {self.key_file}; "
                f"see {self.log_path}"
            ) from error

    def ensure(self, port=0, config=None) -> tuple[ServerStatus, bool]:
        """Return (status, started): start the server if not running.

        config is a server config file (YAML) that picks the backends,
        database and limits of a server this call starts.
        """
        # The pdtrain home is made first so that it, too, is 0700.
        ensure_private_dir(self.home.parent)
        ensure_private_dir(self.home)
        with self._lock():
            current = self.status()
            if current.running:
                return current, False
            self._check_no_silent_server()
            return self._start(port, config), True

    def _check_no_silent_server(self) -> None:
        """Raise PdtrainError when the recorded server lives but is silent.

        A second server on the same database and object store would run
        every queued job twice, so a busy server is reported instead.
        """
        state = self._read_state() or {}
        pid = state.get("pid")
        if pid and _pid_alive(pid) and _is_orchestrator(pid):
            raise PdtrainError(
                f"The local orchestrator (pid {pid}) is running but did not "
                f"respond at {state.get('url')}; retry in a moment, or "
                "restart it with `pdtrain server stop`"
            )

    def _lock(self):
        return _FileLock(self.home / LOCK_FILE)

    def _start(self, port, config=None) -> ServerStatus:
        self.server_file.unlink(missing_ok=True)
        command = [
            sys.executable,
            "-m",
            "pdtrain_orchestrator",
            "serve",
            "--home",
            str(self.home),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--bootstrap-key-file",
            KEY_FILE,
        ]
        if config:
            command += ["--config", str(Path(config).resolve())]
        # A failed start reports what the server wrote from here on, such
        # as every problem of an invalid config file.
        self._log_start = (
            self.log_path.stat().st_size if self.log_path.exists() else 0
        )
        LOG.info("Starting the local orchestrator: %s", " ".join(command))
        with open(self.log_path, "ab") as log:
            # A new session keeps Ctrl-C in the terminal from reaching it.
            process = subprocess.Popen(
                command,
                cwd=self.home,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
            )
        return self._wait_until_up(process)

    def _wait_until_up(self, process) -> ServerStatus:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            code = process.poll()
            if code is not None:
                raise PdtrainError(
                    f"The local orchestrator exited with status {code} "
                    f"while starting: {self._log_tail()}"
                    f" (full log: {self.log_path})"
                )
            current = self.status()
            if current.running and self.key_file.exists():
                return current
            time.sleep(POLL_INTERVAL)
        # A server that never came up would block the next start, so it
        # is ended here instead of being left in the background.
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        raise PdtrainError(
            f"The local orchestrator did not respond within "
            f"{START_TIMEOUT:g} s and was stopped: {self._log_tail()} "
            f"(full log: {self.log_path})"
        )

    def _log_tail(self) -> str:
        try:
            with open(self.log_path, "rb") as handle:
                handle.seek(getattr(self, "_log_start", 0))
                text = handle.read().decode(errors="replace")
        except OSError:
            return "no log"
        lines = [line for line in text.splitlines() if line.strip()]
        if not lines:
            return "empty log"
        if lines[0].endswith(":") and len(lines) > 1:
            # A multi-line error, such as the list of config problems.
            return "\n".join(lines[-MAX_TAIL_LINES:])
        return lines[-1]

    def stop(self) -> ServerStatus | None:
        """Stop the server; return its last status, None if not running.

        Sends SIGTERM, then SIGKILL when it has not exited after
        STOP_TIMEOUT seconds.
        """
        state = self._read_state()
        pid = (state or {}).get("pid")
        if not pid or not _pid_alive(pid) or not _is_orchestrator(pid):
            self.server_file.unlink(missing_ok=True)
            return None
        last = ServerStatus(
            True,
            self.home,
            self.log_path,
            pid,
            state.get("url"),
            state.get("port"),
            state.get("started_at"),
        )
        os.kill(pid, signal.SIGTERM)
        if not _wait_for_exit(pid, STOP_TIMEOUT):
            LOG.warning(
                "Local orchestrator pid %s ignored SIGTERM for "
                "%g s; sending SIGKILL",
                pid,
                STOP_TIMEOUT,
            )
            os.kill(pid, signal.SIGKILL)
            _wait_for_exit(pid, STOP_TIMEOUT)
        self.server_file.unlink(missing_ok=True)
        return last


def _wait_for_exit(pid, timeout) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _pid_alive(pid):
            return True
        time.sleep(POLL_INTERVAL)
    return False


def _is_orchestrator(pid) -> bool:
    """Return False when pid now belongs to another program.

    A stale server.json may name a pid the system has since reused.
    Without /proc (macOS) the check cannot be made and passes.
    """
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return not Path("/proc/self").exists()
    except OSError:
        return True
    return b"pdtrain_orchestrator" in cmdline or b"pdtrain-orch" in cmdline


class _FileLock:
    """An exclusive fcntl lock held for the duration of a with block."""

    def __init__(self, path: Path):
        self.path = path
        self._handle = None

    def __enter__(self):
        self._handle = open(self.path, "a")
        fcntl.flock(self._handle.fileno(), fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc_info):
        fcntl.flock(self._handle.fileno(), fcntl.LOCK_UN)
        self._handle.close()
        self._handle = None
