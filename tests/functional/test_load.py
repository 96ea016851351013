"""A short, bounded form of benchmarks/load.py in the test suite.

Eight clients upload, create runs, list and read logs for six seconds;
every response must have the expected status, each owner must see exactly what
it made, and the database must pass SQLite's integrity checks.
"""

import json
import subprocess
import sys
from pathlib import Path

LOAD = Path(__file__).resolve().parents[2] / "benchmarks" / "load.py"


def test_load_short_run_has_no_errors():
    result = subprocess.run(
        [sys.executable, str(LOAD), "--clients", "8", "--seconds", "6",
         "--json"],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    summary = json.loads(result.stdout)

    assert summary["load"]["errors"] == []
    assert summary["anchor"]["errors"] == []
    assert summary["isolation_problems"] == []
    assert summary["database_problems"] == []
    assert summary["load"]["requests"] > 100
    assert result.returncode == 0, result.stderr
