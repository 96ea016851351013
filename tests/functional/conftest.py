"""Fixtures that run the installed pdtrain CLI against a real orchestrator.

Each test module gets an orchestrator started as a subprocess on
127.0.0.1 with a free port and its own home directory; each test gets a
fresh PDTRAIN_HOME for the CLI.
"""

import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.functional.faulty_proxy import FaultyProxy

BIN_DIR = Path(sys.executable).parent
PDTRAIN = str(BIN_DIR / "pdtrain")
ORCHESTRATOR = str(BIN_DIR / "pdtrain-orchestrator")
START_TIMEOUT = 30


@dataclass
class Server:
    """A running orchestrator: where it listens and the local key."""

    url: str
    key: str
    home: Path
    process: subprocess.Popen

    def create_key(self, owner):
        """Create an API key for another owner and return it."""
        result = subprocess.run(
            [ORCHESTRATOR, "keys", "create", "--owner", owner,
             "--home", str(self.home)],
            capture_output=True, text=True, timeout=60, check=True,
        )
        return result.stdout.strip().splitlines()[-1]


def start_server(home, extra_args=()):
    """Start an orchestrator in home and wait until it accepts requests."""
    home.mkdir(parents=True, exist_ok=True)
    log = open(home / "test-server.log", "ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "pdtrain_orchestrator", "serve",
         "--home", str(home), "--host", "127.0.0.1", "--port", "0",
         "--bootstrap-key-file", "api_key", *extra_args],
        stdout=log, stderr=subprocess.STDOUT,
    )
    state = home / "server.json"
    deadline = time.monotonic() + START_TIMEOUT
    while not state.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            text = (home / "test-server.log").read_text(errors="replace")
            raise RuntimeError(f"orchestrator did not start:\n{text}")
        time.sleep(0.1)
    url = json.loads(state.read_text())["url"]
    key = (home / "api_key").read_text().strip()
    return Server(url=url, key=key, home=home, process=process)


def stop_server(server):
    """Stop a server started by start_server, by its PID."""
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    running = start_server(tmp_path_factory.mktemp("orchestrator"))
    yield running
    stop_server(running)


# Transfer tests keep files small: multipart starts at 5 MiB (the
# smallest part the server accepts) and a failing request gives up after
# two retries, within a few seconds.
TRANSFER_ENV = {
    "PDTRAIN_MULTIPART_THRESHOLD": "5MiB",
    "PDTRAIN_PART_SIZE": "5MiB",
    "PDTRAIN_TRANSFER_RETRIES": "2",
}


@dataclass
class Cli:
    """Runs the pdtrain console script with a private PDTRAIN_HOME."""

    home: Path
    env: dict

    def __call__(self, *args, input=None, timeout=180, env=None):
        merged = dict(self.env)
        merged.update(env or {})
        return subprocess.run(
            [PDTRAIN, *map(str, args)],
            capture_output=True, text=True, input=input,
            timeout=timeout, env=merged,
        )

    def json(self, *args, **kwargs):
        """Run a command with -f json, check it succeeded, parse stdout."""
        result = self(*args, "-f", "json", **kwargs)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)


def base_env(home):
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("PDTRAIN_")
    }
    env["PDTRAIN_HOME"] = str(home)
    env["PATH"] = f"{BIN_DIR}{os.pathsep}{env.get('PATH', '')}"
    return env


@pytest.fixture
def cli(server, tmp_path):
    """A CLI logged in as a fresh owner, so each test starts empty."""
    env = base_env(tmp_path / "cli-home")
    env["PDTRAIN_API_URL"] = server.url
    env["PDTRAIN_API_KEY"] = server.create_key(f"owner-{uuid.uuid4().hex[:8]}")
    return Cli(home=tmp_path / "cli-home", env=env)


@pytest.fixture
def proxy(server):
    """A FaultyProxy in front of the module's orchestrator."""
    running = FaultyProxy(server.url)
    yield running
    running.close()


@pytest.fixture
def pcli(cli, proxy):
    """The test's CLI, talking to the orchestrator through the proxy."""
    env = dict(cli.env, PDTRAIN_API_URL=proxy.url, **TRANSFER_ENV)
    return Cli(home=cli.home, env=env)


TRAIN_SCRIPT = """\
import json
import os
import sys

channel = os.environ.get("SM_CHANNEL_DATASET")
if not channel or not os.path.isdir(channel):
    sys.exit("dataset channel missing")
rows = 0
for name in sorted(os.listdir(channel)):
    with open(os.path.join(channel, name)) as handle:
        rows += sum(1 for _ in handle) - 1
print("arguments", sys.argv[1:])
for epoch in range(3):
    print(f"epoch {epoch} rows {rows}", flush=True)
model_dir = os.environ["SM_MODEL_DIR"]
with open(os.path.join(model_dir, "model.txt"), "w") as handle:
    handle.write(f"trained on {rows} rows\\n")
with open(os.path.join(model_dir, "metrics.json"), "w") as handle:
    json.dump({"rows": rows}, handle)
"""

FAILING_SCRIPT = """\
import sys

print("starting", flush=True)
raise ValueError("learning rate must be positive")
"""


@pytest.fixture
def bundle_dir(tmp_path):
    """A two-file bundle whose train.py counts the dataset's rows."""
    folder = tmp_path / "bundle"
    folder.mkdir()
    (folder / "train.py").write_text(TRAIN_SCRIPT)
    (folder / "README.txt").write_text("tiny test bundle\n")
    return folder


@pytest.fixture
def failing_bundle_dir(tmp_path):
    folder = tmp_path / "failing-bundle"
    folder.mkdir()
    (folder / "train.py").write_text(FAILING_SCRIPT)
    return folder


@pytest.fixture
def csv_file(tmp_path):
    """A twenty-row CSV with a header."""
    path = tmp_path / "rows.csv"
    lines = ["x,y,label"]
    lines += [f"{i},{i * 2},{i % 2}" for i in range(20)]
    path.write_text("\n".join(lines) + "\n")
    return path


def read_tar_member(path, name):
    """Return the bytes of one member of a tar.gz file."""
    with tarfile.open(path, "r:gz") as tar:
        member = tar.extractfile(name)
        assert member is not None, f"{name} missing from {path}"
        return member.read()


def make_tar(path, members):
    """Write a tar.gz whose members map names to bytes."""
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path
