"""Commands and formatters that other packages add through entry points."""

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.functional.conftest import Cli, base_env

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_PLUGIN = REPO / "examples" / "plugin"


def write_distribution(site, name, entry_points, modules=None):
    """Write an installed-looking distribution into the directory site."""
    dist_info = site / f"{name}-1.0.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n"
    )
    (dist_info / "entry_points.txt").write_text(textwrap.dedent(entry_points))
    for module, source in (modules or {}).items():
        (site / f"{module}.py").write_text(textwrap.dedent(source))


def plugin_env(cli, site, tmp_path):
    """cli's environment with site on sys.path and its own stevedore cache."""
    env = dict(cli.env)
    env["PYTHONPATH"] = str(site)
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    return env


@pytest.fixture
def offline_cli(tmp_path):
    """A CLI with its own home and no server, for offline commands."""
    home = tmp_path / "cli-home"
    return Cli(home=home, env=base_env(home))


@pytest.fixture(scope="module")
def example_site(tmp_path_factory):
    """examples/plugin installed with pip into a directory of its own."""
    work = tmp_path_factory.mktemp("example-plugin")
    source = work / "source"
    shutil.copytree(EXAMPLE_PLUGIN, source)
    site = work / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
         "--no-build-isolation", "--target", str(site), str(source)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    return site


def test_example_plugin_command_counts_runs(
    cli, example_site, bundle_dir, tmp_path
):
    env = plugin_env(cli, example_site, tmp_path)
    cli.json("bundle", "upload", bundle_dir, "--name", "summed")
    for _ in range(2):
        cli.json("run", "create", "--bundle", "summed")

    rows = cli.json("run", "summary", env=env)

    assert rows == [
        {"status": "created", "runs": 2, "newest": rows[0]["newest"]}
    ]
    assert rows[0]["newest"].endswith("Z")


def test_example_plugin_markdown_formatter(
    offline_cli, example_site, tmp_path
):
    env = plugin_env(offline_cli, example_site, tmp_path)
    offline_cli("configure", "--profile", "md", "--api-url", "http://h:1",
        "--api-key", "k" * 12, "--no-verify", env=env)  # fmt: skip

    listed = offline_cli("profile", "list", "-f", "markdown", env=env)
    shown = offline_cli("info", "-f", "markdown", "-c", "profile", env=env)

    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines()[:2] == [
        "| name | current | api_url | api_key |",
        "|---|---|---|---|",
    ]
    assert "| md | True | http://h:1 | ********kkkk |" in listed.stdout
    assert shown.stdout.splitlines()[2] == "| profile | md |"


def test_example_plugin_help_names_its_package(
    offline_cli, example_site, tmp_path
):
    env = plugin_env(offline_cli, example_site, tmp_path)

    result = offline_cli("run", "summary", "--help", env=env)

    assert result.returncode == 0
    assert "pdtrain run summary -f markdown" in result.stdout
    assert "provided by the pdtrain-example-plugin plugin" in result.stdout


def test_broken_plugin_fails_alone(offline_cli, tmp_path):
    site = tmp_path / "site"
    write_distribution(
        site,
        "broken_plugin",
        """\
        [pdtrain.commands]
        broken_thing = broken_plugin_module:Thing
        """,
        {"broken_plugin_module": "import no_such_dependency_xyz\n"},
    )
    env = plugin_env(offline_cli, site, tmp_path)

    working = offline_cli("profile", "list", "-f", "json", env=env)
    broken = offline_cli("broken", "thing", env=env)
    listing = offline_cli("help", "broken", env=env)

    assert working.returncode == 0
    assert working.stderr == ""
    assert broken.returncode == 1
    assert broken.stderr.count("\n") == 1
    assert "'broken thing' (broken_plugin_module:Thing)" in broken.stderr
    assert "no_such_dependency_xyz" in broken.stderr
    assert "Traceback" not in broken.stderr
    assert listing.returncode == 0
    assert listing.stderr.startswith("Warning: Command plugin 'broken thing'")


def test_conflicting_plugin_is_reported(offline_cli, tmp_path):
    site = tmp_path / "site"
    write_distribution(
        site,
        "greedy_plugin",
        """\
        [pdtrain.commands]
        profile_list = greedy_module:Greedy
        """,
        {"greedy_module": "raise ImportError('must not be imported')\n"},
    )
    env = plugin_env(offline_cli, site, tmp_path)

    result = offline_cli("profile", "list", "-f", "json", env=env)

    assert result.returncode == 0
    assert result.stdout.strip() == "[]"
    assert result.stderr == (
        "Warning: Command 'profile list' is claimed by both "
        "pdtrain_plugins.profile:ListProfile and greedy_module:Greedy; "
        "using pdtrain_plugins.profile:ListProfile\n"
    )


def test_two_third_party_plugins_conflict(offline_cli, tmp_path):
    site = tmp_path / "site"
    for name in ("first_plugin", "second_plugin"):
        write_distribution(
            site,
            name,
            f"""\
            [pdtrain.commands]
            hello = {name}_module:Hello
            """,
        )
    env = plugin_env(offline_cli, site, tmp_path)

    result = offline_cli("profile", "list", env=env)

    assert "Command 'hello' is claimed by both" in result.stderr
    assert "first_plugin_module:Hello" in result.stderr
    assert "second_plugin_module:Hello" in result.stderr
