"""Output formats, sorting, pipes and non-ASCII text on real commands."""

import csv
import io
import json
import subprocess

import pytest
import yaml

from tests.functional.conftest import PDTRAIN

DESCRIPTION = "Iris, 数据 – été"


@pytest.fixture
def two_runs(cli, bundle_dir):
    """A bundle and two runs, one named, one without a name."""
    cli.json("bundle", "upload", bundle_dir, "--name", "fmt")
    named = cli.json("run", "create", "--bundle", "fmt", "--name", "zeta")
    unnamed = cli.json("run", "create", "--bundle", "fmt")
    return named["id"], unnamed["id"]


@pytest.fixture
def described_dataset(cli, csv_file):
    cli.json(
        "dataset", "upload", csv_file, "--name", "iris",
        "--description", DESCRIPTION,
    )  # fmt: skip
    return "iris"


def test_formats_json_and_yaml_round_trip(cli, two_runs):
    as_json = cli.json("run", "list")
    as_yaml = yaml.safe_load(cli("run", "list", "-f", "yaml").stdout)
    bundles = cli.json("bundle", "list")

    assert as_yaml == as_json
    assert {row["id"] for row in as_json} == set(two_runs)
    assert {row["runtime_seconds"] for row in as_json} == {None}
    assert all(row["created_at"].endswith("Z") for row in as_json)
    assert isinstance(bundles[0]["size_bytes"], int)


def test_formats_table_shows_human_values(cli, two_runs):
    table = cli("bundle", "list", "-c", "size_bytes", "-c", "created_at")

    assert " B " in table.stdout or "KiB" in table.stdout
    assert "s ago" in table.stdout


def test_formats_csv_header_and_quoted_commas(cli, described_dataset):
    result = cli("dataset", "show", "iris", "-f", "csv", "-c", "name",
                 "-c", "description")  # fmt: skip

    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows == [["name", "description"], ["iris", DESCRIPTION]]
    assert f'"{DESCRIPTION}"' in result.stdout


def test_formats_empty_list_header_and_brackets(cli):
    table = cli("run", "list", "-c", "id", "-c", "status")
    as_json = cli("run", "list", "-f", "json")
    as_csv = cli("run", "list", "-f", "csv", "-c", "id")

    assert "| id | status |" in table.stdout
    assert as_json.stdout.strip() == "[]"
    assert as_csv.stdout.strip() == '"id"'


def test_sort_column_puts_missing_values_last(cli, two_runs):
    named, unnamed = two_runs

    ascending = cli.json("run", "list", "--sort-column", "name")
    descending = cli.json("run", "list", "--sort-column", "name",
                          "--sort-descending")  # fmt: skip

    assert [row["id"] for row in ascending] == [named, unnamed]
    assert [row["id"] for row in descending] == [named, unnamed]


def test_sort_column_unknown_is_usage_error(cli):
    result = cli("run", "list", "--sort-column", "colour")

    assert result.returncode == 2
    assert "Invalid --sort-column 'colour'" in result.stderr


def test_table_max_width_fits(cli, two_runs):
    result = cli("run", "list", "--max-width", "50", "-c", "id",
                 "-c", "name", "-c", "status", "-c", "created_at")  # fmt: skip

    assert result.returncode == 0
    assert max(len(line) for line in result.stdout.splitlines()) <= 50


def test_pipe_into_head_exits_quietly(cli):
    script = "profile list -f json\n" * 3000

    result = subprocess.run(
        ["bash", "-c", f"{PDTRAIN} | head -n 1; exit ${{PIPESTATUS[0]}}"],
        input=script, capture_output=True, text=True, env=cli.env,
        timeout=120,
    )  # fmt: skip

    assert result.returncode == 141
    assert result.stdout == "[]\n"
    assert result.stderr == ""


def test_pipe_into_head_one_shot_help(cli):
    result = subprocess.run(
        ["bash", "-c", f"{PDTRAIN} help | head -c 5; exit ${{PIPESTATUS[0]}}"],
        capture_output=True, text=True, env=cli.env, timeout=60,
    )  # fmt: skip

    assert result.returncode in (0, 141)
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("locale_env", [
    {"LC_ALL": "C.UTF-8"},
    {"LC_ALL": "C", "PYTHONCOERCECLOCALE": "0", "PYTHONUTF8": "0"},
])  # fmt: skip
def test_non_ascii_to_pipe_and_file(
    cli, described_dataset, tmp_path, locale_env
):
    env = dict(cli.env, **locale_env)
    env.pop("PYTHONIOENCODING", None)
    argv = [PDTRAIN, "dataset", "show", "iris", "-f", "value",
            "-c", "description"]  # fmt: skip

    piped = subprocess.run(argv, capture_output=True, env=env, timeout=60)
    out_file = tmp_path / "out.txt"
    with open(out_file, "wb") as handle:
        to_file = subprocess.run(argv, stdout=handle, env=env, timeout=60)

    assert piped.returncode == 0, piped.stderr
    assert piped.stdout.decode("utf-8") == DESCRIPTION + "\n"
    assert to_file.returncode == 0
    assert out_file.read_text(encoding="utf-8") == DESCRIPTION + "\n"


def test_non_ascii_on_terminal(cli, described_dataset):
    import pexpect

    env = dict(cli.env, LC_ALL="C.UTF-8", TERM="xterm")
    child = pexpect.spawn(
        PDTRAIN, ["dataset", "show", "iris", "-f", "value", "-c",
                  "description"],
        env=env, encoding="utf-8", timeout=60,
    )  # fmt: skip
    child.expect(pexpect.EOF)
    child.close()

    assert child.exitstatus == 0
    assert DESCRIPTION in child.before


def test_error_has_no_colour_on_pipe(cli):
    result = cli("run", "show", "nope")

    assert result.stderr.startswith("Error: Run 'nope' not found")
    assert "\x1b[" not in result.stderr


def test_json_output_is_parseable_with_unicode(cli, described_dataset):
    shown = json.loads(cli("dataset", "show", "iris", "-f", "json").stdout)

    assert shown["description"] == DESCRIPTION
