"""Commands that create, submit, watch and stop training runs."""

import logging

from pdtrain_core import command, formatting, parsing, refs, runs
from pdtrain_core.exceptions import UsageError

LOG = logging.getLogger(__name__)

DEFAULT_INTERVAL = 5.0  # seconds between status polls
LIST_COLUMNS = (
    "id",
    "name",
    "status",
    "framework",
    "instance_type",
    "runtime_seconds",
    "created_at",
)
SHOW_COLUMNS = (
    "id",
    "name",
    "status",
    "secondary_status",
    "status_message",
    "failure_reason",
    "exit_code",
    "execution_mode",
    "bundle",
    "entry",
    "framework",
    "framework_version",
    "python_version",
    "image",
    "instance_type",
    "hyperparameters",
    "env",
    "inputs",
    "max_runtime_seconds",
    "runtime_seconds",
    "total_cost_usd",
    "model_url",
    "region",
    "job_arn",
    "created_at",
    "submitted_at",
    "started_at",
    "ended_at",
    "updated_at",
)
FORMATTERS = {
    "created_at": formatting.TimeColumn,
    "submitted_at": formatting.TimeColumn,
    "started_at": formatting.TimeColumn,
    "ended_at": formatting.TimeColumn,
    "updated_at": formatting.TimeColumn,
    "runtime_seconds": formatting.DurationColumn,
    "max_runtime_seconds": formatting.DurationColumn,
    "hyperparameters": formatting.DictColumn,
    "env": formatting.DictColumn,
}


class InputsColumn(formatting.ListColumn):
    """Run inputs: "channel=dataset-id:version" lines in tables."""

    def human_readable(self):
        lines = []
        for item in self._value or ():
            channel = item.get("channel") or "dataset"
            lines.append(
                f"{channel}={item.get('dataset_id')}:{item.get('version')}"
            )
        return "\n".join(lines)


class BundleColumn(formatting.ListColumn):
    """The run's bundle: its id in tables, the object elsewhere."""

    def human_readable(self):
        value = self._value
        return str(value.get("id")) if isinstance(value, dict) else ""


def show_run(run):
    """Return (columns, values) with the fields this server sends."""
    names = [name for name in SHOW_COLUMNS if name in run]
    formatters = dict(FORMATTERS, inputs=InputsColumn, bundle=BundleColumn)
    return tuple(names), formatting.row(run, names, formatters)


def add_run_id(parser):
    parser.add_argument("run_id", metavar="<run-id>", help="run id")


def add_wait_options(parser, with_switch=True):
    """Add --wait (optionally), --timeout and --interval."""
    if with_switch:
        parser.add_argument(
            "--wait",
            action="store_true",
            help="wait until the run ends and exit with 0 (completed), "
            "3 (failed), 4 (stopped) or 5 (timed out)",
        )
    parser.add_argument(
        "--timeout",
        metavar="<seconds>",
        type=float,
        help="give up waiting after this many seconds",
    )
    parser.add_argument(
        "--interval",
        metavar="<seconds>",
        type=float,
        default=DEFAULT_INTERVAL,
        help="seconds between status checks (default 5)",
    )


class _Waiting:
    """Mixin that waits for a run and records it for the exit status."""

    finished_run = None

    def wait(self, run, parsed_args):
        """Follow run until it ends; print status changes on stderr."""
        if parsed_args.interval <= 0:
            raise UsageError("--interval must be a positive number")

        def note(current):
            self.notice(f"Run {current['id']}: {runs.describe(current)}")

        final = runs.wait_for_run(
            self.client,
            run["id"],
            interval=parsed_args.interval,
            timeout=parsed_args.timeout,
            on_change=note,
        )
        self.finished_run = final
        return final


def _check_timeout_needs_wait(parsed_args):
    if parsed_args.timeout is not None and not parsed_args.wait:
        raise UsageError("--timeout applies only with --wait")


def _add_input_options(parser):
    """Add the options that pick the code, its entry point and the data."""
    parser.add_argument(
        "--bundle",
        metavar="<bundle>",
        required=True,
        help="bundle id, name, name:N or name:vN",
    )
    parser.add_argument(
        "--dataset",
        metavar="<[channel=]dataset>",
        action="append",
        default=[],
        help="input dataset (repeatable)",
    )
    parser.add_argument(
        "--entry",
        metavar="<script>",
        help="entry point (default: the bundle's, else train.py)",
    )


def _add_runtime_options(parser):
    """Add the options for the environment, arguments and limits."""
    parser.add_argument(
        "--framework",
        metavar="<name>",
        help="framework, such as sklearn or pytorch",
    )
    parser.add_argument(
        "--framework-version",
        metavar="<version>",
        help="framework version, such as 1.2-1",
    )
    parser.add_argument(
        "--python-version",
        metavar="<version>",
        help="Python version, such as py3",
    )
    parser.add_argument(
        "--image",
        metavar="<image>",
        help="container image to run instead of a framework",
    )
    parser.add_argument(
        "--hyperparameter",
        metavar="<key=value>",
        action="append",
        default=[],
        help="hyperparameter (repeatable)",
    )
    parser.add_argument(
        "--env",
        metavar="<key=value>",
        action="append",
        default=[],
        help="environment variable (repeatable)",
    )
    parser.add_argument(
        "--instance-type",
        metavar="<type>",
        help="instance type, such as ml.m5.large",
    )
    parser.add_argument(
        "--max-runtime",
        metavar="<seconds>",
        type=int,
        help="stop the run after this many seconds",
    )


