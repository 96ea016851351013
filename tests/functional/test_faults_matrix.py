"""Every CLI command that talks HTTP, under every kind of network fault.

A FaultyProxy sits between the CLI and a real orchestrator and breaks
one request of each command, its key request: the commit point of an
upload, the action of a run command, the object GET of a download, the
read of a show or list. The kinds of fault:

- reset: the connection is reset after the request was read;
- slow: the answer comes after PDTRAIN_TIMEOUT (1 s), but the server
  still handles the request;
- 5xx-short: one 503 answer, then the real one (PDTRAIN_RETRIES is 1);
- 5xx-long: every answer is a 500, past the one retry;
- truncated: the answer stops after its first byte.

For each pair the test checks the exit status, that a failure is one
`Error:` line with a cause and a next step and no traceback, and the
server's state afterwards: no duplicate run, no half-made bundle or
dataset, no file at a download's final path, no run left unfinished.
"""

import dataclasses
import re
import time
import uuid
from collections.abc import Callable

import pytest
import requests

from tests.functional.conftest import TRANSFER_ENV, Cli, base_env
from tests.functional.faulty_proxy import FaultyProxy

CLIENT_TIMEOUT = "1"  # seconds; PDTRAIN_TIMEOUT of the CLI under test
SLOW_SECONDS = 1.6  # the proxy's delay, past CLIENT_TIMEOUT
# How long watch and logs --follow retry a lost server before failing.
RECONNECT_SECONDS = "2"
TERMINAL = ("completed", "failed", "stopped")

FAULTS = {
    "reset": ("reset", {}),
    "slow": ("delay", {"seconds": SLOW_SECONDS}),
    "5xx-short": ("status", {"times": 1, "status": 503}),
    "5xx-long": ("status", {"status": 500}),
    "truncated": ("pass", {"cut_after": 1}),
}

# Words of which stderr must hold one naming the cause and one naming
# the next step, for each fault when a command fails.
CAUSES = {
    "reset": (("connection reset",), ("retry",)),
    "slow": (("no response within 1 s",), ("PDTRAIN_TIMEOUT",)),
    "5xx-short": (("HTTP 503",), ("retry",)),
    "5xx-long": (("HTTP 500",), ("retry",)),
    "truncated": (("mid-response", "cut off"), ("retry", "resumes")),
}

OK = "ok"
FAIL = "fail"
SLEEPY_SCRIPT = "import time\nprint('sleeping', flush=True)\ntime.sleep(60)\n"


def request(method, pattern):
    """Match requests of method whose path matches the regex pattern."""
    compiled = re.compile(pattern + "/?$")

    def match(seen_method, path, query):
        return seen_method == method and bool(compiled.match(path))

    return match


def object_get(method, path, query):
    return method == "GET" and path.startswith("/v1/objects/")


