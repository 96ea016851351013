"""A short, bounded form of benchmarks/load.py in the test suite.

Eight clients upload, create runs and list for six seconds. Six of
them poll their runs' logs, and two submit their runs and follow the
log stream to `done`. Every response must have the expected status,
and no streamed line may be lost or repeated against GET .../logs.
Each owner must see exactly what it made, and the database must pass
SQLite's integrity checks.
"""

import json
import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import load_follow  # noqa: E402  (a script folder, not a package)

LOAD = BENCHMARKS / "load.py"


def test_load_short_run_has_no_errors():
    result = subprocess.run(
        [sys.executable, str(LOAD), "--clients", "8", "--seconds", "6",
         "--follow-share", "0.25", "--json"],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    summary = json.loads(result.stdout)
    streams = summary["load"]["streams"]

    assert summary["load"]["errors"] == []
    assert summary["anchor"]["errors"] == []
    assert summary["followers"] == 2
    assert streams["followed"] >= 2
    assert streams["lines"] >= streams["followed"] * 30
    assert streams["lost"] == 0
    assert streams["repeated"] == 0
    assert summary["isolation_problems"] == []
    assert summary["database"]["integrity_check"] == ["ok"]
    assert summary["database"]["foreign_key_check"] == []
    assert summary["load"]["requests"] > 100
    assert result.returncode == 0, result.stderr


def _followed(lines, status="completed"):
    return load_follow.Followed(lines=lines, done={"status": status})


def test_load_follow_compare_counts_lost_and_repeated():
    script = [f"line {i}" for i in range(load_follow.SCRIPT_LINES)]
    stored = list(enumerate(script, start=1))
    lost_one = _followed(stored[:5] + stored[6:])
    repeated_one = _followed(stored[:6] + stored[5:])
    swapped = _followed([stored[1], stored[0], *stored[2:]])

    whole = load_follow.compare(_followed(stored), stored)
    lost = load_follow.compare(lost_one, stored)
    repeated = load_follow.compare(repeated_one, stored)
    reordered = load_follow.compare(swapped, stored)

    assert whole["lost"] == whole["repeated"] == 0
    assert whole["script_lines_missing"] == 0
    assert lost["lost"] == 1
    assert lost["script_lines_missing"] == 1
    assert repeated["repeated"] == 1
    assert repeated["script_lines_missing"] == 1
    assert reordered["out_of_order"] == 1
    assert reordered["lost"] == reordered["repeated"] == 0
