"""``pdtrain run summary``: how many runs are in each status."""

import collections

from pdtrain_core import command, formatting

STATUS_ORDER = (
    "created",
    "submitting",
    "pending",
    "running",
    "stopping",
    "completed",
    "failed",
    "stopped",
)


class SummarizeRuns(command.Lister):
    """Count runs by status, with the newest run of each status.

    Reads the runs through pdtrain's API client, so it uses the same
    profile, URL and key as every other command.
    """

    examples = (
        "pdtrain run summary",
        "pdtrain run summary -f markdown",
    )

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "--limit",
            metavar="<count>",
            type=int,
            default=1000,
            help="count only the newest <count> runs (default 1000)",
        )
        return parser

    def take_action(self, parsed_args):
        runs = self.client.list_runs(limit=parsed_args.limit)
        counts = collections.Counter(run.get("status") for run in runs)
        newest = {}
        for run in runs:
            status = run.get("status")
            created = run.get("created_at") or ""
            if created > newest.get(status, ""):
                newest[status] = created
        known = [status for status in STATUS_ORDER if status in counts]
        others = sorted(set(counts) - set(STATUS_ORDER), key=str)
        rows = [
            (status, counts[status], formatting.TimeColumn(newest.get(status)))
            for status in known + others
        ]
        return ("status", "runs", "newest"), rows
