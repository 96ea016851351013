"""Artifact download defaults, list totals and the storage quota."""

import subprocess

import pytest
import yaml

from tests.functional.conftest import (
    PDTRAIN,
    Cli,
    base_env,
    start_server,
    stop_server,
)


def _trained_run(cli, bundle_dir, csv_file):
    cli.json("dataset", "upload", csv_file, "--name", "rows")
    cli.json("bundle", "upload", bundle_dir, "--name", "counter")
    return cli.json(
        "run", "create", "--bundle", "counter", "--dataset", "rows",
        "--wait", "--interval", "0.3",
    )


def test_artifacts_download_defaults_to_artifacts_dir(
    cli, bundle_dir, csv_file, tmp_path
):
    run = _trained_run(cli, bundle_dir, csv_file)
    work = tmp_path / "work"
    work.mkdir()

    result = subprocess.run(
        [PDTRAIN, "artifacts", "download", run["id"]],
        capture_output=True, text=True, cwd=work, env=cli.env, timeout=120,
    )

    assert result.returncode == 0, result.stderr
    assert (work / "artifacts" / run["id"] / "model.tar.gz").is_file()
    assert not (work / run["id"]).exists()


def test_artifacts_list_table_ends_with_total(cli, bundle_dir, csv_file):
    run = _trained_run(cli, bundle_dir, csv_file)

    rows = cli.json("artifacts", "list", run["id"])
    table = cli("artifacts", "list", run["id"]).stdout.splitlines()
    stored = [row for row in rows if row["kind"] != "member"]

    assert all(not row["path"].startswith("total") for row in rows)
    assert f"total ({len(stored)} artifacts)" in table[-2]
    assert table[-1].startswith("+")


def test_artifacts_list_total_stays_last_when_sorted(
    cli, bundle_dir, csv_file
):
    run = _trained_run(cli, bundle_dir, csv_file)

    table = cli(
        "artifacts", "list", run["id"], "--sort-column", "size_bytes",
        "--sort-descending",
    ).stdout.splitlines()

    assert "total (" in table[-2]


def test_quota_reports_artifacts_and_total(cli, bundle_dir, csv_file):
    run = _trained_run(cli, bundle_dir, csv_file)
    stored = [
        row for row in cli.json("artifacts", "list", run["id"])
        if row["kind"] != "member"
    ]

    rows = {row["kind"]: row for row in cli.json("quota")}
    table = cli("quota")
    kinds = ("datasets", "bundles", "artifacts")

    assert list(rows) == [*kinds, "total"]
    assert rows["artifacts"]["used"] == sum(r["size_bytes"] for r in stored)
    assert rows["artifacts"]["count"] == len(stored)
    assert rows["artifacts"]["max_count"] is None
    assert rows["total"]["used"] == sum(rows[k]["used"] for k in kinds)
    assert rows["total"]["limit"] == sum(rows[k]["limit"] for k in kinds)
    assert isinstance(rows["datasets"]["percent"], float)
    assert "%" in table.stdout
    assert "above 80%" not in table.stderr


@pytest.fixture(scope="module")
def small_server(tmp_path_factory):
    """A server whose dataset storage limit is 170 bytes."""
    home = tmp_path_factory.mktemp("small-quota")
    config = home / "server.yaml"
    # The csv_file fixture writes 155 bytes, 91.2% of 170 bytes.
    limit_gb = 170 / 1024**3
    config.write_text(
        yaml.safe_dump({"limits": {"max_dataset_storage_gb": limit_gb}})
    )
    running = start_server(home / "home", ["--config", str(config)])
    yield running
    stop_server(running)


def test_quota_warns_above_80_percent(small_server, csv_file, tmp_path):
    env = base_env(tmp_path / "cli-home")
    env["PDTRAIN_API_URL"] = small_server.url
    env["PDTRAIN_API_KEY"] = small_server.key
    cli = Cli(home=tmp_path / "cli-home", env=env)
    cli.json("dataset", "upload", csv_file, "--name", "rows")

    result = cli("quota", "-f", "json")
    warnings = [line for line in result.stderr.splitlines() if "80%" in line]

    assert csv_file.stat().st_size == 155
    assert result.returncode == 0, result.stderr
    assert len(warnings) == 1
    assert "datasets 91.2%" in warnings[0]
