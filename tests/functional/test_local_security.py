"""Local security: file modes, the embedded server, keys and run env."""

import json
import os
import stat
import time

import requests

from tests.functional.conftest import Cli, base_env, start_server, stop_server

SECRET = "pdt_supersecretvalue0123456789"

ENV_SCRIPT = """\
import os
for name in sorted(os.environ):
    print("ENV", name, os.environ[name])
"""


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_config_with_loose_modes_is_fixed_with_warning(tmp_path):
    home = tmp_path / "pdtrain-home"
    home.mkdir(mode=0o755)
    os.chmod(home, 0o755)
    config = home / "config.json"
    profile = {"api_url": "http://127.0.0.1:9", "api_key": SECRET}
    config.write_text(json.dumps({"profiles": {"default": profile}}))
    os.chmod(config, 0o644)
    cli = Cli(home=home, env=base_env(home))

    result = cli("info")

    assert "had mode 644" in result.stderr
    assert "had mode 755" in result.stderr
    assert _mode(config) == 0o600
    assert _mode(home) == 0o700
    assert SECRET not in result.stdout + result.stderr


def test_key_never_printed_by_info_or_debug(cli, server):
    key = cli.env["PDTRAIN_API_KEY"]
    outputs = [
        cli("info"),
        cli("--debug", "run", "list"),
        cli("--debug", "run", "show", "no-such-run"),
        cli("-vv", "bundle", "list"),
    ]

    for result in outputs:
        assert key not in result.stdout
        assert key not in result.stderr
    assert "Traceback" in outputs[2].stderr or outputs[2].returncode != 0
    server_log = (server.home / "test-server.log").read_text()
    assert key not in server_log


def test_embedded_server_is_private(tmp_path):
    home = tmp_path / "pdtrain-home"
    cli = Cli(home=home, env=base_env(home))
    started = cli("server", "start")
    try:
        assert started.returncode == 0, started.stderr
        state = json.loads((home / "local" / "server.json").read_text())
        listed = cli("run", "list")
        anonymous = requests.get(f"{state['url']}/v1/runs", timeout=10)
    finally:
        cli("server", "stop", "--yes")
    log = (home / "local" / "server.log").read_text()
    started_lines = [line for line in log.splitlines() if "started" in line]

    assert state["url"].startswith("http://127.0.0.1:")
    assert listed.returncode == 0, listed.stderr
    assert anonymous.status_code == 401
    assert _mode(home) == 0o700
    assert _mode(home / "local") == 0o700
    assert _mode(home / "local" / "api_key") == 0o600
    # stderr of the embedded server is server.log; each record once.
    assert len(started_lines) == 1, log


def test_run_env_does_not_inherit_orchestrator_secrets(tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aws-" + SECRET)
    monkeypatch.setenv("PDTRAIN_DATABASE_URL_SECRET", "db-" + SECRET)
    server = start_server(tmp_path / "home")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.delenv("PDTRAIN_DATABASE_URL_SECRET")
    bundle = tmp_path / "envdump"
    bundle.mkdir()
    (bundle / "train.py").write_text(ENV_SCRIPT)
    env = base_env(tmp_path / "cli-home")
    env.update(PDTRAIN_API_URL=server.url, PDTRAIN_API_KEY=server.key)
    cli = Cli(home=tmp_path / "cli-home", env=env)
    try:
        cli.json("bundle", "upload", bundle, "--name", "envdump")
        run = cli.json(
            "run",
            "create",
            "--bundle",
            "envdump",
            "--env",
            "MINE=1",
            "--wait",
        )
        logs = cli("logs", run["id"]).stdout
    finally:
        stop_server(server)

    assert run["status"] == "completed", run
    assert "ENV MINE 1" in logs
    assert "ENV SM_MODEL_DIR" in logs
    assert SECRET not in logs
    assert "AWS_SECRET_ACCESS_KEY" not in logs
    assert server.key not in logs


def test_cli_checks_limits_before_any_request(tmp_path):
    # Nothing listens on port 9: a request would fail with "Cannot
    # reach", so the limit message proves nothing was sent.
    env = base_env(tmp_path / "home")
    env.update(PDTRAIN_API_URL="http://127.0.0.1:9", PDTRAIN_API_KEY="k")
    cli = Cli(home=tmp_path / "home", env=env)
    folder = tmp_path / "code"
    folder.mkdir()
    (folder / "train.py").write_text("print(1)\n")
    cases = [
        (
            ["run", "create", "--bundle", "b", "--hyperparameter",
             "cfg=" + "x" * 2600],
            ["--hyperparameter cfg", "limit of 2500"],
        ),
        (
            ["run", "create", "--bundle", "b", "--env", "T=" + "x" * 600],
            ["--env T", "limit of 512"],
        ),
        (
            ["run", "create", "--bundle", "b",
             *[f"--hyperparameter=k{i}=1" for i in range(101)]],
            ["--hyperparameter", "101 entries", "limit of 100"],
        ),
        (
            ["run", "create", "--bundle", "b", "--dataset", "c" * 65 + "=d"],
            ["--dataset", "channel"],
        ),
        (["bundle", "upload", folder, "--name", "a/b"], ["name", "a/b"]),
        (
            ["dataset", "upload", folder / "train.py", "--name", "x" * 200],
            ["--name", "128"],
        ),
    ]  # fmt: skip

    for args, words in cases:
        started = time.monotonic()
        result = cli(*args)
        assert result.returncode == 2, (args[:3], result.stderr)
        assert "Cannot reach" not in result.stderr
        for word in words:
            assert word in result.stderr, result.stderr
        assert time.monotonic() - started < 30
