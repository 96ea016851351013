"""Bad command-line input: API URLs, download targets, bundle paths."""

import json
import os
import stat

import pytest

BAD_URLS = [
    "foo",
    "http://",
    "ftp://x",
    "127.0.0.1:8000",
    "http://127.0.0.1:99999",
    "http://[::1",
]
MODEL_SCRIPT = """\
import os
model = os.environ["SM_MODEL_DIR"]
with open(os.path.join(model, "weights.txt"), "w") as handle:
    handle.write("trained")
"""


def _one_error_line(result):
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize("url", BAD_URLS)
def test_api_url_option_rejects_invalid(cli, url):
    result = cli("--api-url", url, "bundle", "list")

    line = _one_error_line(result)
    assert result.returncode == 2
    assert line == f"Error: Invalid API URL {url!r}: use http(s)://host[:port]"


def test_configure_invalid_url_saves_nothing(cli):
    result = cli(
        "configure", "--api-url", "ftp://x", "--api-key", "abc",
        "--no-verify",
    )

    assert result.returncode == 2
    assert "Invalid API URL 'ftp://x'" in _one_error_line(result)
    assert not (cli.home / "config.json").exists()


def _write_config(cli, api_url):
    cli.home.mkdir(parents=True, exist_ok=True)
    os.chmod(cli.home, 0o700)
    profile = {"api_url": api_url, "api_key": "abc"}
    path = cli.home / "config.json"
    path.write_text(
        json.dumps({"current": "default", "profiles": {"default": profile}})
    )
    os.chmod(path, 0o600)
    return path


def test_info_shows_bad_saved_url_unreachable(cli):
    _write_config(cli, "foo")
    env = {"PDTRAIN_API_URL": "", "PDTRAIN_API_KEY": ""}

    info = cli("info", "-f", "json", env=env)
    listing = cli("bundle", "list", env=env)

    assert info.returncode == 0, info.stderr
    shown = json.loads(info.stdout)
    assert shown["api_url"] == "foo"
    assert shown["server_reachable"] is False
    assert listing.returncode == 2
    assert "Invalid API URL 'foo'" in _one_error_line(listing)


def test_config_non_string_url_names_field(cli):
    path = _write_config(cli, 5)

    result = cli("info", env={"PDTRAIN_API_URL": ""})

    line = _one_error_line(result)
    assert result.returncode != 0
    assert str(path) in line
    assert "api_url must be a string" in line


def _umask():
    current = os.umask(0)
    os.umask(current)
    return current


def test_dataset_download_refuses_overwrite(cli, csv_file, tmp_path):
    cli.json("dataset", "upload", csv_file, "--name", "rows")
    output = tmp_path / "out"
    output.mkdir()
    (output / "rows.csv").write_text("mine\n")

    refused = cli("dataset", "download", "rows", "--output", output)
    kept = (output / "rows.csv").read_text()
    forced = cli("dataset", "download", "rows", "--output", output, "--force")

    assert refused.returncode == 2
    assert f"{output / 'rows.csv'} already exists" in _one_error_line(refused)
    assert "--force" in refused.stderr
    assert kept == "mine\n"
    assert forced.returncode == 0, forced.stderr
    assert (output / "rows.csv").read_bytes() == csv_file.read_bytes()
    mode = stat.S_IMODE((output / "rows.csv").stat().st_mode)
    assert mode == 0o666 & ~_umask()


def test_directory_dataset_clash_writes_nothing(cli, tmp_path):
    folder = tmp_path / "parts"
    folder.mkdir()
    (folder / "a.txt").write_text("a\n")
    (folder / "b.txt").write_text("b\n")
    cli.json("dataset", "upload", folder, "--name", "parts")
    output = tmp_path / "out"
    (output / "b.txt").mkdir(parents=True)

    result = cli("dataset", "download", "parts", "--output", output)

    assert result.returncode == 2
    assert "b.txt already exists and is a directory" in result.stderr
    assert sorted(path.name for path in output.iterdir()) == ["b.txt"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize("kind", ["file", "below-file", "unwritable"])
def test_dataset_download_bad_output(cli, csv_file, tmp_path, kind):
    cli.json("dataset", "upload", csv_file, "--name", "rows")
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    values = {
        "file": str(blocker),
        "below-file": str(blocker / "sub"),
        "unwritable": "/proc/pdtrain-test",
    }

    result = cli("dataset", "download", "rows", "--output", values[kind])

    assert result.returncode == 2
    assert f"Invalid --output {values[kind]!r}" in _one_error_line(result)


def test_artifacts_download_refuses_overwrite(cli, tmp_path):
    folder = tmp_path / "model-bundle"
    folder.mkdir()
    (folder / "train.py").write_text(MODEL_SCRIPT)
    cli.json("bundle", "upload", folder, "--name", "model-bundle")
    run = cli.json(
        "run", "create", "--bundle", "model-bundle", "--wait",
        "--interval", "0.3",
    )
    output = tmp_path / "out"
    first = cli("artifacts", "download", run["id"], "--output", output)
    second = cli("artifacts", "download", run["id"], "--output", output)
    forced = cli(
        "artifacts", "download", run["id"], "--output", output, "--force"
    )

    assert first.returncode == 0, first.stderr
    assert second.returncode == 2
    assert "already exists; choose another --output" in second.stderr
    assert forced.returncode == 0, forced.stderr


@pytest.mark.parametrize("name", ["a/b", "../x", "x" * 300, "a\\b"])
def test_bundle_upload_rejects_bad_name(cli, bundle_dir, name):
    result = cli("bundle", "upload", bundle_dir, "--name", name)

    line = _one_error_line(result)
    assert result.returncode == 2
    assert "invalid name" in line
    assert "letters, digits, '.', '_' or '-'" in line
    assert "tmp" not in line.lower()


def test_bundle_upload_empty_path_rejected(cli, bundle_dir):
    result = cli("bundle", "upload", "", "--name", "x")
    listed = cli.json("bundle", "list")

    assert result.returncode == 2
    assert "the path is empty" in _one_error_line(result)
    assert listed == []


def test_bundle_upload_missing_path(cli, tmp_path):
    missing = tmp_path / "nosuch"

    result = cli("bundle", "upload", missing)

    assert result.returncode == 2
    assert "does not exist" in _one_error_line(result)


def test_bundle_upload_skips_fifo(cli, bundle_dir):
    os.mkfifo(bundle_dir / "pipe")

    result = cli("bundle", "upload", bundle_dir, "--name", "piped", timeout=60)

    assert result.returncode == 0, result.stderr
    assert "Skipping pipe: not a regular file" in result.stderr


def test_bundle_list_unknown_column(cli):
    result = cli("bundle", "list", "-c", "nosuchcol")

    assert result.returncode == 2
    assert "Invalid --column 'nosuchcol'" in _one_error_line(result)
