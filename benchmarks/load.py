"""Load the orchestrator with many concurrent clients and measure it.

Run from the repository with the project's virtualenv:

    .venv/bin/python benchmarks/load.py [--clients 50] [--seconds 120]

It starts a private orchestrator on 127.0.0.1 in a temporary home, then
runs two phases against it: the anchor, one client for a tenth of the
time, and the load, --clients threads for --seconds. Each client has its
own owner and key and loops over a fixed mix. Every fifth round it
uploads a small bundle (presign, PUT, finalize) and a small dataset
(presign, POST, finalize). Every round it creates a run and lists runs,
bundles and datasets. Then it either polls (the default) or follows:

- a polling client reads its run's logs with the cursor and never
  submits the run, so it measures the API and its database;
- a following client (--follow-share of the load's clients, none in
  the anchor) submits the run, follows its log stream (server-sent
  events) to `done`, and compares the lines it got with every page of
  GET .../logs: none may be lost, repeated or out of order. The run is
  a real local run of a script that prints 30 lines.

It prints requests per second, p50 and p99 latency per operation and
overall, the ratio of the load's p50 to the anchor's, and the errors:
any response other than the expected status, and any stream that lost
or repeated a line or did not end with `done` for a completed run.
Afterwards it checks the database (SQLite PRAGMA integrity_check and
foreign_key_check) and that each owner sees exactly the bundles,
datasets and runs it created. --json prints the summary as JSON (the
CI test reads it).
"""

import argparse
import collections
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from pathlib import Path

import load_follow
import load_report
import requests

from pdtrain_orchestrator import db, keys

START_TIMEOUT = 60  # seconds for the orchestrator to write server.json
REQUEST_TIMEOUT = 60


def _bundle_bytes() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        data = load_follow.TRAIN_SCRIPT
        info = tarfile.TarInfo("train.py")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


BUNDLE = _bundle_bytes()
DATASET = b"x,y\n" + b"".join(f"{i},{i * 2}\n".encode() for i in range(50))


class Recorder:
    """Latencies per operation and unexpected responses, shared by threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.latencies = collections.defaultdict(list)
        self.errors = []
        # Seconds from opening a log stream to its `done` event.
        self.follow_seconds = []
        self.streams = collections.Counter()

    def error(self, name, text):
        with self.lock:
            self.errors.append(f"{name}: {text}")

    def followed(self, run_id, followed, stored, seconds):
        """Record one finished stream and any line it lost or repeated."""
        counts = load_follow.compare(followed, stored)
        problems = [
            f"{name} {count}"
            for name, count in counts.items()
            if name != "lines" and count
        ]
        if followed.error is not None:
            problems.append(f"error event {followed.error}")
        status = (followed.done or {}).get("status")
        if status != "completed":
            problems.append(f"ended {status or 'without done'}")
        with self.lock:
            self.follow_seconds.append(seconds)
            self.streams["followed"] += 1
            self.streams.update(counts)
            if problems:
                self.errors.append(
                    f"logs stream of run {run_id}: {', '.join(problems)}"
                )

    def timed(self, name, call, expected=(200, 201, 204)):
        started = time.perf_counter()
        try:
            response = call()
        except requests.RequestException as error:
            with self.lock:
                self.errors.append(f"{name}: {error}")
            return None
        elapsed = time.perf_counter() - started
        with self.lock:
            self.latencies[name].append(elapsed)
            if response.status_code not in expected:
                text = response.text[:200]
                self.errors.append(
                    f"{name}: HTTP {response.status_code} {text}"
                )
                return None
        return response


class Client:
    """One owner's loop over the operation mix."""

    def __init__(self, url, key, recorder, number):
        self.url = url
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {key}"
        self.recorder = recorder
        self.number = number
        self.created = collections.Counter()
        self.run_id = None
        self.token = None

    def _call(self, name, method, path, **kwargs):
        def send():
            return self.session.request(
                method, self.url + path, timeout=REQUEST_TIMEOUT, **kwargs
            )

        return self.recorder.timed(name, send)

    def upload_bundle(self, round_number):
        presign = self._call(
            "bundle presign",
            "POST",
            "/v1/storage/presign",
            json={"path": f"bundles/b{self.number}-{round_number}.tar.gz"},
        )
        if presign is None:
            return
        body = presign.json()
        put = self.recorder.timed(
            "bundle PUT",
            lambda: requests.put(
                body["presigned_url"], data=BUNDLE, timeout=REQUEST_TIMEOUT
            ),
        )
        if put is None:
            return
        done = self._call(
            "bundle finalize",
            "POST",
            "/v1/bundles/finalize",
            json={"s3_key": body["s3_key"], "name": "load"},
        )
        if done is not None:
            self.created["bundles"] += 1
            self.bundle_id = done.json()["id"]

    def upload_dataset(self):
        presign = self._call(
            "dataset presign",
            "POST",
            "/v1/datasets/presign",
            json={"dataset_name": "rows", "files": [{"path": "rows.csv"}]},
        )
        if presign is None:
            return
        body = presign.json()
        post = body["presigned"][0]
        sent = self.recorder.timed(
            "dataset POST",
            lambda: requests.post(
                post["url"],
                data=post["fields"],
                files={"file": ("rows.csv", DATASET)},
                timeout=REQUEST_TIMEOUT,
            ),
        )
        if sent is None:
            return
        done = self._call(
            "dataset finalize",
            "POST",
            "/v1/datasets/finalize",
            json={
                "dataset_id": body["dataset_id"],
                "version": body["version"],
            },
        )
        if done is not None:
            self.created["dataset_versions"] += 1

    def create_run(self):
        created = self._call(
            "run create",
            "POST",
            "/v1/runs",
            json={"bundle_id": self.bundle_id, "hyperparameters": {"n": 1}},
        )
        if created is not None:
            self.created["runs"] += 1
            self.run_id = created.json()["id"]

    def read_lists(self):
        for name, path in (
            ("run list", "/v1/runs?limit=20"),
            ("bundle list", "/v1/bundles?limit=20"),
            ("dataset list", "/v1/datasets?limit=20"),
        ):
            self._call(name, "GET", path)

    def read(self):
        self.read_lists()
        params = {"next_token": self.token} if self.token else {}
        logs = self._call(
            "logs", "GET", f"/v1/runs/{self.run_id}/logs", params=params
        )
        if logs is not None:
            self.token = logs.json()["next_token"]

    def loop(self, deadline):
        round_number = 0
        self.upload_bundle(round_number)
        while time.monotonic() < deadline:
            round_number += 1
            if round_number % 5 == 1:
                self.upload_bundle(round_number)
                self.upload_dataset()
            self.create_run()
            if self.run_id:
                self.read()


