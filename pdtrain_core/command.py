"""Typed command bases that every pdtrain command derives from.

They give commands ``self.client`` (the lazily built API client of the
running app) and keep cliff's ``Lister`` and ``ShowOne`` behaviour, so
``-f``, ``-c`` and ``--sort-column`` work on every list and show command.
A command lists one or two ``examples``; help prints them after the
options.
"""

import argparse
import typing

from cliff import _argparse, columns, command, lister, show

from pdtrain_core import config, formatting
from pdtrain_core.exceptions import UsageError

if typing.TYPE_CHECKING:
    from pdtrain_core.app import PdtrainApp
    from pdtrain_core.client import Client


class HelpFormatter(_argparse.SmartHelpFormatter):
    """cliff's help layout, keeping the line breaks of the epilog."""

    def _fill_text(self, text, width, indent):
        return "\n".join(indent + line for line in text.splitlines())


def _raise_usage_error(parser, message):
    """Replace argparse's usage block and exit with one error line."""
    raise UsageError(f"{parser.prog}: {message} (see `{parser.prog} --help`)")


class _ClientMixin:
    """Access to the app's API client and standard streams."""

    app: "PdtrainApp"
    # Command lines shown under "Examples:" in --help, one per item.
    examples: tuple[str, ...] = ()

    def get_epilog(self):
        """Return the examples for --help."""
        if not self.examples:
            return ""
        lines = ["examples:"] + [f"  {line}" for line in self.examples]
        return "\n".join(lines)

    def get_parser(self, prog_name):
        """Return the parser, reporting bad usage as one error line."""
        parser = super().get_parser(prog_name)
        parser.formatter_class = HelpFormatter
        parser.error = lambda message: _raise_usage_error(parser, message)
        parser.format_help = lambda: self._format_help(parser)
        return parser

    def _format_help(self, parser):
        """Add cliff's epilog, which names a plugin's package, then format.

        cliff finds that package by reading the metadata of every
        installed distribution, which takes longer than the rest of a
        command's start-up, so only help pays for it.
        """
        origin = super().get_epilog()
        if origin:
            examples = self.get_epilog()
            parser.epilog = f"{examples}\n\n{origin}" if examples else origin
        return type(parser).format_help(parser)

    @property
    def client(self) -> "Client":
        """Return the API client, starting the local server if needed.

        A URL saved in a profile is checked here rather than when
        settings are resolved, so ``pdtrain info`` can still show it.
        """
        settings = self.app.settings
        if not settings.embedded:
            config.check_api_url(settings.api_url.value)
        return self.app.client

    def notice(self, message: str) -> None:
        """Write one line that every user must see to stderr."""
        self.app.stderr.write(message + "\n")
        self.app.stderr.flush()

    def check_can_confirm(self, action: str) -> None:
        """Raise UsageError when stdin is not a terminal to confirm on."""
        if not self.app.stdin.isatty():
            raise UsageError(
                f"{action} needs confirmation and stdin is not a "
                "terminal: pass --yes"
            )

    def confirm(self, question: str) -> bool:
        """Ask question on stderr; return True when the answer is yes."""
        self.app.stderr.write(f"{question} [y/N] ")
        self.app.stderr.flush()
        return self.app.stdin.readline().strip().lower() in ("y", "yes")


class Command(_ClientMixin, command.Command):
    """A command that returns an exit status instead of a table."""


class Lister(_ClientMixin, lister.Lister):
    """A command that returns ``(columns, rows)``.

    Empty lists still print the table header, and ``--sort-column``
    sorts missing values last instead of giving up on the sort.
    """

    def get_parser(self, prog_name):
        """Return the parser with --print-empty on by default."""
        parser = super().get_parser(prog_name)
        parser.set_defaults(print_empty=True)
        for action in parser._actions:
            if action.dest == "sort_columns":
                action.help = (
                    "sort rows by this column, rows without a value "
                    "last; repeat for more keys, the first given first"
                )
        return parser

    def produce_output(self, parsed_args, column_names, data):
        """Sort rows by --sort-column, prepare values, then print them."""
        check_columns(parsed_args, column_names)
        if parsed_args.sort_columns:
            data = sort_rows(
                column_names,
                list(data),
                parsed_args.sort_columns,
                descending=parsed_args.sort_direction == "desc",
            )
            parsed_args = argparse.Namespace(**vars(parsed_args))
            parsed_args.sort_columns = []
        data = (
            formatting.for_format(parsed_args.formatter, row) for row in data
        )
        return super().produce_output(parsed_args, column_names, data)


def check_columns(parsed_args, column_names) -> None:
    """Raise UsageError for a -c/--column name the command lacks.

    cliff raises a bare ValueError when no name matches and silently
    drops unknown names otherwise.
    """
    for name in getattr(parsed_args, "columns", None) or ():
        if name not in column_names:
            raise UsageError(
                f"Invalid --column {name!r}: expected one of "
                + ", ".join(column_names)
            )


def _sort_key(value):
    """Order None last, numbers before text, wrapped columns by value."""
    if isinstance(value, columns.FormattableColumn):
        value = value.machine_readable()
    if value is None:
        return (2, 0, "")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, value, "")
    return (1, 0, str(value))


def sort_rows(column_names, rows, sort_columns, descending=False):
    """Sort rows by the named columns, the first name the primary key.

    Rows without a value sort last in either direction.
    """
    names = list(column_names)
    for name in reversed(sort_columns):
        if name not in names:
            raise UsageError(
                f"Invalid --sort-column {name!r}: expected one of "
                + ", ".join(names)
            )
        index = names.index(name)
        present = [row for row in rows if _sort_key(row[index])[0] < 2]
        missing = [row for row in rows if _sort_key(row[index])[0] == 2]
        present.sort(key=lambda row: _sort_key(row[index]), reverse=descending)
        rows = present + missing
    return rows


class ShowOne(_ClientMixin, show.ShowOne):
    """A command that returns ``(columns, values)`` for one object."""

    def produce_output(self, parsed_args, column_names, data):
        """Check the -c/--column names, then print the object."""
        check_columns(parsed_args, column_names)
        data = formatting.for_format(parsed_args.formatter, data)
        return super().produce_output(parsed_args, column_names, data)
