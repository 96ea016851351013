"""Fixtures that drive LocalExecutor directly with tiny real bundles."""

import io
import tarfile
import threading
import time
from pathlib import Path

import pytest

from pdtrain_orchestrator.executors.base import Channel, RunSpec
from pdtrain_orchestrator.executors.local import LocalExecutor

TERMINAL = {"completed", "failed", "stopped"}


class RecordingEvents:
    """A RunEvents that keeps every callback for the test to inspect."""

    def __init__(self):
        self.lock = threading.Condition()
        self.statuses = []
        self.logs = []
        self.artifacts = []
        self.metrics_by_run = {}
        self.files = {}

    def status(
        self,
        run_id,
        status,
        secondary_status,
        message=None,
        failure_reason=None,
        exit_code=None,
    ):
        with self.lock:
            self.statuses.append(
                {
                    "run_id": run_id,
                    "status": status,
                    "secondary_status": secondary_status,
                    "message": message,
                    "failure_reason": failure_reason,
                    "exit_code": exit_code,
                }
            )
            self.lock.notify_all()

    def log(self, run_id, stream, message, timestamp_ms):
        with self.lock:
            self.logs.append((run_id, stream, message, timestamp_ms))
            self.lock.notify_all()

    def log_lines(self, run_id, stream, lines):
        with self.lock:
            for message, timestamp_ms, _ in lines:
                self.logs.append((run_id, stream, message, timestamp_ms))
            self.lock.notify_all()

    def metrics(self, run_id, values):
        with self.lock:
            self.metrics_by_run[run_id] = values

    def artifact(self, run_id, name, path, size_bytes, sha256, files=None):
        with self.lock:
            self.artifacts.append(
                (run_id, name, Path(path), size_bytes, sha256)
            )
            self.files[(run_id, name)] = files

    def statuses_of(self, run_id):
        with self.lock:
            return [s for s in self.statuses if s["run_id"] == run_id]

    def lines_of(self, run_id, stream=None):
        with self.lock:
            return [
                message
                for rid, name, message, _ in self.logs
                if rid == run_id and stream in (None, name)
            ]

    def artifacts_of(self, run_id):
        with self.lock:
            return {
                name: (path, size, digest)
                for rid, name, path, size, digest in self.artifacts
                if rid == run_id
            }

    def wait_for(self, predicate, timeout=20):
        deadline = time.monotonic() + timeout
        with self.lock:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("timed out waiting for an event")
                self.lock.wait(left)

    def wait_terminal(self, run_id, timeout=20):
        def done():
            return any(
                s["status"] in TERMINAL
                for s in self.statuses
                if s["run_id"] == run_id
            )

        self.wait_for(done, timeout)
        return self.statuses_of(run_id)[-1]

    def wait_line(self, run_id, text, timeout=20):
        def seen():
            return any(
                rid == run_id and message == text
                for rid, _, message, _ in self.logs
            )

        self.wait_for(seen, timeout)


def make_bundle(path: Path, files: dict[str, str]) -> Path:
    """Write a tar.gz with the given member names and texts."""
    with tarfile.open(path, "w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture
def events():
    return RecordingEvents()


@pytest.fixture
def make_executor(tmp_path, events):
    """Build executors that are shut down after the test."""
    executors = []

    def build(max_concurrent=2, grace=2.0):
        executor = LocalExecutor(
            tmp_path / "work",
            tmp_path / "envs",
            events,
            max_concurrent,
            stop_grace_seconds=grace,
        )
        executors.append(executor)
        return executor

    yield build
    for executor in executors:
        executor.shutdown()


@pytest.fixture
def make_spec(tmp_path):
    """Build a RunSpec around a bundle made of the given files."""
    counter = iter(range(1000))

    def build(files, run_id=None, **fields):
        run_id = run_id or f"run-{next(counter)}"
        bundle = make_bundle(tmp_path / f"{run_id}.tar.gz", files)
        values = {
            "run_id": run_id,
            "run_dir": tmp_path / "runs" / run_id,
            "bundle_path": bundle,
            "entry": "train.py",
            "hyperparameters": {},
            "env": {},
            "channels": [],
            "framework": None,
            "framework_version": None,
            "python_version": None,
            "image": None,
            "instance_type": "ml.m5.xlarge",
            "max_runtime_seconds": None,
        }
        values.update(fields)
        return RunSpec(**values)

    return build


__all__ = ["Channel", "make_bundle"]
