"""`pdtrain bundle delete` against a real orchestrator."""

import os

import pexpect
import pytest

from pdtrain_core.exitcodes import ExitCode
from tests.functional.conftest import (
    PDTRAIN,
    Cli,
    base_env,
    start_server,
    stop_server,
)

# Room for one bundle of about 3 KiB (the `weights` fixture), not two.
SMALL_BUNDLE_QUOTA = """\
limits:
  max_bundle_storage_gb: 0.000005
"""


@pytest.fixture
def two_versions(cli, bundle_dir):
    first = cli.json("bundle", "upload", bundle_dir, "--name", "mnist")
    (bundle_dir / "notes.txt").write_text("second version\n" * 200)
    second = cli.json("bundle", "upload", bundle_dir, "--name", "mnist")
    return first, second


def bundles_used(cli):
    rows = cli.json("quota", "-c", "kind", "-c", "used")
    return {row["kind"]: row["used"] for row in rows}["bundles"]


def listed_versions(cli):
    return sorted(item["version"] for item in cli.json("bundle", "list"))


def test_bundle_delete_frees_quota(cli, two_versions):
    _, second = two_versions
    before = bundles_used(cli)

    result = cli("bundle", "delete", "mnist:2", "--yes")

    assert result.returncode == 0, result.stderr
    assert f"Deleted bundle mnist:2 ({second['id']})" in result.stderr
    assert "Freed" in result.stderr
    assert result.stdout == ""
    assert listed_versions(cli) == [1]
    assert before - bundles_used(cli) == second["size_bytes"]


def test_bundle_delete_by_id(cli, two_versions):
    first, _ = two_versions

    result = cli("bundle", "delete", first["id"], "--yes")
    shown = cli("bundle", "show", first["id"])

    assert result.returncode == 0, result.stderr
    assert listed_versions(cli) == [2]
    assert shown.returncode == 1
    assert first["id"] in shown.stderr


def test_bundle_delete_name_needs_all_versions(cli, two_versions):
    bare = cli("bundle", "delete", "mnist", "--yes")
    kept = listed_versions(cli)
    whole = cli("bundle", "delete", "mnist", "--all-versions", "--yes")

    assert bare.returncode == 1
    assert len(bare.stderr.strip().splitlines()) == 1
    assert "--all-versions" in bare.stderr
    assert kept == [1, 2]
    assert whole.returncode == 0, whole.stderr
    assert whole.stderr.count("Deleted bundle mnist:") == 2
    assert cli.json("bundle", "list") == []


def test_bundle_delete_version_with_all_versions_fails(cli, two_versions):
    result = cli("bundle", "delete", "mnist:1", "--all-versions", "--yes")

    assert result.returncode == 1
    assert "drop one of the two" in result.stderr
    assert listed_versions(cli) == [1, 2]


def test_bundle_delete_on_pipe_needs_yes(cli, two_versions):
    result = cli("bundle", "delete", "mnist:1", input="y\n")

    assert result.returncode == ExitCode.USAGE
    assert len(result.stderr.strip().splitlines()) == 1
    assert "--yes" in result.stderr
    assert "Traceback" not in result.stderr
    assert listed_versions(cli) == [1, 2]


def test_bundle_delete_on_terminal_asks_first(cli, two_versions):
    declined = _answer(cli, "n", "bundle", "delete", "mnist:1")
    kept = listed_versions(cli)
    accepted = _answer(cli, "y", "bundle", "delete", "mnist:1")

    assert declined == 0
    assert kept == [1, 2]
    assert accepted == 0
    assert listed_versions(cli) == [2]


def _answer(cli, answer, *args):
    child = pexpect.spawn(
        PDTRAIN, list(args), env=cli.env, encoding="utf-8", timeout=60
    )
    child.expect_exact("Delete bundle mnist:1")
    child.expect_exact("[y/N]")
    child.sendline(answer)
    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus


def test_bundle_delete_unknown_reference(cli, two_versions):
    result = cli("bundle", "delete", "nosuch:1", "--yes")

    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert "'nosuch'" in result.stderr
    assert "Traceback" not in result.stderr


def test_bundle_delete_unknown_among_several_deletes_none(cli, two_versions):
    result = cli("bundle", "delete", "mnist:1", "nosuch:1", "--yes")

    assert result.returncode == 1
    assert "nothing was deleted" in result.stderr
    assert listed_versions(cli) == [1, 2]


def test_bundle_delete_in_use_names_the_run(cli, two_versions):
    run = cli.json("run", "create", "--bundle", "mnist:1")

    refused = cli("bundle", "delete", "mnist:1", "--yes")

    assert refused.returncode == 1
    assert len(refused.stderr.strip().splitlines()) == 1
    assert run["id"] in refused.stderr
    assert "(HTTP 409)" in refused.stderr
    assert listed_versions(cli) == [1, 2]


def test_bundle_delete_keeps_ended_runs(cli, two_versions):
    first, _ = two_versions
    run = cli.json("run", "create", "--bundle", "mnist:1")
    stopped = cli("run", "stop", run["id"], "--yes")
    assert stopped.returncode == 0, stopped.stderr

    result = cli("bundle", "delete", "mnist:1", "--yes")
    shown = cli.json("run", "show", run["id"])
    table = cli("run", "show", run["id"], "-c", "bundle", "-f", "table")

    assert result.returncode == 0, result.stderr
    assert shown["id"] == run["id"]
    assert shown["status"] == "stopped"
    assert shown["bundle"]["id"] == first["id"]
    assert shown["bundle"]["deleted_at"] is not None
    assert f"{first['id']} (deleted)" in table.stdout


@pytest.fixture(scope="module")
def small_server(tmp_path_factory):
    """An orchestrator with room for about 5 KiB of bundles per owner."""
    home = tmp_path_factory.mktemp("small-bundle-quota")
    config = home / "server.yaml"
    config.write_text(SMALL_BUNDLE_QUOTA)
    running = start_server(home, ("--config", str(config)))
    yield running
    stop_server(running)


@pytest.fixture
def weights(bundle_dir):
    # Random bytes do not compress, so each upload takes about 3 KiB.
    (bundle_dir / "weights.bin").write_bytes(os.urandom(3000))
    return bundle_dir


def test_bundle_quota_full_then_delete_frees_it(
    small_server, tmp_path, weights
):
    env = base_env(tmp_path / "cli-home")
    env["PDTRAIN_API_URL"] = small_server.url
    env["PDTRAIN_API_KEY"] = small_server.key
    small_cli = Cli(home=tmp_path / "cli-home", env=env)
    small_cli.json("bundle", "upload", weights, "--name", "big")
    (weights / "weights.bin").write_bytes(os.urandom(3000))

    full = small_cli("bundle", "upload", weights, "--name", "big")
    deleted = small_cli("bundle", "delete", "big:1", "--yes")
    again = small_cli("bundle", "upload", weights, "--name", "big")

    assert full.returncode == ExitCode.ERROR
    assert "`pdtrain bundle delete NAME:N`" in full.stderr
    assert deleted.returncode == 0, deleted.stderr
    assert again.returncode == 0, again.stderr
    versions = [item["version"] for item in small_cli.json("bundle", "list")]
    assert versions == [2]
