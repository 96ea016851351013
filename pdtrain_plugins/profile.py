"""Commands that list, select and delete configuration profiles."""

import logging

from pdtrain_core import command, config

LOG = logging.getLogger(__name__)


def _config_file():
    return config.ConfigFile(config.home_dir() / config.CONFIG_NAME)


def _add_name(parser, help_text):
    parser.add_argument("name", metavar="<profile>", help=help_text)


class ListProfile(command.Lister):
    """List the saved profiles; the current one is marked.

    The current profile is the one `profile use` or `configure` last
    selected; --profile and PDTRAIN_PROFILE override it for one
    command. Keys are masked.
    """

    examples = (
        "pdtrain profile list",
        "pdtrain profile list -f json",
    )

    def take_action(self, parsed_args):
        data = _config_file().load()
        current = data.get("current")
        rows = [
            (
                name,
                name == current,
                profile.get("api_url"),
                config.mask_key(profile.get("api_key")),
            )
            for name, profile in sorted(data["profiles"].items())
        ]
        return ("name", "current", "api_url", "api_key"), rows


class UseProfile(command.Command):
    """Make a saved profile the current one."""

    examples = ("pdtrain profile use staging",)

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        _add_name(parser, "name of a saved profile")
        return parser

    def take_action(self, parsed_args):
        config_file = _config_file()
        config_file.use_profile(parsed_args.name)
        self.notice(f"Using profile {parsed_args.name!r}")
        return 0


class DeleteProfile(command.Command):
    """Delete a saved profile and its stored key.

    Deleting the current profile leaves no current profile, so later
    commands use the "default" profile unless one is chosen.
    """

    examples = ("pdtrain profile delete old-cluster",)

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        _add_name(parser, "name of the profile to delete")
        return parser

    def take_action(self, parsed_args):
        name = parsed_args.name
        was_current = _config_file().delete_profile(name)
        message = f"Deleted profile {name!r}"
        if was_current:
            message += (
                "; no profile is current now (see `pdtrain profile use`)"
            )
        self.notice(message)
        return 0
