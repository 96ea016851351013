"""Read and write pdtrain's configuration and resolve effective settings.

The file ``$PDTRAIN_HOME/config.json`` (default ``~/.pdtrain``) stores
named profiles::

    {"current": "default",
     "profiles": {"default": {"api_url": "...", "api_key": "..."}}}

Each setting is resolved on its own: command-line option, then
environment (``PDTRAIN_API_URL``, ``PDTRAIN_API_KEY``,
``PDTRAIN_PROFILE``), then the profile, then the built-in default. The
result records where each value came from so ``pdtrain info`` can show it.
"""

import dataclasses
import json
import logging
import os
import re
import tempfile
import urllib.parse
from pathlib import Path

from pdtrain_core.exceptions import ConfigError, UsageError

LOG = logging.getLogger(__name__)

HOME_ENV = "PDTRAIN_HOME"
URL_ENV = "PDTRAIN_API_URL"
KEY_ENV = "PDTRAIN_API_KEY"
PROFILE_ENV = "PDTRAIN_PROFILE"
DEFAULT_PROFILE = "default"
CONFIG_NAME = "config.json"

DIR_MODE = 0o700
FILE_MODE = 0o600
PROFILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def home_dir(environ=None) -> Path:
    """Return the pdtrain state directory, honouring ``PDTRAIN_HOME``."""
    environ = os.environ if environ is None else environ
    value = environ.get(HOME_ENV)
    if value:
        return Path(value).expanduser()
    return Path.home() / ".pdtrain"


def ensure_private_dir(path: Path) -> Path:
    """Create path (and parents) if missing and restrict it to the owner."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, DIR_MODE)
    return path


def fix_private_mode(path: Path, mode: int) -> None:
    """Restrict path to mode with a warning if others can read it.

    A config file holds API keys, so a group- or world-readable copy
    (left by a copy, an unpacked backup or a lax umask) is tightened.
    """
    try:
        current = path.stat().st_mode & 0o777
    except FileNotFoundError:
        return
    if current & 0o077:
        LOG.warning(
            "%s had mode %03o, readable by other users; changed it to %03o",
            path,
            current,
            mode,
        )
        os.chmod(path, mode)


def write_private_file(path: Path, text: str) -> None:
    """Write text to path atomically with mode 0600.

    The text goes to a temporary file in the same directory, which is
    then renamed over path, so a reader never sees half a file.
    """
    ensure_private_dir(path.parent)
    handle, temp_name = tempfile.mkstemp(
        prefix=f".{path.name}.", dir=path.parent
    )
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as temp:
            temp.write(text)
            temp.flush()
            os.fsync(temp.fileno())
        os.chmod(temp_name, FILE_MODE)
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def mask_key(key: str | None) -> str:
    """Return key with all but its last four characters hidden."""
    if not key:
        return ""
    if len(key) <= 8:
        return "*" * len(key)
    return "*" * 8 + key[-4:]


class ConfigFile:
    """The profiles file, ``config.json`` under the pdtrain home."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def load(self) -> dict:
        """Return the file's content, or an empty config when missing."""
        fix_private_mode(self.path.parent, DIR_MODE)
        fix_private_mode(self.path, FILE_MODE)
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {"profiles": {}}
        except OSError as error:
            raise ConfigError(
                f"Cannot read {self.path}: {error.strerror}"
            ) from error
        try:
            data = json.loads(text)
        except ValueError as error:
            raise ConfigError(
                f"{self.path} is not valid JSON ({error}); fix it or "
                "delete it and run `pdtrain configure`"
            ) from error
        if not isinstance(data, dict) or not isinstance(
            data.get("profiles", {}), dict
        ):
            raise ConfigError(
                f"{self.path} must hold an object with a 'profiles' object"
            )
        data.setdefault("profiles", {})
        return data

    def save(self, data: dict) -> None:
        """Write data atomically, directory 0700 and file 0600."""
        text = json.dumps(data, indent=2, sort_keys=True) + "\n"
        write_private_file(self.path, text)
        LOG.debug("Wrote %s", self.path)

    def set_profile(self, name, api_url, api_key, make_current=True):
        """Store one profile's URL and key and optionally select it."""
        check_profile_name(name)
        data = self.load()
        profile = data["profiles"].setdefault(name, {})
        profile["api_url"] = api_url
        profile["api_key"] = api_key
        if make_current:
            data["current"] = name
        self.save(data)

    def use_profile(self, name) -> None:
        """Make the stored profile name the current one.

        "default" needs no stored profile: without one it means the
        local orchestrator that pdtrain starts on demand.
        """
        data = self.load()
        if name != DEFAULT_PROFILE:
            self._require(data, name)
        data["current"] = name
        self.save(data)

    def delete_profile(self, name) -> bool:
        """Remove profile name; return True when it was the current one."""
        data = self.load()
        self._require(data, name, "see `pdtrain profile list`")
        del data["profiles"][name]
        was_current = data.get("current") == name
        if was_current:
            data.pop("current")
        self.save(data)
        return was_current

    def _require(self, data, name, hint=None):
        if name not in data["profiles"]:
            known = ", ".join(sorted(data["profiles"])) or "none"
            if hint is None:
                hint = f"create it with `pdtrain configure --profile {name}`"
            raise ConfigError(
                f"Profile {name!r} not found in {self.path} (profiles: "
                f"{known}); {hint}"
            )