class Follower(Client):
    """A client that submits each run and follows its log stream."""

    def loop(self, deadline):
        round_number = 0
        self.upload_bundle(round_number)
        while time.monotonic() < deadline:
            round_number += 1
            if round_number % 5 == 1:
                self.upload_bundle(round_number)
                self.upload_dataset()
            self.create_run()
            if self.run_id and self.submit():
                self.follow_run()
            self.read_lists()

    def submit(self) -> bool:
        path = f"/v1/runs/{self.run_id}/submit"
        return self._call("run submit", "POST", path) is not None

    def follow_run(self):
        run_id = self.run_id
        url = f"{self.url}/v1/runs/{run_id}/logs/stream"
        started = time.perf_counter()
        response = self.recorder.timed(
            "logs stream open",
            lambda: self.session.get(
                url, stream=True, timeout=(10, load_follow.READ_TIMEOUT)
            ),
        )
        if response is None:
            return
        try:
            with response:
                followed = load_follow.follow(response)
            seconds = time.perf_counter() - started
            stored = load_follow.stored_lines(self.session, self.url, run_id)
        except (
            requests.RequestException,
            load_follow.StreamTimedOut,
            ValueError,
        ) as error:
            self.recorder.error("logs stream", f"run {run_id}: {error}")
            return
        self.recorder.followed(run_id, followed, stored, seconds)


def start_server(home: Path):
    """Start an orchestrator in home; return (process, url, home)."""
    log = open(home / "load-server.log", "ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "pdtrain_orchestrator", "serve",
         "--home", str(home), "--host", "127.0.0.1", "--port", "0",
         "--log-level", "warning"],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    state = home / "server.json"
    deadline = time.monotonic() + START_TIMEOUT
    while not state.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"orchestrator did not start; see {log.name}")
        time.sleep(0.1)
    return process, json.loads(state.read_text())["url"]


def create_keys(home: Path, owners: list[str]) -> list[str]:
    """Store a key per owner in the server's database; return them."""
    engine = db.make_engine(f"sqlite:///{home / 'orchestrator.db'}")
    try:
        with db.make_sessionmaker(engine)() as session:
            return [keys.create_key(session, owner) for owner in owners]
    finally:
        engine.dispose()


def run_phase(url, home, clients, seconds, prefix, followers=0):
    """Run clients threads for seconds; return (recorder, clients, wall).

    The first followers clients follow log streams; the rest poll.
    """
    recorder = Recorder()
    owners = [f"{prefix}{i}" for i in range(clients)]
    workers = [
        (Follower if i < followers else Client)(url, key, recorder, i)
        for i, key in enumerate(create_keys(home, owners))
    ]
    deadline = time.monotonic() + seconds
    threads = [
        threading.Thread(target=worker.loop, args=(deadline,))
        for worker in workers
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return recorder, workers, time.monotonic() - started


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument(
        "--follow-share",
        type=float,
        default=0.2,
        help="share of the load's clients that submit runs and follow "
        "their log streams (default 0.2: 10 of 50)",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="pdtrain-load-") as folder:
        home = Path(folder)
        process, url = start_server(home)
        try:
            anchor, _, anchor_wall = run_phase(
                url, home, 1, max(args.seconds / 10, 2.0), "anchor"
            )
            followers = round(args.clients * args.follow_share)
            load, workers, wall = run_phase(
                url, home, args.clients, args.seconds, "load", followers
            )
            isolation = load_report.check_isolation(url, workers)
        finally:
            process.terminate()
            process.wait(timeout=60)
        checks = load_report.check_database(home)
    database = load_report.database_problems(checks)

    result = {
        "clients": args.clients,
        "followers": followers,
        "cpus": os.cpu_count(),
        "anchor": load_report.summarize(anchor, anchor_wall),
        "load": load_report.summarize(load, wall),
        "isolation_problems": isolation,
        "database": checks,
        "database_problems": database,
    }
    result["p50_ratio"] = round(
        result["load"]["p50_ms"] / result["anchor"]["p50_ms"], 2
    )
    if args.json:
        sys.stdout.write(json.dumps(result, indent=2) + "\n")
    else:
        load_report.print_table(result)
    failed = (
        result["load"]["error_count"]
        or result["anchor"]["error_count"]
        or isolation
        or database
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
