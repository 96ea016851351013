"""Columns, options and waiting shared by the run commands."""

import logging
import math
import urllib.parse

from cliff import columns as cliff_columns

from pdtrain_core import formatting, hyperparameters
from pdtrain_core.exceptions import NotFound, UsageError

LOG = logging.getLogger(__name__)

DEFAULT_INTERVAL = 5.0  # seconds between status polls
LOGS_INTERVAL = 0.5  # seconds between polls that also read log lines
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
    "instance_count",
    "spot_instances",
    "hyperparameters",
    "sagemaker_hyperparameters",
    "env",
    "inputs",
    "max_runtime_seconds",
    "runtime_seconds",
    "metrics",
    "total_cost_usd",
    "model_url",
    "region",
    "job_arn",
    "created_at",
    "submitted_at",
    "started_at",
    "ended_at",
    "updated_at",
    "transitions",
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
    "sagemaker_hyperparameters": formatting.DictColumn,
    "env": formatting.DictColumn,
    "metrics": formatting.DictColumn,
}


class InputsColumn(formatting.ListColumn):
    """Run inputs: "channel=name:version" lines in tables.

    The dataset id is shown in place of the name when the dataset is gone or
    the name was not looked up.
    """

    def human_readable(self):
        lines = []
        for item in self._value or ():
            channel = item.get("channel") or "dataset"
            dataset = item.get("dataset_name") or item.get("dataset_id")
            lines.append(f"{channel}={dataset}:{item.get('version')}")
        return "\n".join(lines)


class CostColumn(cliff_columns.FormattableColumn):
    """A cost in US dollars: "$1.23" in tables, the number elsewhere."""

    def human_readable(self):
        if self._value is None:
            return ""
        return f"${self._value:,.2f}"


class SignedUrlColumn(cliff_columns.FormattableColumn):
    """A signed URL: shortened in tables, whole in machine formats.

    The signature makes the URL a few hundred characters long, which
    would stretch the table; `-f value -c model_url` prints it whole.
    """

    def human_readable(self):
        if not self._value:
            return ""
        parts = urllib.parse.urlsplit(self._value)
        name = parts.path.rsplit("/", 1)[-1]
        return f"{parts.scheme}://{parts.netloc}/.../{name}"


class BundleColumn(formatting.ListColumn):
    """The run's bundle: its id in tables, the object elsewhere."""

    def human_readable(self):
        value = self._value
        if not isinstance(value, dict):
            return ""
        if value.get("deleted_at"):
            return f"{value.get('id')} (deleted)"
        return str(value.get("id"))


class TransitionsColumn(formatting.ListColumn):
    """Status changes: "status (secondary) at time" lines in tables."""

    def human_readable(self):
        lines = []
        for item in self._value or ():
            text = str(item.get("status"))
            if item.get("secondary_status"):
                text += f" ({item['secondary_status']})"
            moment = formatting.parse_time(item.get("start_time"))
            if moment is not None:
                text += " " + moment.isoformat(timespec="seconds")
            lines.append(text)
        return "\n".join(lines)


def with_dataset_names(client, run: dict) -> dict:
    """Return a copy of run whose inputs also carry dataset_name.

    The run object names datasets by id only; one request per distinct
    dataset finds the names. A deleted dataset keeps just its id.
    """
    names = {}
    for item in run.get("inputs") or ():
        dataset_id = item.get("dataset_id")
        if dataset_id and dataset_id not in names:
            try:
                names[dataset_id] = client.get_dataset(dataset_id).get("name")
            except NotFound:
                LOG.info("Dataset %s of run %s is gone", dataset_id, run["id"])
                names[dataset_id] = None
    inputs = [
        dict(item, dataset_name=names.get(item.get("dataset_id")))
        for item in run.get("inputs") or ()
    ]
    return dict(run, inputs=inputs)


def show_run(run):
    """Return (columns, values) with the fields this server sends.

    sagemaker_hyperparameters shows the strings that SageMaker would
    receive for the run's hyperparameters.
    """
    run = dict(run)
    if isinstance(run.get("hyperparameters"), dict):
        run["sagemaker_hyperparameters"] = hyperparameters.all_to_sagemaker(
            run["hyperparameters"]
        )
    names = [name for name in SHOW_COLUMNS if name in run]
    formatters = dict(
        FORMATTERS,
        inputs=InputsColumn,
        bundle=BundleColumn,
        transitions=TransitionsColumn,
        total_cost_usd=CostColumn,
        model_url=SignedUrlColumn,
    )
    return tuple(names), formatting.row(run, names, formatters)


def add_run_id(parser):
    parser.add_argument(
        "run_id", metavar="<run-id>", help="run id, id prefix or run name"
    )


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
        help="most seconds between status checks (default 5; 0.5 with "
        "--logs); the first checks come sooner",
    )
    parser.add_argument(
        "--logs",
        action="store_true",
        help="while waiting, print the run's log lines on stderr, or as "
        "objects with -f ndjson",
    )


def check_wait_options(parsed_args):
    """Reject bad --timeout and --interval values before any request."""
    if parsed_args.timeout is not None and not parsed_args.wait:
        raise UsageError("--timeout applies only with --wait")
    check_wait_numbers(parsed_args)


def check_wait_numbers(parsed_args):
    """Reject a negative --timeout or an --interval that is not positive."""
    interval = parsed_args.interval
    if interval is not None and not 0 < interval < math.inf:
        raise UsageError(
            f"Invalid --interval {interval:g}: expected a positive "
            "number of seconds"
        )
    timeout = parsed_args.timeout
    if timeout is not None and not timeout >= 0:
        raise UsageError(
            f"Invalid --timeout {timeout:g}: expected zero or a positive "
            "number of seconds"
        )
