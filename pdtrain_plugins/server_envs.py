"""Commands for the orchestrator's cached framework environments."""

from pdtrain_core import command, formatting

COLUMNS = (
    "id",
    "status",
    "framework",
    "framework_version",
    "python",
    "size_bytes",
    "last_used_at",
    "reason",
)
FORMATTERS = {
    "size_bytes": formatting.SizeColumn,
    "last_used_at": formatting.TimeColumn,
}


class ListServerEnv(command.Lister):
    """List the server's cached training environments.

    A framework run installs its framework once into such an
    environment and reuses it. Rows with status "failed" record a
    version whose install failed; run create rejects that version until
    the record is deleted.
    """

    examples = (
        "pdtrain server envs list",
        "pdtrain server envs list -f json",
    )

    def take_action(self, parsed_args):
        found = self.client.list_envs()
        return COLUMNS, [
            formatting.row(item, COLUMNS, FORMATTERS) for item in found
        ]


class DeleteServerEnv(command.Command):
    """Remove cached environments or failed-install records by id."""

    examples = ("pdtrain server envs delete 3f2a9c0d1e4b5a6978c0d1e2",)

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "env_ids",
            metavar="<env-id>",
            nargs="+",
            help="environment id from `pdtrain server envs list`",
        )
        return parser

    def take_action(self, parsed_args):
        for env_id in parsed_args.env_ids:
            self.client.delete_env(env_id)
            self.notice(f"Deleted environment {env_id}")
        return 0
