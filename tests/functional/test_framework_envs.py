"""Framework runs in cached environments, listed and removed by the CLI.

The test installs scikit-learn from PyPI, so it is marked slow.
"""

import pytest

SCRIPT = """\
import sklearn, numpy, pandas
print("sklearn", sklearn.__version__)
"""


@pytest.mark.slow
def test_framework_env_is_cached_listed_and_removed(cli, tmp_path):
    folder = tmp_path / "fw"
    folder.mkdir()
    (folder / "train.py").write_text(SCRIPT)
    cli.json("bundle", "upload", folder, "--name", "fw")
    create = (
        "run", "create", "--bundle", "fw", "--framework", "sklearn",
        "--framework-version", "1.4-2", "--wait", "--interval", "1",
    )

    first = cli.json(*create, timeout=900)
    second = cli.json(*create, timeout=300)
    logs = cli("logs", second["id"], "--tail", "all").stdout
    envs = cli.json("server", "envs", "list")
    ready = [env for env in envs if env["framework_version"] == "1.4-2"]
    deleted = cli("server", "envs", "delete", ready[0]["id"])
    after = cli.json("server", "envs", "list")

    assert first["status"] == "completed", first["failure_reason"]
    assert second["status"] == "completed"
    assert "sklearn 1.4.2" in logs
    assert "Reusing cached environment" in logs
    assert ready[0]["status"] == "ready"
    assert deleted.returncode == 0, deleted.stderr
    assert ready[0]["id"] not in {env["id"] for env in after}
