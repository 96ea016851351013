"""`make demo`'s script trains the digits model on the embedded default.

Slow: the run's environment installs scikit-learn from the package index
the first time (later runs reuse the cached environment).
"""

import re
import subprocess
import tarfile
from pathlib import Path

import pytest

from tests.functional.conftest import PDTRAIN, base_env

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_demo_trains_accurate_model(tmp_path):
    env = base_env(tmp_path / "home")
    env["DEMO_OUTPUT"] = str(tmp_path / "out")
    try:
        result = subprocess.run(
            ["bash", str(REPO / "examples" / "digits" / "demo.sh")],
            capture_output=True, text=True, env=env, timeout=1500,
        )
    finally:
        subprocess.run([PDTRAIN, "server", "stop"], env=env, timeout=60)

    assert result.returncode == 0, result.stderr[-3000:]
    match = re.search(r"accuracy: (\d\.\d+)", result.stdout)
    assert match, result.stdout
    assert float(match.group(1)) > 0.9
    with tarfile.open(tmp_path / "out" / "model.tar.gz") as tar:
        names = tar.getnames()
    assert "model.joblib" in names
    assert "metrics.json" in names
