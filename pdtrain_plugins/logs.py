"""The logs command: print or follow a run's log lines."""

from pdtrain_core import command, runs
from pdtrain_core.exceptions import UsageError


class ShowLogs(command.Command):
    """Print the last lines of a run's log, or follow it.

    With --follow, new lines are printed as they arrive until the run
    ends. The exit status is then 0 when the run completed, 3 when it
    failed and 4 when it was stopped.
    """

    finished_run = None

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("run_id", metavar="<run-id>", help="run id")
        parser.add_argument(
            "--lines",
            metavar="<count>",
            type=int,
            default=300,
            help="number of last lines to print (default 300)",
        )
        parser.add_argument(
            "--follow",
            action="store_true",
            help="keep printing new lines until the run ends",
        )
        parser.add_argument(
            "--interval",
            metavar="<seconds>",
            type=float,
            default=5.0,
            help="seconds between polls with --follow (default 5)",
        )
        return parser

    def take_action(self, parsed_args):
        if parsed_args.lines < 0:
            raise UsageError(
                f"Invalid --lines {parsed_args.lines}: expected 0 or more"
            )
        if parsed_args.interval <= 0:
            raise UsageError("--interval must be a positive number")
        if not parsed_args.follow:
            if parsed_args.lines == 0:
                return 0
            body = self.client.get_logs(
                parsed_args.run_id, limit=parsed_args.lines
            )
            for event in body.get("events", []):
                self._write(str(event.get("message", "")))
            return 0
        self.finished_run = runs.follow_logs(
            self.client,
            parsed_args.run_id,
            self._write,
            lines=parsed_args.lines,
            interval=parsed_args.interval,
        )
        return 0

    def _write(self, text):
        stdout = self.app.stdout
        stdout.write(text if text.endswith("\n") else text + "\n")
        stdout.flush()
