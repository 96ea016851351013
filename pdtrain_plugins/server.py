"""Commands that control the local orchestrator under PDTRAIN_HOME."""

import os

from pdtrain_core import command, formatting
from pdtrain_core.exceptions import UsageError

COLUMNS = ("running", "url", "pid", "port", "started_at", "home", "log")


def show_status(status):
    """Return (columns, values) for a LocalServer status."""
    values = (
        status.running,
        status.url,
        status.pid,
        status.port,
        formatting.TimeColumn(status.started_at),
        str(status.home),
        str(status.log_path),
    )
    return COLUMNS, values


class StartServer(command.ShowOne):
    """Start the local orchestrator on 127.0.0.1 if it is not running."""

    examples = (
        "pdtrain server start",
        "pdtrain server start --port 8765",
        "pdtrain server start --config server.yaml",
    )

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "--port",
            metavar="<port>",
            type=int,
            default=0,
            help="TCP port (default: a free one)",
        )
        parser.add_argument(
            "--config",
            metavar="<file>",
            help="server config file (YAML) choosing storage, executor, "
            "database and limits",
        )
        return parser

    def take_action(self, parsed_args):
        server = self.app.local_server
        config = parsed_args.config
        if config and not os.path.isfile(config):
            raise UsageError(
                f"Server config {config} not found; pass the path of a "
                "YAML file such as examples/server.yaml"
            )
        status, started = server.ensure(port=parsed_args.port, config=config)
        if started:
            self.notice(
                f"Started the local orchestrator at {status.url} "
                f"(logs: {status.log_path})"
            )
        else:
            self.notice(f"The local orchestrator already runs at {status.url}")
            if config:
                self.notice(
                    "It keeps the config it started with; run `pdtrain "
                    "server stop` first to use another"
                )
            if parsed_args.port and parsed_args.port != status.port:
                self.notice(
                    f"It keeps port {status.port}; run `pdtrain "
                    "server stop` first to change it"
                )
        return show_status(status)


class StopServer(command.Command):
    """Stop the local orchestrator (SIGTERM, then SIGKILL after 15 s)."""

    examples = ("pdtrain server stop",)

    def take_action(self, parsed_args):
        stopped = self.app.local_server.stop()
        if stopped is None:
            self.notice("The local orchestrator is not running")
        else:
            self.notice(f"Stopped the local orchestrator (pid {stopped.pid})")
        return 0


class ShowServer(command.ShowOne):
    """Show whether the local orchestrator runs, and where."""

    examples = (
        "pdtrain server status",
        "pdtrain server status -f json",
    )

    def take_action(self, parsed_args):
        return show_status(self.app.local_server.status())
