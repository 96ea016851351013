"""Commands that submit, list, show, watch and stop training runs."""

import logging

from pdtrain_core import command, formatting, refs, runs
from pdtrain_plugins.run_common import (
    FORMATTERS,
    LIST_COLUMNS,
    add_run_id,
    add_wait_options,
    check_wait_numbers,
    check_wait_options,
    show_run,
    with_dataset_names,
)
from pdtrain_plugins.run_wait import Waiting

LOG = logging.getLogger(__name__)


class SubmitRun(Waiting, command.ShowOne):
    """Submit a created run for execution."""

    examples = (
        "pdtrain run submit RUN_ID",
        "pdtrain run submit RUN_ID --wait --timeout 3600",
    )

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        add_run_id(parser)
        add_wait_options(parser)
        return parser

    def take_action(self, parsed_args):
        check_wait_options(parsed_args)
        parsed_args.run_id = refs.resolve_run_id(
            self.client, parsed_args.run_id
        )
        run = self.client.run_action(parsed_args.run_id, "submit")
        if runs.is_terminal(run):
            # The server returns a run submitted before as it is.
            self.notice(
                f"Run {run['id']} was submitted before and has ended "
                f"({run['status']}); nothing was submitted"
            )
        if parsed_args.wait:
            run = self.wait(run, parsed_args)
        return self.result(run, parsed_args, parsed_args.wait)


class ListRun(command.Lister):
    """List runs, newest first."""

    examples = (
        "pdtrain run list --status running",
        "pdtrain run list -f json --limit 50",
    )

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
    """Show one run.

    Inputs show dataset names ("channel=name:version") in tables; in
    machine formats each input also carries dataset_name. The signed
    model_url is shortened in tables and whole in machine formats.
    total_cost_usd is the server's estimate, empty when it has none
    (local runs).
    """

    examples = (
        "pdtrain run show RUN_ID",
        "pdtrain run show RUN_ID -f value -c status",
    )

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        add_run_id(parser)
        return parser

    def take_action(self, parsed_args):
        parsed_args.run_id = refs.resolve_run_id(
            self.client, parsed_args.run_id
        )
        run = self.client.get_run(parsed_args.run_id)
        return show_run(with_dataset_names(self.client, run))


class WatchRun(Waiting, command.ShowOne):
    """Wait for a run to end, printing status changes on stderr.

    Shows the final run. The exit status is 0 when the run completed,
    3 when it failed, 4 when it was stopped and 5 when --timeout passed
    first.
    """

    examples = (
        "pdtrain run watch RUN_ID",
        "pdtrain run watch RUN_ID --timeout 600 --interval 10",
    )

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        add_run_id(parser)
        add_wait_options(parser, with_switch=False)
        return parser

    def take_action(self, parsed_args):
        check_wait_numbers(parsed_args)
        parsed_args.run_id = refs.resolve_run_id(
            self.client, parsed_args.run_id
        )
        run = {"id": parsed_args.run_id}
        return self.result(self.wait(run, parsed_args), parsed_args, True)


class StopRun(command.ShowOne):
    """Stop a pending or running run.

    Asks for confirmation on a terminal; elsewhere pass --yes.
    """

    examples = (
        "pdtrain run stop RUN_ID",
        "pdtrain run stop RUN_ID --yes",
    )

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        add_run_id(parser)
        parser.add_argument(
            "--yes", action="store_true", help="stop without asking"
        )
        return parser

    def take_action(self, parsed_args):
        run_id = refs.resolve_run_id(self.client, parsed_args.run_id)
        if not parsed_args.yes:
            self.check_can_confirm(f"Stopping run {run_id}")
            if not self.confirm(f"Stop run {run_id}?"):
                return show_run(self.client.get_run(run_id))
        run = self.client.get_run(run_id)
        if runs.is_terminal(run):
            self.notice(
                f"Run {run_id} had already ended ({run['status']}); "
                "nothing to stop"
            )
            return show_run(run)
        run = self.client.run_action(run_id, "stop")
        if run.get("status") in ("completed", "failed"):
            self.notice(
                f"Run {run_id} ended ({run['status']}) before the stop "
                "request reached it"
            )
        return show_run(run)


class RefreshRun(command.ShowOne):
    """Ask the server to re-read a run's status from its executor."""

    examples = ("pdtrain run refresh RUN_ID",)

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        add_run_id(parser)
        return parser

    def take_action(self, parsed_args):
        parsed_args.run_id = refs.resolve_run_id(
            self.client, parsed_args.run_id
        )
        return show_run(self.client.run_action(parsed_args.run_id, "refresh"))