class World:
    """One owner's objects on the module's server, made without faults."""

    def __init__(self, server, tmp_path):
        self.key = server.create_key(f"faults-{uuid.uuid4().hex[:8]}")
        env = base_env(tmp_path / "direct-home")
        env.update(PDTRAIN_API_URL=server.url, PDTRAIN_API_KEY=self.key)
        self.direct = Cli(home=tmp_path / "direct-home", env=env)
        self.url = server.url
        self.tmp_path = tmp_path
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {self.key}"

    def api(self, method, path, **kwargs):
        """Send one request straight to the server; return the JSON."""
        response = self.http.request(
            method, self.url + path, timeout=60, **kwargs
        )
        assert response.status_code < 300, response.text
        return response.json() if response.content else None

    def setup(self, bundle_dir, csv_file):
        direct = self.direct
        self.bundle = direct.json(
            "bundle", "upload", bundle_dir, "--name", "fb"
        )
        sleepy = self.tmp_path / "sleepy"
        sleepy.mkdir()
        (sleepy / "train.py").write_text(SLEEPY_SCRIPT)
        self.sleepy = direct.json("bundle", "upload", sleepy, "--name", "zz")
        direct.json("dataset", "upload", csv_file, "--name", "fd")
        self.csv_file = csv_file
        run = direct.json(
            "run", "create", "--bundle", "fb", "--dataset", "fd",
            "--submit", "--wait", timeout=120,
        )  # fmt: skip
        assert run["status"] == "completed", run
        self.done_run = run["id"]
        self.done_lines = direct("logs", run["id"]).stdout

    def new_run(self, submit=False, sleepy=False):
        bundle = self.sleepy if sleepy else self.bundle
        run = self.api(
            "POST",
            "/v1/runs",
            json={"bundle_id": bundle["id"], "max_runtime_seconds": 90},
        )
        if submit:
            self.api("POST", f"/v1/runs/{run['id']}/submit")
        return run["id"]

    def new_dataset(self, name):
        self.direct.json("dataset", "upload", self.csv_file, "--name", name)
        return name

    def runs(self):
        return self.api("GET", "/v1/runs", params={"limit": 1000})

    def bundles(self, name):
        found = self.api("GET", "/v1/bundles", params={"name": name})
        return [item for item in found if item["name"] == name]

    def datasets(self, name):
        found = self.api("GET", "/v1/datasets", params={"name": name})
        return [item for item in found["items"] if item["name"] == name]

    def settle_runs(self):
        """Stop what still runs and check that every run ends."""
        for run in self.runs():
            if run["status"] in ("pending", "running", "submitting"):
                self.api("POST", f"/v1/runs/{run['id']}/stop")
        deadline = time.monotonic() + 60
        while True:
            waiting = [
                run["id"]
                for run in self.runs()
                if run["status"] not in (*TERMINAL, "created")
            ]
            if not waiting:
                return
            assert time.monotonic() < deadline, f"runs stuck: {waiting}"
            time.sleep(0.3)


@pytest.fixture(scope="module")
def world(server, tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("faults-world")
    made = World(server, tmp_path)
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "train.py").write_text(
        "import os\nfor i in range(3):\n    print('line', i, flush=True)\n"
        "open(os.path.join(os.environ['SM_MODEL_DIR'], 'm.txt'), 'w')"
        ".write('m')\n"
    )
    rows = tmp_path / "rows.csv"
    rows.write_text("x,y\n" + "".join(f"{i},{i}\n" for i in range(20)))
    made.setup(bundle, rows)
    yield made
    made.settle_runs()


@pytest.fixture(scope="module")
def module_proxy(server):
    running = FaultyProxy(server.url)
    yield running
    running.close()


@dataclasses.dataclass
class Case:
    """One command: its arguments, key request and checks."""

    name: str
    # (world, tmp_path) -> (argv, context handed to check)
    prepare: Callable
    target: Callable
    # Outcome per fault kind where it differs from the default.
    outcomes: dict = dataclasses.field(default_factory=dict)
    # (world, outcome, context) -> None, after the proxy is idle.
    check: Callable | None = None
    # Fault kinds to apply to another request than target.
    targets: dict = dataclasses.field(default_factory=dict)
    # Fault kinds to apply only so many times (a transient fault).
    times: dict = dataclasses.field(default_factory=dict)


DEFAULT_OUTCOMES = {
    "reset": FAIL,
    "slow": FAIL,
    "5xx-short": OK,
    "5xx-long": FAIL,
    "truncated": FAIL,
}
# Finalize, submit, stop and refresh are idempotent on the server, so
# the CLI repeats them after a 503 and a short burst does not fail them.
# A reset or a slow response is not repeated, since the first attempt may
# still be running on the server.
POST_OUTCOMES = {"5xx-short": OK}


def _static(*argv):
    return lambda world, tmp_path: (list(argv), None)


def _with_run(*argv, **new_run):
    def prepare(world, tmp_path):
        run_id = world.new_run(**new_run) if new_run else world.done_run
        return [arg.format(run=run_id) for arg in argv], run_id

    return prepare


def _check_one_or_no_bundle(world, outcome, context):
    bundles = world.bundles(context)
    assert len(bundles) <= 1, bundles
    if outcome == OK:
        assert len(bundles) == 1
    assert all(b["validation_status"] == "ready" for b in bundles)


