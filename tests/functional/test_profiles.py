"""Profiles: saving, selecting, deleting, and which setting wins."""

import json

import pytest

from tests.functional.conftest import Cli, base_env

UNREACHABLE = "http://127.0.0.1:9"


@pytest.fixture
def offline_cli(tmp_path):
    """A CLI with its own home and two saved profiles, a and b."""
    home = tmp_path / "cli-home"
    cli = Cli(home=home, env=base_env(home))
    for name in ("a", "b"):
        result = cli(
            "configure", "--profile", name,
            "--api-url", f"{UNREACHABLE}/{name}",
            "--api-key", f"key-{name}-0123456789", "--no-verify",
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
    return cli


def info(cli, *options, env=None):
    result = cli(*options, "info", "-f", "json", env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


# (global options, environment, expected profile, URL and their sources)
PRECEDENCE = [
    ((), {}, "b", "config.json", f"{UNREACHABLE}/b", "profile 'b'"),
    (
        (), {"PDTRAIN_PROFILE": "a"},
        "a", "PDTRAIN_PROFILE", f"{UNREACHABLE}/a", "profile 'a'",
    ),
    (
        ("--profile", "a"), {"PDTRAIN_PROFILE": "b"},
        "a", "--profile", f"{UNREACHABLE}/a", "profile 'a'",
    ),
    (
        ("--profile", "a"), {"PDTRAIN_API_URL": "http://127.0.0.1:9/env"},
        "a", "--profile", "http://127.0.0.1:9/env", "PDTRAIN_API_URL",
    ),
    (
        ("--api-url", "http://127.0.0.1:9/opt"),
        {"PDTRAIN_API_URL": "http://127.0.0.1:9/env"},
        "b", "config.json", "http://127.0.0.1:9/opt", "--api-url",
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    "options, environ, profile, profile_source, url, url_source", PRECEDENCE
)
def test_profile_precedence_table(
    offline_cli, options, environ, profile, profile_source, url, url_source
):
    env = dict(offline_cli.env, **environ)

    shown = info(offline_cli, *options, env=env)

    assert shown["profile"] == profile
    assert shown["profile_source"] == profile_source
    assert shown["api_url"] == url
    assert shown["api_url_source"] == url_source


def test_profile_default_without_config(tmp_path):
    home = tmp_path / "empty-home"
    cli = Cli(home=home, env=base_env(home))

    shown = info(cli)

    assert shown["profile"] == "default"
    assert shown["profile_source"] == "default"
    assert shown["api_key_source"] == "default"


def test_profile_list_marks_current_and_masks_keys(offline_cli):
    rows = offline_cli.json("profile", "list")

    assert [row["name"] for row in rows] == ["a", "b"]
    assert [row["current"] for row in rows] == [False, True]
    assert rows[0]["api_key"] == "********6789"


def test_profile_use_switches_current(offline_cli):
    result = offline_cli("profile", "use", "a")

    assert result.returncode == 0
    assert result.stderr == "Using profile 'a'\n"
    assert info(offline_cli)["api_url"] == f"{UNREACHABLE}/a"


def test_profile_delete_current_leaves_none(offline_cli):
    result = offline_cli("profile", "delete", "b")

    assert result.returncode == 0
    assert "no profile is current now" in result.stderr
    assert [row["name"] for row in offline_cli.json("profile", "list")] == [
        "a"
    ]
    assert info(offline_cli)["profile"] == "default"


@pytest.mark.parametrize(
    "argv",
    [
        ("profile", "use", "missing"),
        ("profile", "delete", "missing"),
        ("--profile", "missing", "info"),
    ],
)
def test_profile_unknown_name_is_one_line(offline_cli, argv):
    result = offline_cli(*argv)

    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert "Profile 'missing' not found" in result.stderr
    assert "profiles: a, b" in result.stderr


def test_profile_invalid_name_rejected(offline_cli):
    result = offline_cli(
        "configure", "--profile", "../x", "--api-url", UNREACHABLE,
        "--api-key", "k", "--no-verify",
    )  # fmt: skip

    assert result.returncode == 2
    assert "Invalid profile name '../x'" in result.stderr
    assert [row["name"] for row in offline_cli.json("profile", "list")] == [
        "a",
        "b",
    ]


def test_profile_use_default_returns_to_local(offline_cli):
    result = offline_cli("profile", "use", "default")

    assert result.returncode == 0, result.stderr
    assert info(offline_cli)["profile"] == "default"
    assert not str(info(offline_cli)["api_url"]).startswith(UNREACHABLE)


def test_configure_switch_says_how_to_go_back(offline_cli):
    result = offline_cli(
        "configure", "--profile", "c", "--api-url", UNREACHABLE,
        "--api-key", "key-c-0123456789", "--no-verify",
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert "Using profile 'c' from now on" in result.stderr
    assert "`pdtrain profile use b`" in result.stderr


def test_configure_unreachable_suggests_no_verify(offline_cli):
    result = offline_cli(
        "configure", "--profile", "c", "--api-url", UNREACHABLE,
        "--api-key", "key-c-0123456789",
    )  # fmt: skip

    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert "--no-verify" in result.stderr
    names = [row["name"] for row in offline_cli.json("profile", "list")]
    assert "c" not in names


def test_profile_delete_unknown_points_to_list(offline_cli):
    result = offline_cli("profile", "delete", "missing")

    assert result.returncode == 1
    assert "see `pdtrain profile list`" in result.stderr
    assert "configure" not in result.stderr
