"""Commands that set up and show pdtrain's configuration."""

import getpass
import logging

from pdtrain_core import __version__, command, config
from pdtrain_core.client import Client, make_session
from pdtrain_core.exceptions import (
    ApiError,
    ConfigError,
    PdtrainError,
    ServerUnavailable,
    Unauthorized,
    UsageError,
)

LOG = logging.getLogger(__name__)


class Configure(command.ShowOne):
    """Save the orchestrator-api URL and key in a profile.

    Prompts for values missing from the options when stdin is a
    terminal (the key without echo); in CI pass --api-url and
    --api-key. The key is checked against the server unless
    --no-verify is given. The profile becomes the current one.
    """

    examples = (
        "pdtrain configure",
        (
            "pdtrain configure --profile ci --api-url "
            "https://train.example.com --api-key $KEY"
        ),
    )

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        # NOTE: the app's global parser reads these three options first,
        # so they are declared here for --help and read from app.options.
        parser.add_argument(
            "--api-url", metavar="<url>", help="orchestrator-api base URL"
        )
        parser.add_argument("--api-key", metavar="<key>", help="API key")
        parser.add_argument(
            "--profile",
            metavar="<name>",
            help="profile to write (default: current)",
        )
        parser.add_argument(
            "--no-verify",
            action="store_true",
            help="save without checking the key against the server",
        )
        return parser

    def take_action(self, parsed_args):
        options = self.app.options
        home = config.home_dir()
        config_file = config.ConfigFile(home / config.CONFIG_NAME)
        stored = config_file.load()
        profile = (
            parsed_args.profile
            or options.profile
            or stored.get("current")
            or config.DEFAULT_PROFILE
        )
        current = stored["profiles"].get(profile, {})

        url = parsed_args.api_url or options.api_url
        key = parsed_args.api_key or options.api_key
        url, key = self._complete(url, key, current)
        config.check_api_url(url)
        if not parsed_args.no_verify:
            _verify(url, key)
        config_file.set_profile(profile, url, key)
        self.app.forget_client()
        LOG.info("Saved profile %r to %s", profile, config_file.path)
        previous = stored.get("current") or config.DEFAULT_PROFILE
        if previous != profile:
            self.notice(
                f"Using profile {profile!r} from now on; go back with "
                f"`pdtrain profile use {previous}`"
            )

        columns = ("profile", "api_url", "api_key", "config_path", "verified")
        values = (
            profile,
            url,
            config.mask_key(key),
            str(config_file.path),
            not parsed_args.no_verify,
        )
        return columns, values

    def _complete(self, url, key, current):
        """Fill missing values from prompts or the stored profile."""
        interactive = self.app.stdin.isatty()
        if not url and interactive:
            url = self._prompt("API URL", current.get("api_url"))
        if not key and interactive:
            key = self._prompt_key(current.get("api_key"))
        url = url or current.get("api_url")
        key = key or current.get("api_key")
        if not url:
            raise UsageError(
                "Missing API URL: pass --api-url URL (or run `pdtrain "
                "configure` in a terminal)"
            )
        if not key:
            raise UsageError(
                "Missing API key: pass --api-key KEY (or run `pdtrain "
                "configure` in a terminal)"
            )
        return url.strip(), key.strip()

    def _prompt(self, label, default):
        suffix = f" [{default}]" if default else ""
        self.app.stderr.write(f"{label}{suffix}: ")
        self.app.stderr.flush()
        answer = self.app.stdin.readline().strip()
        return answer or default

    def _prompt_key(self, default):
        suffix = f" [{config.mask_key(default)}]" if default else ""
        answer = getpass.getpass(
            f"API key{suffix}: ", stream=self.app.stderr
        ).strip()
        return answer or default


def _verify(url, key):
    """Raise ConfigError when the server rejects key."""
    try:
        # One attempt: a server that is down gets a hint, not retries.
        Client(url, key, session=make_session(retries=0)).check_key()
    except Unauthorized as error:
        raise ConfigError(
            f"The server at {url} rejected the API key ({error}); check "
            "the key or pass --no-verify to save it anyway"
        ) from error
    except ServerUnavailable as error:
        raise ConfigError(
            f"Cannot reach the orchestrator at {url} to check the key; "
            "check --api-url, or pass --no-verify to save the profile "
            "without checking"
        ) from error
    LOG.info("The server at %s accepted the key", url)


class ShowInfo(command.ShowOne):
    """Show the version and each setting with where it came from.

    Never starts the local orchestrator: it reports whether the
    configured server responds.
    """

    examples = (
        "pdtrain info",
        "pdtrain --profile staging info -f json",
    )

    def take_action(self, parsed_args):
        settings = self.app.settings
        url, url_source, reachable = self._server(settings)
        key, key_source = settings.api_key.value, settings.api_key.source
        if settings.embedded and key is None:
            key, key_source = self._local_key()
        columns = (
            "version",
            "config_path",
            "profile",
            "profile_source",
            "api_url",
            "api_url_source",
            "api_key",
            "api_key_source",
            "server_reachable",
        )
        values = (
            __version__,
            str(settings.config_path),
            settings.profile.value,
            settings.profile.source,
            url,
            url_source,
            config.mask_key(key),
            key_source,
            reachable,
        )
        return columns, values

    def _server(self, settings):
        """Return (url, source, reachable) without starting a server."""
        if not settings.embedded:
            try:
                config.check_api_url(settings.api_url.value)
            except UsageError:
                return settings.api_url.value, settings.api_url.source, False
            client = Client(
                settings.api_url.value,
                settings.api_key.value,
                timeout=5.0,
                session=make_session(retries=0),
            )
            return (
                settings.api_url.value,
                settings.api_url.source,
                _responds(client),
            )
        status = self.app.local_server.status()
        return status.url or "", "local orchestrator", status.running

    def _local_key(self):
        try:
            return self.app.local_server.api_key(), "local orchestrator"
        except PdtrainError:
            return None, "default"


def _responds(client) -> bool:
    try:
        client.health()
    except ApiError:
        return True
    except PdtrainError:
        return False
    return True
