"""Bad input gets one line naming the value, a non-zero exit, no residue."""

import socket

import pytest

from tests.functional.conftest import make_tar


def assert_one_line_error(result, *fragments):
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    # Retry warnings and upload summaries may come first; the error itself
    # is one line.
    errors = [
        line for line in result.stderr.splitlines()
        if line.startswith("Error:")
    ]
    assert len(errors) == 1, result.stderr
    for fragment in fragments:
        assert fragment in errors[0]


def test_bundle_upload_missing_path(cli, tmp_path):
    missing = tmp_path / "nowhere"

    result = cli("bundle", "upload", missing)

    assert_one_line_error(result, str(missing))


def test_bundle_upload_empty_directory(cli, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()

    result = cli("bundle", "upload", empty, "--name", "empty")
    listed = cli.json("bundle", "list")

    assert_one_line_error(result, "empty")
    assert listed == []


def test_bundle_with_escaping_member_leaves_nothing(cli, tmp_path):
    archive = make_tar(
        tmp_path / "evil.tar.gz",
        {"train.py": b"print(1)\n", "../escape.py": b"print(2)\n"},
    )

    result = cli("bundle", "upload", archive, "--name", "evil")
    listed = cli.json("bundle", "list", "--name", "evil")

    assert_one_line_error(result, "../escape.py")
    assert listed == []


def test_dataset_upload_missing_path(cli, tmp_path):
    missing = tmp_path / "absent.csv"

    result = cli("dataset", "upload", missing, "--name", "absent")

    assert_one_line_error(result, str(missing))


def test_run_create_unknown_bundle(cli):
    result = cli("run", "create", "--bundle", "no-such-bundle")

    assert_one_line_error(result, "no-such-bundle")


def test_run_show_unknown_id(cli):
    result = cli("run", "show", "run-does-not-exist")

    assert_one_line_error(result, "run-does-not-exist")


def test_run_create_malformed_hyperparameter(cli, bundle_dir):
    cli.json("bundle", "upload", bundle_dir, "--name", "hp")

    result = cli(
        "run", "create", "--bundle", "hp", "--hyperparameter", "epochs"
    )
    runs = cli.json("run", "list")

    assert_one_line_error(result, "epochs")
    assert runs == []


def test_run_create_unknown_framework(cli, bundle_dir):
    cli.json("bundle", "upload", bundle_dir, "--name", "fw")

    result = cli(
        "run", "create", "--bundle", "fw", "--framework", "caffe",
        "--framework-version", "1.0",
    )

    assert_one_line_error(result, "caffe")


@pytest.mark.parametrize("ref", ["name:abc", "name:v", ":3", "a:b:c"])
def test_bad_reference_syntax(cli, ref):
    result = cli("bundle", "show", ref)

    assert_one_line_error(result, ref)


def test_wrong_api_key(cli):
    result = cli("run", "list", env={"PDTRAIN_API_KEY": "wrong-key"})

    assert_one_line_error(result, "401")


def test_server_down(cli):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"

    result = cli("run", "list", env={"PDTRAIN_API_URL": url})

    assert_one_line_error(result, url)


def test_other_owner_sees_not_found(cli, server, bundle_dir):
    bundle = cli.json("bundle", "upload", bundle_dir, "--name", "mine")
    run = cli.json("run", "create", "--bundle", bundle["id"])
    other = {"PDTRAIN_API_KEY": server.create_key("someone-else")}

    shown = cli("run", "show", run["id"], env=other)
    bundles = cli("bundle", "list", "-f", "json", env=other)

    assert_one_line_error(shown, run["id"])
    assert bundles.returncode == 0
    assert bundles.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("name", "value", "fix"),
    [
        ("PDTRAIN_TIMEOUT", "99999999999", "up to 86400"),
        ("PDTRAIN_TIMEOUT", "nan", "up to 86400"),
        ("PDTRAIN_RETRIES", "\u00b2", "from 0 to 100"),
        ("PDTRAIN_RETRIES", "1000000", "from 0 to 100"),
    ],
)
def test_client_setting_out_of_range(cli, name, value, fix):
    # A huge timeout overflowed the socket layer's time_t, and "²"
    # passed str.isdigit() but not int().
    result = cli("run", "list", env={name: value})

    assert result.returncode == 2
    assert_one_line_error(result, f"Invalid {name}={value!r}", fix)
