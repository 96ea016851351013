"""Measure `pdtrain logs --follow`: latency and lines per second.

Starts an orchestrator in a temporary home, then runs two training
scripts on it and follows each with the installed `pdtrain` CLI:

- latency: the script prints one line every 100 ms carrying the time
  it was written; the follower's receive time minus that is the
  write-to-terminal latency of each line.
- throughput: the script prints --lines lines as fast as it can and
  reports how long that took. The anchor is that write rate (lines/s
  written, in the same run); the figure is the rate at which the
  follower printed them, from its first to its last line.

Usage: .venv/bin/python benchmarks/logs.py [--lines 100000]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
PDTRAIN = str(BIN / "pdtrain")

LATENCY_SCRIPT = """\
import time
for number in range({count}):
    print(f"{{time.time():.6f}} {{number}}", flush=True)
    time.sleep(0.1)
"""
THROUGHPUT_SCRIPT = """\
import sys, time
started = time.perf_counter()
write = sys.stdout.write
for number in range({count}):
    write(f"line {{number}} of the throughput benchmark\\n")
sys.stdout.flush()
print(f"WRITE_SECONDS {{time.perf_counter() - started:.6f}}", file=sys.stderr)
"""


def start_server(home: Path) -> subprocess.Popen:
    """Start an orchestrator in home; return once server.json exists."""
    log = open(home / "server.log", "ab")  # noqa: SIM115
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pdtrain_orchestrator",
            "serve",
            "--home",
            str(home),
            "--port",
            "0",
            "--bootstrap-key-file",
            "api_key",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while not (home / "server.json").exists():
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the orchestrator did not start; see server.log")
        time.sleep(0.1)
    return process


def cli_env(home: Path) -> dict:
    state = json.loads((home / "server.json").read_text())
    env = {k: v for k, v in os.environ.items() if not k.startswith("PDTRAIN")}
    env["PDTRAIN_HOME"] = str(home / "cli")
    env["PDTRAIN_API_URL"] = state["url"]
    env["PDTRAIN_API_KEY"] = (home / "api_key").read_text().strip()
    return env


def pdtrain(env, *args) -> str:
    done = subprocess.run(
        [PDTRAIN, *args],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def submit(env, work: Path, name: str, script: str) -> str:
    folder = work / name
    folder.mkdir()
    (folder / "train.py").write_text(script)
    pdtrain(env, "bundle", "upload", str(folder), "--name", name)
    return pdtrain(
        env,
        "run",
        "create",
        "--bundle",
        name,
        "--submit",
        "-f",
        "value",
        "-c",
        "id",
    )


def follow(env, run_id, *options):
    """Yield (receive time, line) for each line `logs --follow` prints."""
    process = subprocess.Popen(
        [PDTRAIN, "logs", run_id, "--follow", *options],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        bufsize=1,
    )
    for line in process.stdout:
        yield time.time(), line.rstrip("\n")
    process.wait()


def measure_latency(env, work, count) -> list[float]:
    run_id = submit(env, work, "latency", LATENCY_SCRIPT.format(count=count))
    delays = []
    for received, line in follow(env, run_id):
        written = float(line.split(" ", 1)[0])
        delays.append(received - written)
    return delays


def measure_throughput(env, work, count) -> tuple[float, float]:
    script = THROUGHPUT_SCRIPT.format(count=count)
    run_id = submit(env, work, "throughput", script)
    lines = follow(env, run_id, "--stream", "stdout")
    times = [received for received, _ in lines]
    printed = len(times)
    if printed != count:
        raise SystemExit(f"the follower printed {printed} of {count} lines")
    logs = pdtrain(env, "logs", run_id, "--stream", "stderr")
    write_seconds = float(logs.split("WRITE_SECONDS ")[1].split()[0])
    return count / write_seconds, count / (times[-1] - times[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--latency-lines", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pdtrain-bench-") as folder:
        home = Path(folder)
        server = start_server(home)
        try:
            env = cli_env(home)
            delays = measure_latency(env, home, args.latency_lines)
            written, printed = measure_throughput(env, home, args.lines)
        finally:
            server.terminate()
            server.wait(timeout=30)
    delays.sort()
    p95 = delays[int(len(delays) * 0.95) - 1]
    sys.stdout.write(
        f"follow latency over {len(delays)} lines: median "
        f"{statistics.median(delays) * 1000:.0f} ms, p95 {p95 * 1000:.0f} "
        f"ms, max {delays[-1] * 1000:.0f} ms\n"
    )
    sys.stdout.write(
        f"throughput over {args.lines} lines: anchor (written by the "
        f"script) {written:,.0f} lines/s, printed by `logs --follow` "
        f"{printed:,.0f} lines/s, ratio {printed / written:.3f}\n"
    )


if __name__ == "__main__":
    main()