def check_profile_name(name) -> None:
    """Raise UsageError unless name is a valid profile name."""
    if not PROFILE_NAME.fullmatch(name or ""):
        raise UsageError(
            f"Invalid profile name {name!r}: use up to 64 letters, digits, "
            "'.', '_' or '-', starting with a letter or digit"
        )


def check_api_url(url) -> None:
    """Raise UsageError unless url is http(s)://host[:port][/path].

    Checking here keeps requests' own messages (MissingSchema,
    InvalidURL) out of the CLI's errors.
    """
    try:
        parts = urllib.parse.urlsplit(url)
        # .port raises ValueError for a port outside 0-65535.
        parts.port  # noqa: B018
        valid = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        valid = False
    if not valid:
        raise UsageError(f"Invalid API URL {url!r}: use http(s)://host[:port]")


@dataclasses.dataclass(frozen=True)
class Setting:
    """One resolved value and where it came from."""

    value: str | None
    source: str


@dataclasses.dataclass(frozen=True)
class Settings:
    """The effective connection settings of one invocation."""

    home: Path
    config_path: Path
    profile: Setting
    api_url: Setting
    api_key: Setting

    @property
    def embedded(self) -> bool:
        """True when no API URL is set, so the local orchestrator is used."""
        return not self.api_url.value


def _pick(option, option_name, environ, env_name, profile, profile_label):
    """Return the first set value among option, environment and profile."""
    if option:
        return Setting(option, option_name)
    if environ.get(env_name):
        return Setting(environ[env_name], env_name)
    if profile:
        return Setting(profile, profile_label)
    return Setting(None, "default")


def resolve(api_url=None, api_key=None, profile=None, environ=None):
    """Resolve the effective settings from options, environment and file.

    Raises ConfigError when a profile named by option or environment is
    missing from the file, because the user asked for it by name.
    """
    environ = os.environ if environ is None else environ
    home = home_dir(environ)
    config = ConfigFile(home / CONFIG_NAME)
    data = config.load()

    profile_setting = _pick(
        profile,
        "--profile",
        environ,
        PROFILE_ENV,
        data.get("current"),
        "config.json",
    )
    name = profile_setting.value or DEFAULT_PROFILE
    stored = data["profiles"].get(name)
    if stored is None and profile_setting.source in ("--profile", PROFILE_ENV):
        known = ", ".join(sorted(data["profiles"])) or "none"
        raise ConfigError(
            f"Profile {name!r} not found in {config.path} (profiles: "
            f"{known}); create it with `pdtrain configure --profile {name}`"
        )
    stored = stored or {}
    for field in ("api_url", "api_key"):
        if not isinstance(stored.get(field, ""), str):
            raise ConfigError(
                f"{config.path}: profile {name!r} {field} must be a "
                f"string; fix it with `pdtrain configure --profile {name}`"
            )
    if api_url:
        check_api_url(api_url)
    elif environ.get(URL_ENV):
        check_api_url(environ[URL_ENV])
    label = f"profile {name!r}"
    return Settings(
        home=home,
        config_path=config.path,
        profile=Setting(name, profile_setting.source),
        api_url=_pick(
            api_url,
            "--api-url",
            environ,
            URL_ENV,
            stored.get("api_url"),
            label,
        ),
        api_key=_pick(
            api_key,
            "--api-key",
            environ,
            KEY_ENV,
            stored.get("api_key"),
            label,
        ),
    )
