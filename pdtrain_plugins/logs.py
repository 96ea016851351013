"""The logs command: print or follow a run's log lines."""

import math

from pdtrain_core import command, formatting, refs, runs
from pdtrain_core.exceptions import UsageError
from pdtrain_core.log_follower import (
    LogFollower,
    LogQuery,
    compile_grep,
    parse_since,
)
from pdtrain_plugins.run_wait import interrupted_note, make_retrier

DEFAULT_TAIL = 300
# The most events the server returns in one response.
MAX_TAIL = 10_000
FOLLOW_INTERVAL = 0.5  # seconds between polls with --follow


def _tail(text: str) -> int | None:
    """Parse --tail: a count, or "all" (None)."""
    if text == "all":
        return None
    try:
        count = int(text)
    except ValueError:
        count = -1
    if not 0 <= count <= MAX_TAIL:
        raise UsageError(
            f"Invalid --tail {text!r}: expected 0 to {MAX_TAIL} or 'all'"
        )
    return count


def _stamp(event) -> str:
    moment = formatting.parse_time(event.get("timestamp"))
    if moment is None:
        return "-"
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class ShowLogs(command.Command):
    """Print the last lines of a run's log, or follow it.

    Without --follow the last 300 lines are printed; with it, every
    line from the first (or the last --tail lines), then new lines as
    they arrive until the run ends. The exit status of --follow is then
    0 when the run completed, 3 when it failed, 4 when it was stopped
    and 5 when --timeout passed first. The follower resumes after a lost
    connection or a server restart without losing or repeating a line.

    The run is given by its id, a unique id prefix or its name (the
    newest run of that name). --grep keeps the lines that match a Python
    regular expression. The server filters when it can, else pdtrain
    does.
    """

    examples = (
        "pdtrain logs RUN_ID --tail 50 --timestamps",
        "pdtrain logs RUN_ID --follow --since 10m --stream stderr",
        "pdtrain logs my-run --grep 'loss|acc' --ignore-case --follow",
    )

    finished_run = None
    printed_logs = True

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "run_id",
            metavar="<run-id>",
            help="run id, unique id prefix or run name",
        )
        parser.add_argument(
            "--tail",
            "--lines",
            dest="tail",
            metavar="<count|all>",
            help="print the last this many lines first, or 'all' (default: "
            "300; all with --follow)",
        )
        parser.add_argument(
            "--since",
            metavar="<age|time>",
            help="only lines from the last 30s, 10m, 2h or 1d, or since an "
            "ISO-8601 time",
        )
        parser.add_argument(
            "--stream",
            choices=("stdout", "stderr"),
            help="only lines the script wrote to this stream",
        )
        parser.add_argument(
            "--grep",
            metavar="<pattern>",
            help="only lines that match this Python regular expression "
            "(re.search), such as 'loss|acc'",
        )
        parser.add_argument(
            "-i",
            "--ignore-case",
            action="store_true",
            help="with --grep: match letters of either case",
        )
        parser.add_argument(
            "--timestamps",
            action="store_true",
            help="start each line with its UTC time",
        )
        parser.add_argument(
            "--follow",
            action="store_true",
            help="keep printing new lines until the run ends",
        )
        parser.add_argument(
            "--timeout",
            metavar="<seconds>",
            type=float,
            help="with --follow: give up after this many seconds (exit 5)",
        )
        parser.add_argument(
            "--interval",
            metavar="<seconds>",
            type=float,
            default=FOLLOW_INTERVAL,
            help="seconds between polls with --follow (default 0.5)",
        )
        return parser

    def _query(self, parsed_args) -> LogQuery:
        if parsed_args.tail is not None:
            tail = _tail(parsed_args.tail)
        elif parsed_args.follow or parsed_args.since:
            tail = None
        else:
            tail = DEFAULT_TAIL
        since = parse_since(parsed_args.since) if parsed_args.since else None
        pattern = None
        if parsed_args.grep is not None:
            pattern = compile_grep(parsed_args.grep, parsed_args.ignore_case)
        return LogQuery(
            tail=tail,
            start_time=since,
            stream=parsed_args.stream,
            pattern=pattern,
        )

    def _check(self, parsed_args) -> None:
        if not 0 < parsed_args.interval < math.inf:
            raise UsageError(
                f"Invalid --interval {parsed_args.interval:g}: expected a "
                "positive number of seconds"
            )
        if parsed_args.timeout is not None and not parsed_args.follow:
            raise UsageError("--timeout applies only with --follow")
        if parsed_args.ignore_case and parsed_args.grep is None:
            raise UsageError("--ignore-case applies only with --grep")
        if parsed_args.timeout is not None and not parsed_args.timeout >= 0:
            raise UsageError(
                f"Invalid --timeout {parsed_args.timeout:g}: expected zero "
                "or a positive number of seconds"
            )

    def take_action(self, parsed_args):
        self._check(parsed_args)
        query = self._query(parsed_args)
        emit = self._emitter(parsed_args.timestamps)
        run_id = refs.resolve_run_id(self.client, parsed_args.run_id)
        if not parsed_args.follow:
            follower = LogFollower(
                self.client,
                run_id,
                emit,
                query,
                use_cursor=self.client.has("log_cursor"),
                server_filters=self.client.has("log_filters"),
            )
            follower.first()
            return 0
        try:
            self.finished_run = runs.follow_logs(
                self.client,
                run_id,
                emit,
                query,
                interval=parsed_args.interval,
                timeout=parsed_args.timeout,
                retrier=make_retrier(self),
            )
        except KeyboardInterrupt:
            self.notice(interrupted_note(run_id))
            raise
        return 0

    def _emitter(self, timestamps: bool):
        stdout = self.app.stdout

        def emit(events):
            for event in events:
                text = str(event.get("message", ""))
                if timestamps:
                    text = f"{_stamp(event)} {text}"
                stdout.write(text if text.endswith("\n") else text + "\n")
            stdout.flush()

        return emit
