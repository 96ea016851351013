import json
import stat

import pytest

from pdtrain_core import config
from pdtrain_core.exceptions import ConfigError


def _write_profiles(home, current="default", **profiles):
    home.mkdir(parents=True, exist_ok=True)
    data = {"current": current, "profiles": profiles}
    (home / "config.json").write_text(json.dumps(data))


def _env(home, **values):
    return {"PDTRAIN_HOME": str(home), **values}


def test_config_env_overrides_profile(tmp_path):
    _write_profiles(tmp_path, default={"api_url": "http://p", "api_key": "k"})
    env = _env(tmp_path, PDTRAIN_API_URL="http://env")

    settings = config.resolve(environ=env)

    assert settings.api_url == config.Setting("http://env", "PDTRAIN_API_URL")
    assert settings.api_key == config.Setting("k", "profile 'default'")


def test_config_option_overrides_env(tmp_path):
    env = _env(tmp_path, PDTRAIN_API_URL="http://env", PDTRAIN_API_KEY="e")

    settings = config.resolve(api_url="http://opt", environ=env)

    assert settings.api_url == config.Setting("http://opt", "--api-url")
    assert settings.api_key == config.Setting("e", "PDTRAIN_API_KEY")


def test_config_profile_from_env_selects_profile(tmp_path):
    _write_profiles(
        tmp_path,
        default={"api_url": "http://a", "api_key": "ka"},
        ci={"api_url": "http://b", "api_key": "kb"},
    )

    settings = config.resolve(environ=_env(tmp_path, PDTRAIN_PROFILE="ci"))

    assert settings.profile == config.Setting("ci", "PDTRAIN_PROFILE")
    assert settings.api_url.value == "http://b"


def test_config_without_url_is_embedded(tmp_path):
    settings = config.resolve(environ=_env(tmp_path))

    assert settings.embedded
    assert settings.api_url.source == "default"


def test_config_missing_named_profile_is_an_error(tmp_path):
    _write_profiles(tmp_path, default={"api_url": "http://a"})

    with pytest.raises(ConfigError, match="Profile 'nope' not found"):
        config.resolve(profile="nope", environ=_env(tmp_path))


def test_config_invalid_json_names_the_file(tmp_path):
    tmp_path.joinpath("config.json").write_text("{not json")

    with pytest.raises(ConfigError, match="config.json is not valid JSON"):
        config.resolve(environ=_env(tmp_path))


def test_config_save_sets_private_modes(tmp_path):
    home = tmp_path / "home"
    config_file = config.ConfigFile(home / "config.json")

    config_file.set_profile("default", "http://a", "secret")

    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert stat.S_IMODE(config_file.path.stat().st_mode) == 0o600
    assert [p.name for p in home.iterdir()] == ["config.json"]


def test_config_set_profile_keeps_other_profiles(tmp_path):
    config_file = config.ConfigFile(tmp_path / "config.json")
    config_file.set_profile("a", "http://a", "ka")

    config_file.set_profile("b", "http://b", "kb")

    data = config_file.load()
    assert sorted(data["profiles"]) == ["a", "b"]
    assert data["current"] == "b"


def test_config_home_defaults_to_dot_pdtrain(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))

    assert config.home_dir({}) == tmp_path / ".pdtrain"


@pytest.mark.parametrize(
    ("key", "masked"),
    [
        ("pdt_0123456789abcdef", "********cdef"),
        ("short", "*****"),
        ("", ""),
        (None, ""),
    ],
)
def test_mask_key_shows_last_four_only(key, masked):
    assert config.mask_key(key) == masked