def _prepare_bundle_upload(world, tmp_path):
    name = f"up-{uuid.uuid4().hex[:6]}"
    folder = tmp_path / "upload"
    folder.mkdir()
    (folder / "train.py").write_text("print('hi')\n")
    return ["bundle", "upload", folder, "--name", name], name


def _check_one_or_no_version(world, outcome, context):
    datasets = world.datasets(context)
    assert len(datasets) <= 1, datasets
    if outcome == OK:
        assert len(datasets) == 1
    for dataset in datasets:
        versions = [item["version"] for item in dataset["versions"]]
        assert versions == [1], versions


def _prepare_dataset_upload(world, tmp_path):
    name = f"up-{uuid.uuid4().hex[:6]}"
    return ["dataset", "upload", world.csv_file, "--name", name], name


def _prepare_dataset_delete(world, tmp_path):
    name = world.new_dataset(f"del-{uuid.uuid4().hex[:6]}")
    return ["dataset", "delete", name, "--all-versions", "--yes"], name


def _check_deleted_or_whole(world, outcome, context):
    datasets = world.datasets(context)
    if outcome == OK:
        assert datasets == []
    for dataset in datasets:
        files = world.api(
            "GET", f"/v1/datasets/{dataset['id']}/versions/1/download"
        )["files"]
        assert len(files) == 1, files


def _prepare_download(kind):
    def prepare(world, tmp_path):
        target = tmp_path / "out"
        if kind == "dataset":
            argv = ["dataset", "download", "fd", "--output", target]
        else:
            argv = [
                "artifacts", "download", world.done_run, "--output", target,
            ]  # fmt: skip
        return argv, target

    return prepare


def _check_download(world, outcome, target):
    files = sorted(p.name for p in target.rglob("*") if p.is_file())
    # A hidden partial file stays for the next run to resume from.
    finished = [n for n in files if not n.endswith(".pdtrain-partial")]
    if outcome == OK:
        assert finished, files
    else:
        assert finished == [], files


def _check_one_run(world, outcome, context):
    made = [run for run in world.runs() if run.get("name") == context]
    assert len(made) <= 1, made
    if outcome == OK:
        assert len(made) == 1


def _prepare_run_create(world, tmp_path):
    name = f"c-{uuid.uuid4().hex[:6]}"
    return ["run", "create", "--bundle", "fb", "--name", name], name


def _check_status(expected_ok, expected_fail):
    def check(world, outcome, run_id):
        run = world.api("GET", f"/v1/runs/{run_id}")
        wanted = expected_ok if outcome == OK else expected_fail
        assert run["status"] in wanted, run

    return check


def _check_logs_complete(world, outcome, context):
    if outcome == OK:
        assert world.last_stdout == world.done_lines


