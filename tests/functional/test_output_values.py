"""How values look per format: blank table cells, JSON in text formats,
counted nouns in messages, and the modes of files and folders made."""

import json
import os
import stat
import subprocess
import sys
import time

from tests.functional.conftest import PDTRAIN, START_TIMEOUT


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_table_shows_empty_values_blank(cli, bundle_dir):
    cli.json("bundle", "upload", bundle_dir, "--name", "blank")
    run = cli.json("run", "create", "--bundle", "blank")

    table = cli("run", "list", "-c", "name", "-c", "framework")
    shown = cli("run", "show", run["id"], "-c", "image", "-c", "job_arn")

    assert table.returncode == 0, table.stderr
    assert "None" not in table.stdout
    assert shown.returncode == 0, shown.stderr
    assert "None" not in shown.stdout


def test_value_and_csv_formats_write_json(cli, bundle_dir):
    cli.json("bundle", "upload", bundle_dir, "--name", "jv")
    run = cli.json(
        "run", "create", "--bundle", "jv", "--name", "jv-run",
        "--hyperparameter", "layers=[64, 32]", "--env", "MODE=fast",
    )  # fmt: skip

    value = cli("run", "show", "jv-run", "-f", "value",
                "-c", "hyperparameters", "-c", "env",
                "-c", "image")  # fmt: skip
    csv_text = cli("run", "show", "jv-run", "-f", "csv", "-c", "env")

    assert value.returncode == 0, value.stderr
    # cliff keeps the command's column order, whatever the -c order.
    image, hyperparameters, env = value.stdout.splitlines()
    assert json.loads(hyperparameters) == run["hyperparameters"]
    assert json.loads(env) == {"MODE": "fast"}
    assert image == ""
    assert csv_text.stdout.splitlines()[1] == '"{""MODE"": ""fast""}"'


def test_shell_format_survives_eval(cli, bundle_dir, tmp_path):
    tricky = 'a "b" $(touch pwned) `touch pwned` \\n $HOME'
    cli.json("bundle", "upload", bundle_dir, "--name", "sh")
    cli.json("run", "create", "--bundle", "sh", "--name", "sh-run",
             "--env", f"TRICKY={tricky}")  # fmt: skip
    printed = cli("run", "show", "sh-run", "-f", "shell",
                  "-c", "env", "-c", "image")  # fmt: skip

    evaluated = subprocess.run(
        ["bash", "-c", 'eval "$0"; printf "%s\\n%s" "$env" "$image"',
         printed.stdout],
        capture_output=True, text=True, cwd=tmp_path, timeout=30,
    )  # fmt: skip

    assert printed.returncode == 0, printed.stderr
    env_text, image = evaluated.stdout.split("\n")
    assert json.loads(env_text) == {"TRICKY": tricky}
    assert image == ""
    assert not (tmp_path / "pwned").exists()


def test_messages_count_one_item_in_singular(cli, tmp_path):
    folder = tmp_path / "one-row"
    folder.mkdir()
    (folder / "rows.csv").write_text("x\n1\n")
    (folder / "notes.bin").write_bytes(b"\x00")

    uploaded = cli("dataset", "upload", folder, "--name", "one-row")
    shown = cli("dataset", "show", "one-row", "-c", "versions")

    assert uploaded.returncode == 0, uploaded.stderr
    assert "1 file in" in uploaded.stderr
    assert " is not in a format" in uploaded.stderr
    # The version is one packed archive holding a one-row CSV.
    assert "1 file directory" in shown.stdout
    assert "1 row" in shown.stdout
    assert "1 files" not in shown.stdout
    assert "1 rows" not in shown.stdout


def _download_with_umask(cli, umask, output):
    return subprocess.run(
        [PDTRAIN, "dataset", "download", "modes", "--output", str(output)],
        env=cli.env, capture_output=True, text=True, timeout=120,
        preexec_fn=lambda: os.umask(umask),
    )  # fmt: skip


def test_download_honours_umask(cli, csv_file, tmp_path):
    cli.json("dataset", "upload", csv_file, "--name", "modes")

    shared = _download_with_umask(cli, 0o002, tmp_path / "shared")
    private = _download_with_umask(cli, 0o077, tmp_path / "private")

    assert shared.returncode == 0, shared.stderr
    assert private.returncode == 0, private.stderr
    assert _mode(tmp_path / "shared" / csv_file.name) == 0o664
    assert _mode(tmp_path / "private" / csv_file.name) == 0o600


def test_server_makes_missing_home_private(tmp_path):
    pdtrain_home = tmp_path / "new" / "pdtrain-home"
    home = pdtrain_home / "local"
    server = subprocess.Popen(
        [sys.executable, "-m", "pdtrain_orchestrator", "serve",
         "--home", str(home), "--host", "127.0.0.1", "--port", "0",
         "--bootstrap-key-file", "api_key"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        preexec_fn=lambda: os.umask(0o022),
    )  # fmt: skip
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not (home / "server.json").exists():
            assert server.poll() is None, "orchestrator exited"
            assert time.monotonic() < deadline, "orchestrator did not start"
            time.sleep(0.1)
    finally:
        server.terminate()
        server.wait(timeout=30)

    assert _mode(tmp_path / "new") == 0o700
    assert _mode(pdtrain_home) == 0o700
    assert _mode(home) == 0o700
