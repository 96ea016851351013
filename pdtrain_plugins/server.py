"""Commands that control the local orchestrator under PDTRAIN_HOME."""

from pdtrain_core import command, formatting

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

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "--port",
            metavar="<port>",
            type=int,
            default=0,
            help="TCP port (default: a free one)",
        )
        return parser

    def take_action(self, parsed_args):
        server = self.app.local_server
        status, started = server.ensure(port=parsed_args.port)
        if started:
            self.notice(
                f"Started the local orchestrator at {status.url} "
                f"(logs: {status.log_path})"
            )
        else:
            self.notice(f"The local orchestrator already runs at {status.url}")
            if parsed_args.port and parsed_args.port != status.port:
                self.notice(
                    f"It keeps port {status.port}; run `pdtrain "
                    "server stop` first to change it"
                )
        return show_status(status)


class StopServer(command.Command):
    """Stop the local orchestrator (SIGTERM, then SIGKILL after 15 s)."""

    def take_action(self, parsed_args):
        stopped = self.app.local_server.stop()
        if stopped is None:
            self.notice("The local orchestrator is not running")
        else:
            self.notice(f"Stopped the local orchestrator (pid {stopped.pid})")
        return 0


class ShowServer(command.ShowOne):
    """Show whether the local orchestrator runs, and where."""

    def take_action(self, parsed_args):
        return show_status(self.app.local_server.status())
