"""Commands that control the local orchestrator under PDTRAIN_HOME."""

import logging
import os

from pdtrain_core import command, formatting
from pdtrain_core.exceptions import PdtrainError, UsageError

LOG = logging.getLogger(__name__)

ACTIVE_STATUSES = ("submitting", "pending", "running", "stopping")
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


def count_active_runs(server) -> int:
    """Count the local owner's runs that stopping the server would end.

    Returns 0 when the server is not running or does not respond.
    """
    # NOTE: the count covers only the local owner's runs, because the
    # API lists runs per owner; keys made with `pdtrain-orchestrator keys
    # create` can own more.
    from pdtrain_core.client import Client

    status = server.status()
    if not status.running:
        return 0
    try:
        client = Client(status.url, server.api_key())
        return sum(
            len(client.list_runs(status=name)) for name in ACTIVE_STATUSES
        )
    except PdtrainError as error:
        LOG.debug("Could not count the active runs: %s", error)
        return 0


class StopServer(command.Command):
    """Stop the local orchestrator (SIGTERM, then SIGKILL after 15 s).

    Runs still pending or running on it are stopped with it, so it
    refuses to stop while any are active unless --yes is given.
    """

    examples = ("pdtrain server stop", "pdtrain server stop --yes")

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "--yes",
            action="store_true",
            help="stop even while runs are active, stopping them too",
        )
        return parser

    def take_action(self, parsed_args):
        if not parsed_args.yes:
            active = count_active_runs(self.app.local_server)
            if active:
                runs = "1 run is" if active == 1 else f"{active} runs are"
                raise UsageError(
                    f"{runs} active on the local orchestrator and will be "
                    "stopped with it; pass --yes to stop the server anyway"
                )
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