RUNS = r"/v1/runs"
RUN = r"/v1/runs/[0-9a-f]+"
CASES = [
    Case("bundle list", _static("bundle", "list"),
         request("GET", r"/v1/bundles")),
    Case("bundle show", _static("bundle", "show", "fb"),
         request("GET", r"/v1/bundles/[0-9a-f]+")),
    Case("bundle upload", _prepare_bundle_upload,
         request("POST", r"/v1/bundles/finalize"), POST_OUTCOMES,
         _check_one_or_no_bundle),
    Case("dataset list", _static("dataset", "list"),
         request("GET", r"/v1/datasets")),
    Case("dataset show", _static("dataset", "show", "fd"),
         request("GET", r"/v1/datasets/[0-9a-f]+")),
    Case("dataset upload", _prepare_dataset_upload,
         request("POST", r"/v1/datasets/finalize"), POST_OUTCOMES,
         _check_one_or_no_version),
    Case("dataset download", _prepare_download("dataset"),
         request("GET", r"/v1/datasets/[0-9a-f]+/versions/1/download"),
         {"truncated": FAIL}, _check_download,
         {"truncated": object_get}),
    Case("dataset delete", _prepare_dataset_delete,
         request("DELETE", r"/v1/datasets/[0-9a-f]+"), {},
         _check_deleted_or_whole),
    Case("run create", _prepare_run_create,
         request("POST", RUNS),
         # An idempotency key makes the POST safe to repeat: a reset or
         # a lost response is retried, and the server returns the run it
         # made for the first attempt.
         {"reset": OK, "slow": OK, "truncated": OK},
         _check_one_run, times={"reset": 1, "slow": 1, "truncated": 1}),
    Case("run submit", _with_run("run", "submit", "{run}", submit=False),
         request("POST", RUN + "/submit"), POST_OUTCOMES,
         _check_status(("submitting", "pending", "running", "completed"),
                       ("created", "submitting", "pending", "running",
                        "completed"))),
    Case("run list", _static("run", "list"), request("GET", RUNS)),
    Case("run show", _with_run("run", "show", "{run}"), request("GET", RUN)),
    Case("run stop", _with_run("run", "stop", "{run}", "--yes",
                               submit=True,
                               sleepy=True),
         request("POST", RUN + "/stop"), POST_OUTCOMES,
         _check_status(("stopping", "stopped"),
                       ("pending", "running", "stopping", "stopped"))),
    Case("run watch", _with_run("run", "watch", "{run}"),
         request("GET", RUN)),
    Case("run refresh", _with_run("run", "refresh", "{run}"),
         request("POST", RUN + "/refresh"), POST_OUTCOMES),
    Case("logs", _with_run("logs", "{run}"),
         request("GET", RUN + "/logs"), {}, _check_logs_complete),
    Case("logs --follow", _with_run("logs", "{run}", "--follow"),
         request("GET", RUN + "/logs"), {}, _check_logs_complete),
    Case("artifacts list", _with_run("artifacts", "list", "{run}"),
         request("GET", RUN + "/artifacts")),
    Case("artifacts download", _prepare_download("artifacts"),
         request("GET", RUN + "/artifacts"), {}, _check_download,
         {"truncated": object_get}),
    Case("quota", _static("quota"), request("GET", r"/v1/storage/quota")),
    Case("server envs list", _static("server", "envs", "list"),
         request("GET", r"/v1/envs")),
]  # fmt: skip


def _assert_clean_failure(result, kind):
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 1, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    assert lines, "no error message"
    assert lines[-1].startswith("Error: "), result.stderr
    # A batch command logs the cause per item above its summary line.
    causes, hints = CAUSES[kind]
    assert any(word in result.stderr for word in causes), result.stderr
    assert any(word in result.stderr for word in hints), result.stderr


@pytest.mark.parametrize("kind", list(FAULTS))
@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_command_under_fault(world, module_proxy, tmp_path, case, kind):
    argv, context = case.prepare(world, tmp_path)
    env = dict(
        world.direct.env,
        PDTRAIN_API_URL=module_proxy.url,
        PDTRAIN_TIMEOUT=CLIENT_TIMEOUT,
        PDTRAIN_RETRIES="1",
        PDTRAIN_RECONNECT_SECONDS=RECONNECT_SECONDS,
        **TRANSFER_ENV,
    )
    cli = Cli(home=world.direct.home, env=env)
    action, options = FAULTS[kind]
    options = dict(options)
    times = case.times.get(kind, options.pop("times", None))
    target = case.targets.get(kind, case.target)
    module_proxy.clear()
    module_proxy.add(target, action, times=times, **options)

    result = cli(*argv, timeout=120)
    module_proxy.wait_idle()
    applied = module_proxy.count(target, action)
    module_proxy.clear()
    outcome = {**DEFAULT_OUTCOMES, **case.outcomes}[kind]

    assert applied > 0, f"no key request: {result.stderr}"
    if outcome == OK:
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr
    else:
        _assert_clean_failure(result, kind)
        assert result.stdout == ""
    world.last_stdout = result.stdout
    if case.check is not None:
        case.check(world, outcome, context)
    world.settle_runs()
