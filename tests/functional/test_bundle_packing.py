"""What `bundle upload` packs, skips, warns about and refuses."""

import json
import os

import pytest

from tests.functional.conftest import make_tar, start_server, stop_server


def write(root, files):
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return root


@pytest.fixture
def code(tmp_path):
    return write(
        tmp_path / "code",
        {
            "train.py": "print('training')\n",
            "lib/util.py": "X = 1\n",
            "notes.log": "debug\n",
            ".git/config": "[core]\n",
            "lib/__pycache__/util.cpython-311.pyc": b"\0",
            "myenv/pyvenv.cfg": "home = /usr\n",
            "myenv/lib/site.py": "x\n",
            "data/raw.csv": "a,b\n" * 100,
            ".pdtrainignore": "*.log\n",
        },
    )


def test_bundle_dry_run_lists_what_would_ship(cli, code):
    result = cli(
        "bundle", "upload", code, "--name", "demo", "--dry-run",
        "--exclude", "data/", "-f", "json",
    )  # fmt: skip
    listed = cli.json("bundle", "list")

    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    names = [item["path"] for item in shown["files"]]
    assert names == [".pdtrainignore", "lib/util.py", "train.py"]
    assert shown["total_files"] == 3
    assert shown["largest"][0]["path"] == "train.py"
    assert listed == []


def test_bundle_dry_run_warns_about_secrets(cli, code):
    write(code, {".env": "API_TOKEN=abc\n", "deploy.pem": "-----BEGIN\n"})

    result = cli("bundle", "upload", code, "--dry-run", "-f", "json")

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["secrets"] == [".env", "deploy.pem"]
    assert "Warning: .env looks like a secret" in result.stderr
    assert "Warning: deploy.pem looks like a secret" in result.stderr


def test_bundle_unchanged_is_not_uploaded_again(cli, code):
    first = cli.json("bundle", "upload", code, "--name", "demo")
    os.utime(code / "train.py", (1, 1))
    second = cli("bundle", "upload", code, "--name", "demo", "-f", "json")
    forced = cli.json("bundle", "upload", code, "--name", "demo", "--force")

    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout)["id"] == first["id"]
    assert "unchanged" in second.stderr
    assert forced["version"] == 2
    assert forced["sha256"] == first["sha256"]


def test_bundle_save_archive_is_left_out(cli, code, tmp_path):
    saved = code / "dist" / "demo.tar.gz"
    (code / "dist").mkdir()
    (code / "dist" / "old.tar.gz").write_bytes(b"stale archive")

    bundle = cli.json(
        "bundle", "upload", code, "--name", "demo",
        "--save-archive", saved,
    )  # fmt: skip
    again = cli.json(
        "bundle", "upload", code, "--dry-run", "--save-archive", saved
    )

    assert saved.is_file()
    assert bundle["sha256"] != ""
    assert bundle["total_files"] == 4
    assert not any(item["path"].startswith("dist/") for item in again["files"])


@pytest.fixture(scope="module")
def small_server(tmp_path_factory):
    """An orchestrator that accepts bundles of at most 1 MiB."""
    home = tmp_path_factory.mktemp("small")
    config = home / "server.yaml"
    config.write_text("limits:\n  max_single_bundle_size_mb: 1\n")
    running = start_server(home / "home", ["--config", str(config)])
    yield running
    stop_server(running)


def test_bundle_over_size_limit_names_biggest_files(small_server, cli, code):
    write(code, {"data/weights.bin": os.urandom(3 * 1024 * 1024)})
    env = {
        "PDTRAIN_API_URL": small_server.url,
        "PDTRAIN_API_KEY": small_server.create_key("small"),
    }

    result = cli("bundle", "upload", code, "--name", "big", env=env)

    assert result.returncode == 1
    assert "over the limit of 1.0 MiB" in result.stderr
    assert "data/weights.bin (3.0 MiB)" in result.stderr
    assert ".pdtrainignore or --exclude" in result.stderr
    assert "Traceback" not in result.stderr


ATTACKS = {
    "absolute": ("/tmp/evil.py", "absolute path"),
    "dotdot": ("../evil.py", "outside"),
}


@pytest.mark.parametrize("case", sorted(ATTACKS))
def test_bundle_archive_attack_is_rejected(cli, tmp_path, case):
    name, reason = ATTACKS[case]
    evil = make_tar(
        tmp_path / "evil.tar.gz", {"train.py": b"print(1)\n", name: b"x"}
    )

    result = cli("bundle", "upload", evil, "--name", "evil")
    listed = cli.json("bundle", "list")

    assert result.returncode == 1
    assert repr(name) in result.stderr
    assert reason in result.stderr
    assert listed == []