class CreateRun(_Waiting, command.ShowOne):
    """Create a training run from a bundle and datasets.

    Each --dataset is a channel: "REF" or "CHANNEL=REF", where REF is an
    id, name, name:N or name:vN. The first unnamed channel is called
    "dataset" by the server. Hyperparameter values are parsed as JSON
    when valid (0.1, true, [1,2]) and kept as strings otherwise.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        _add_input_options(parser)
        _add_runtime_options(parser)
        parser.add_argument("--name", metavar="<name>", help="run name")
        parser.add_argument(
            "--submit",
            action="store_true",
            help="submit the run right after creating it",
        )
        add_wait_options(parser)
        return parser

    def take_action(self, parsed_args):
        _check_timeout_needs_wait(parsed_args)
        body = self._body(parsed_args)
        run = self.client.create_run(body)
        LOG.info("Created run %s", run.get("id"))
        if parsed_args.submit or parsed_args.wait:
            if run.get("status") == "created":
                run = self.client.run_action(run["id"], "submit")
        if parsed_args.wait:
            run = self.wait(run, parsed_args)
        return show_run(run)

    def _body(self, parsed_args):
        """Build the run-create body, resolving names to ids.

        Local values are checked before any request, so a typo fails
        fast even when the server is down.
        """
        _check_runtime(parsed_args)
        hyperparameters = parsing.parse_hyperparameters(
            parsed_args.hyperparameter
        )
        env = parsing.parse_env(parsed_args.env)
        inputs = [parsing.parse_dataset_input(t) for t in parsed_args.dataset]

        bundle = refs.resolve_bundle(self.client, parsed_args.bundle)
        body = {
            "bundle_id": bundle["id"],
            "entry": parsed_args.entry
            or bundle.get("entry_point")
            or "train.py",
            "framework": parsed_args.framework,
            "framework_version": parsed_args.framework_version,
            "python_version": parsed_args.python_version,
            "image": parsed_args.image,
            "instance_type": parsed_args.instance_type,
            "max_runtime_seconds": parsed_args.max_runtime,
            "name": parsed_args.name,
            "hyperparameters": hyperparameters,
            "env": env,
            "inputs": [self._input(*pair) for pair in inputs],
        }
        return {key: value for key, value in body.items() if value is not None}

    def _input(self, channel, reference):
        dataset, version = refs.resolve_dataset(self.client, reference)
        item = {
            "type": "dataset",
            "dataset_id": dataset["id"],
            "version": version,
        }
        if channel:
            item["channel"] = channel
        return item


def _check_runtime(parsed_args):
    """Reject option combinations the server would run wrongly."""
    if parsed_args.image and parsed_args.framework:
        raise UsageError("Use either --image or --framework, not both")
    if parsed_args.framework_version and not parsed_args.framework:
        raise UsageError("--framework-version needs --framework")
    if parsed_args.max_runtime is not None and parsed_args.max_runtime <= 0:
        raise UsageError(
            f"Invalid --max-runtime {parsed_args.max_runtime}: expected "
            "a positive number of seconds"
        )


class SubmitRun(_Waiting, command.ShowOne):
    """Submit a created run for execution."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        add_run_id(parser)
        add_wait_options(parser)
        return parser

    def take_action(self, parsed_args):
        _check_timeout_needs_wait(parsed_args)
        run = self.client.run_action(parsed_args.run_id, "submit")
        if parsed_args.wait:
            run = self.wait(run, parsed_args)
        return show_run(run)


class ListRun(command.Lister):
    """List runs, newest first."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "--status",
            metavar="<status>",
            choices=runs.STATUSES,
            help="only runs in this status: " + ", ".join(runs.STATUSES),
        )
        parser.add_argument(
            "--name", metavar="<name>", help="only runs with this name"
        )
        parser.add_argument(
            "--limit",
            metavar="<count>",
            type=int,
            help="return at most this many",
        )
        return parser

    def take_action(self, parsed_args):
        found = self.client.list_runs(
            status=parsed_args.status,
            name=parsed_args.name,
            limit=parsed_args.limit,
        )
        rows = [formatting.row(run, LIST_COLUMNS, FORMATTERS) for run in found]
        return LIST_COLUMNS, rows


class ShowRun(command.ShowOne):
    """Show one run."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        add_run_id(parser)
        return parser

    def take_action(self, parsed_args):
        return show_run(self.client.get_run(parsed_args.run_id))


class WatchRun(_Waiting, command.ShowOne):
    """Wait for a run to end, printing status changes on stderr.

    Shows the final run. The exit status is 0 when the run completed,
    3 when it failed, 4 when it was stopped and 5 when --timeout passed
    first.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        add_run_id(parser)
        add_wait_options(parser, with_switch=False)
        return parser

    def take_action(self, parsed_args):
        run = {"id": parsed_args.run_id}
        return show_run(self.wait(run, parsed_args))


class StopRun(command.ShowOne):
    """Stop a pending or running run.

    Asks for confirmation on a terminal; elsewhere pass --yes.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        add_run_id(parser)
        parser.add_argument(
            "--yes", action="store_true", help="stop without asking"
        )
        return parser

    def take_action(self, parsed_args):
        run_id = parsed_args.run_id
        if not parsed_args.yes:
            if not self.app.stdin.isatty():
                raise UsageError(
                    f"Stopping run {run_id} needs confirmation and stdin "
                    "is not a terminal: pass --yes"
                )
            self.app.stderr.write(f"Stop run {run_id}? [y/N] ")
            self.app.stderr.flush()
            if self.app.stdin.readline().strip().lower() not in ("y", "yes"):
                return show_run(self.client.get_run(run_id))
        return show_run(self.client.run_action(run_id, "stop"))


class RefreshRun(command.ShowOne):
    """Ask the server to re-read a run's status from its executor."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        add_run_id(parser)
        return parser

    def take_action(self, parsed_args):
        return show_run(self.client.run_action(parsed_args.run_id, "refresh"))
