"""Time pdtrain's start-up against `python -c 'import requests'`.

Run from the repository with the project's virtualenv:

    .venv/bin/python benchmarks/startup.py [--rounds 20]

It starts a private orchestrator in a temporary PDTRAIN_HOME, fills it
with 10,000 runs, then runs the anchor and each pdtrain command in turn,
round after round, so a drift in machine speed hits all of them alike.
For each command it prints the median wall time, and the median of
the per-round ratios to the anchor next to its target. A last line gives
the orchestrator's own share: the median time of GET /v1/runs?limit=50
over one fresh connection each, as the CLI makes it.

Keep the interpreter outside /tmp: stevedore writes no entry-point
cache for an interpreter under /tmp, and every pdtrain start would
then scan all installed distributions.
"""

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

RUN_COUNT = 10_000
START_TIMEOUT = 60  # seconds for the orchestrator to write server.json
BIN_DIR = Path(sys.executable).parent
PDTRAIN = str(BIN_DIR / "pdtrain")
ANCHOR = [sys.executable, "-c", "import requests"]
# (label, argv, target ratio to the anchor)
COMMANDS = (
    ("pdtrain --version", [PDTRAIN, "--version"], 1.0),
    ("pdtrain --help", [PDTRAIN, "--help"], 1.5),
    (
        "pdtrain run list -f json (50 of 10,000)",
        [PDTRAIN, "run", "list", "--limit", "50", "-f", "json"],
        1.5,
    ),
)


def start_orchestrator(home: Path) -> tuple[subprocess.Popen, str, str]:
    """Start an orchestrator in home; return (process, url, key)."""
    log = open(home / "server.log", "ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "pdtrain_orchestrator", "serve",
         "--home", str(home), "--host", "127.0.0.1", "--port", "0",
         "--bootstrap-key-file", "api_key"],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    state = home / "server.json"
    deadline = time.monotonic() + START_TIMEOUT
    while not state.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            sys.exit(f"orchestrator did not start; see {home}/server.log")
        time.sleep(0.1)
    url = json.loads(state.read_text())["url"]
    return process, url, (home / "api_key").read_text().strip()


def seed_runs(env: dict, home: Path, work: Path) -> None:
    """Create one run through the CLI, then copy it to RUN_COUNT rows."""
    bundle = work / "bundle"
    bundle.mkdir()
    (bundle / "train.py").write_text("print('hello')\n")
    pdtrain(env, "bundle", "upload", str(bundle), "--name", "bench")
    run_id = pdtrain(
        env, "run", "create", "--bundle", "bench", "-f", "value", "-c", "id"
    ).strip()
    copy_run(home / "orchestrator.db", run_id, RUN_COUNT - 1)


def copy_run(database: Path, run_id: str, copies: int) -> None:
    """Insert copies of one run row with fresh ids and creation times."""
    import datetime
    import uuid

    from sqlalchemy import create_engine, insert, select

    from pdtrain_orchestrator.models import Run

    engine = create_engine(f"sqlite:///{database}")
    with engine.begin() as connection:
        row = connection.execute(
            select(Run.__table__).where(Run.__table__.c.id == run_id)
        ).one()
        template = dict(row._mapping)
        start = template["created_at"]
        rows = []
        for index in range(copies):
            item = dict(template)
            item["id"] = uuid.uuid4().hex
            item["name"] = f"bench-{index}"
            item["created_at"] = start - datetime.timedelta(seconds=index + 1)
            rows.append(item)
        connection.execute(insert(Run.__table__), rows)
    engine.dispose()


def pdtrain(env, *args) -> str:
    """Run pdtrain with args and return stdout; exit on failure."""
    result = subprocess.run(
        [PDTRAIN, *args], env=env, capture_output=True, text=True
    )
    if result.returncode != 0:
        sys.exit(f"pdtrain {' '.join(args)} failed: {result.stderr}")
    return result.stdout


def wall_time(argv, env) -> float:
    """Return the seconds argv takes from start to exit."""
    start = time.perf_counter()
    result = subprocess.run(argv, env=env, capture_output=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"{argv} failed: {result.stderr.decode()}")
    return elapsed


def measure(env, rounds, warmup) -> dict:
    """Time the anchor and each command, interleaved, rounds times."""
    times = {"anchor": []}
    times.update({label: [] for label, _, _ in COMMANDS})
    for round_number in range(warmup + rounds):
        sample = {"anchor": wall_time(ANCHOR, env)}
        for label, argv, _ in COMMANDS:
            sample[label] = wall_time(argv, env)
        if round_number >= warmup:
            for label, seconds in sample.items():
                times[label].append(seconds)
    return times


def list_latency(url, key, count=30) -> float:
    """Return the median seconds of GET /v1/runs?limit=50 on url."""
    address = urllib.parse.urlsplit(url)
    headers = {"Authorization": f"Bearer {key}"}
    seconds = []
    for _ in range(count):
        connection = http.client.HTTPConnection(
            address.hostname, address.port, timeout=30
        )
        start = time.perf_counter()
        connection.request("GET", "/v1/runs?limit=50", headers=headers)
        response = connection.getresponse()
        response.read()
        seconds.append(time.perf_counter() - start)
        connection.close()
        if response.status != 200:
            sys.exit(f"GET /v1/runs answered {response.status}")
    return statistics.median(seconds)


def write(line) -> None:
    """Print one line of the report."""
    sys.stdout.write(line + "\n")


def report(times) -> bool:
    """Print medians and ratios; return True when every target is met."""
    anchor = times["anchor"]
    write(
        f"{'anchor: python -c import requests':44} "
        f"{statistics.median(anchor) * 1000:6.1f} ms"
    )
    write(f"{'command':44} {'median':>9} {'ratio':>6} {'target':>7}")
    all_met = True
    for label, _, target in COMMANDS:
        pairs = zip(times[label], anchor, strict=True)
        ratios = [ours / base for ours, base in pairs]
        ratio = statistics.median(ratios)
        met = ratio <= target
        all_met = all_met and met
        write(
            f"{label:44} {statistics.median(times[label]) * 1000:6.1f} ms "
            f"{ratio:5.2f}x {target:5.1f}x {'met' if met else 'MISSED'}"
        )
    return all_met


def main() -> int:
    """Set up the orchestrator, measure, print, clean up."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pdtrain-bench-") as temp:
        work = Path(temp)
        server_home = work / "orchestrator"
        server_home.mkdir()
        process, url, key = start_orchestrator(server_home)
        try:
            # Installed packages carry bytecode, so the warm-up rounds
            # may write it even where the caller's shell turns that off.
            env = {
                name: value
                for name, value in os.environ.items()
                if not name.startswith("PDTRAIN_")
                and name != "PYTHONDONTWRITEBYTECODE"
            }
            env.update(
                PDTRAIN_HOME=str(work / "cli"),
                PDTRAIN_API_URL=url,
                PDTRAIN_API_KEY=key,
            )
            seed_runs(env, server_home, work)
            write(
                f"{RUN_COUNT} runs on {url}; {os.cpu_count()} CPUs; "
                f"{options.rounds} rounds after {options.warmup} warm-up"
            )
            times = measure(env, options.rounds, options.warmup)
            latency = list_latency(url, key)
        finally:
            process.terminate()
            process.wait(timeout=30)
    all_met = report(times)
    write(f"{'server: GET /v1/runs?limit=50':44} {latency * 1000:6.1f} ms")
    return 0 if all_met else 1


if __name__ == "__main__":
    sys.exit(main())
