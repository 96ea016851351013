"""The `run create` command: a run from a bundle, datasets and options."""

import argparse
import logging
import uuid

from pdtrain_core import command, limits, parsing, refs, run_spec
from pdtrain_core.exceptions import UsageError
from pdtrain_plugins.run_common import (
    add_wait_options,
    check_wait_options,
)
from pdtrain_plugins.run_wait import Waiting

LOG = logging.getLogger(__name__)


def _add_input_options(parser):
    """Add the options that pick the code, its entry point and the data."""
    parser.add_argument(
        "--bundle",
        metavar="<bundle>",
        help="bundle id, name, name:N or name:vN (required unless the "
        "spec file names one)",
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
    parser.add_argument(
        "--instance-count",
        metavar="<count>",
        type=int,
        help="instances for distributed training (SageMaker servers only; "
        "default: 1)",
    )
    parser.add_argument(
        "--spot",
        action="store_true",
        default=None,
        help="use managed spot capacity (SageMaker servers)",
    )
    parser.add_argument(
        "--max-wait",
        metavar="<seconds>",
        type=int,
        help="with --spot: seconds to wait for capacity plus training time",
    )


# Request fields named as the options that set them, for error messages.
_OPTION_OF_FIELD = {"hyperparameters": "--hyperparameter", "env": "--env"}


def _check_limits(name, hyperparameters, env, inputs) -> None:
    """Apply the server's (SageMaker's) input limits before any request."""
    try:
        if name is not None:
            limits.check_name("--name", name)
        limits.check_hyperparameters(hyperparameters)
        limits.check_env(env)
        for channel, _ in inputs:
            if channel:
                limits.check_channel("--dataset", channel)
    except limits.LimitError as error:
        field, _, key = error.field.partition(".")
        option = _OPTION_OF_FIELD.get(field, field)
        where = f"{option} {key}" if key else option
        raise UsageError(f"{where}: {error.reason}") from None


class CreateRun(Waiting, command.ShowOne):
    """Create a training run from a bundle and datasets.

    Each --dataset is a channel: "REF" or "CHANNEL=REF", where REF is an
    id, name, name:N or name:vN. The first unnamed channel is called
    "dataset" by the server. Hyperparameter values are parsed as JSON
    when valid (0.1, true, [1,2]) and kept as strings otherwise.
    """

    examples = (
        "pdtrain run create --bundle digits --dataset iris --submit --wait",
        (
            "pdtrain run create --bundle digits --framework sklearn "
            "--framework-version 1.2-1 --hyperparameter "
            "n_estimators=200"
        ),
    )

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
        parser.add_argument(
            "--spec",
            metavar="<file>",
            help="YAML file with run fields, such as the output of `run "
            "show -f yaml`; options override it. `-f FILE` works too "
            "when FILE is not an output format",
        )
        parser.add_argument(
            "--idempotency-key",
            metavar="<key>",
            help="key that makes a repeated create return the first run "
            "(default: a new key per invocation)",
        )
        add_wait_options(parser)
        _allow_spec_after_format_option(parser)
        return parser

    def take_action(self, parsed_args):
        spec = run_spec.load(parsed_args.spec) if parsed_args.spec else {}
        run_spec.apply_options(spec, parsed_args)
        check_wait_options(parsed_args)
        body = self._body(parsed_args, spec)
        key = parsed_args.idempotency_key or uuid.uuid4().hex
        run = self.client.create_run(body, idempotency_key=key)
        LOG.info("Created run %s", run.get("id"))
        if parsed_args.submit or parsed_args.wait:
            if run.get("status") == "created":
                run = self.client.run_action(run["id"], "submit")
        if parsed_args.wait:
            run = self.wait(run, parsed_args)
        return self.result(run, parsed_args, parsed_args.wait)

    def _body(self, parsed_args, spec):
        """Build the run-create body, resolving names to ids.

        Local values are checked before any request, so a typo fails
        fast even when the server is down.
        """
        _check_runtime(parsed_args)
        hyperparameters = run_spec.merged(
            spec,
            "hyperparameters",
            parsing.parse_hyperparameters(parsed_args.hyperparameter),
        )
        env = run_spec.merged(spec, "env", parsing.parse_env(parsed_args.env))
        resolved, references = [], parsed_args.dataset
        if not references:
            resolved, references = run_spec.inputs_of(spec)
        inputs = [parsing.parse_dataset_input(t) for t in references]
        _check_limits(parsed_args.name, hyperparameters, env, inputs)

        bundle = self._bundle(parsed_args.bundle, spec)
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
            "instance_count": parsed_args.instance_count,
            "spot_instances": parsed_args.spot,
            "max_wait_seconds": parsed_args.max_wait,
            "name": parsed_args.name,
            "hyperparameters": hyperparameters,
            "env": env,
            "inputs": resolved + [self._input(*pair) for pair in inputs],
        }
        return {key: value for key, value in body.items() if value is not None}

    def _bundle(self, reference, spec):
        if reference is None:
            reference = run_spec.bundle_reference(spec)
        if reference is None:
            raise UsageError(
                "Missing bundle: pass --bundle NAME or give `bundle` in "
                "the spec file"
            )
        if isinstance(reference, dict):
            return self.client.get_bundle(reference["id"])
        return refs.resolve_bundle(self.client, reference)

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
    count = parsed_args.instance_count
    if count is not None and count < 1:
        raise UsageError(
            f"Invalid --instance-count {count}: expected 1 or more"
        )
    if parsed_args.max_wait is not None and not parsed_args.spot:
        raise UsageError("--max-wait needs --spot")
    if parsed_args.max_wait is not None and parsed_args.max_wait <= 0:
        raise UsageError(
            f"Invalid --max-wait {parsed_args.max_wait}: expected a "
            "positive number of seconds"
        )


class _FormatOrSpec(argparse.Action):
    """-f: an output format name, or else the path of a run spec file."""

    formats: frozenset = frozenset()

    def __call__(self, parser, namespace, values, option_string=None):
        if values in self.formats:
            namespace.formatter = values
        elif getattr(namespace, "spec", None):
            parser.error(
                f"-f {values!r} is not an output format and a spec file "
                f"is given already; formats: {', '.join(sorted(self.formats))}"
            )
        else:
            namespace.spec = values


def _allow_spec_after_format_option(parser) -> None:
    """Let -f take a spec file too, as in `run create -f run.yaml`.

    cliff's -f/--format picks the output format; a value that names no
    format is read as the spec file, so `-f run.yaml -f json` works.
    """
    for action in parser._actions:
        if action.dest == "formatter" and action.choices:
            formats = frozenset(action.choices)
            action.choices = None
            action.metavar = "{" + ",".join(sorted(formats)) + "} | <file>"
            action.__class__ = _FormatOrSpec
            action.formats = formats
