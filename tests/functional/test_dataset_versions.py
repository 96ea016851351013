"""Dataset versions from the CLI: upload, download by version, delete."""

import pytest

SLEEPER = "import time\ntime.sleep(60)\n"


@pytest.fixture
def two_versions(cli, tmp_path):
    first = tmp_path / "v1" / "rows.csv"
    first.parent.mkdir()
    first.write_text("x,y\n1,2\n")
    second = tmp_path / "v2" / "rows.csv"
    second.parent.mkdir()
    second.write_text("x,y\n" + "3,4\n" * 500)
    cli.json("dataset", "upload", first, "--name", "rows")
    cli.json("dataset", "upload", second, "--name", "rows")
    return first, second


def datasets_used(cli):
    rows = cli.json("quota", "-c", "kind", "-c", "used")
    return {row["kind"]: row["used"] for row in rows}["datasets"]


def test_dataset_download_by_version(cli, two_versions, tmp_path):
    first, _ = two_versions

    cli.json("dataset", "download", "rows:1", "--output", tmp_path / "o")

    assert (tmp_path / "o" / "rows.csv").read_text() == first.read_text()


def test_dataset_delete_one_version_frees_quota(cli, two_versions):
    _, second = two_versions
    before = datasets_used(cli)

    result = cli("dataset", "delete", "rows:2", "--yes")
    shown = cli.json("dataset", "show", "rows")

    assert result.returncode == 0, result.stderr
    assert "Deleted version 2 of dataset rows" in result.stderr
    assert [v["version"] for v in shown["versions"]] == [1]
    assert before - datasets_used(cli) == second.stat().st_size


def test_dataset_delete_whole_needs_all_versions(cli, two_versions):
    bare = cli("dataset", "delete", "rows", "--yes")
    whole = cli("dataset", "delete", "rows", "--all-versions", "--yes")

    assert bare.returncode == 1
    assert "--all-versions" in bare.stderr
    assert whole.returncode == 0, whole.stderr
    assert cli.json("dataset", "list") == []


def test_dataset_delete_in_use_names_the_run(cli, two_versions, tmp_path):
    code = tmp_path / "sleeper"
    code.mkdir()
    (code / "train.py").write_text(SLEEPER)
    cli.json("bundle", "upload", code, "--name", "sleeper")
    run = cli.json(
        "run", "create", "--bundle", "sleeper", "--dataset", "rows:1",
        "--submit",
    )  # fmt: skip

    try:
        refused = cli("dataset", "delete", "rows:1", "--yes")
    finally:
        cli("run", "stop", run["id"], "--yes")

    assert refused.returncode == 1
    assert run["id"] in refused.stderr
    assert "rows:1" in refused.stderr
    assert refused.stderr.count("\n") == 1


def test_quota_shows_largest_items(cli, two_versions):
    rows = cli.json("quota", "-c", "kind", "-c", "largest")
    largest = {row["kind"]: row["largest"] for row in rows}

    assert [(i["name"], i["version"]) for i in largest["datasets"]] == [
        ("rows", 2),
        ("rows", 1),
    ]
