"""A ``-f markdown`` output format for every list and show command."""

from cliff import columns
from cliff.formatters import base


def _cell(value) -> str:
    """Render one value as table-safe markdown text."""
    if isinstance(value, columns.FormattableColumn):
        value = value.human_readable()
    text = "" if value is None else str(value)
    return text.replace("|", "\\|").replace("\n", "<br>")


def _write_table(stdout, header, rows):
    stdout.write("| " + " | ".join(_cell(name) for name in header) + " |\n")
    stdout.write("|" + "|".join("---" for _ in header) + "|\n")
    for row in rows:
        stdout.write("| " + " | ".join(_cell(value) for value in row) + " |\n")


class MarkdownListFormatter(base.ListFormatter):
    """A GitHub-flavoured markdown table, one row per item."""

    def add_argument_group(self, parser):
        """Add no options: the table needs none."""

    def emit_list(self, column_names, data, stdout, parsed_args):
        """Write the header, the separator and one line per row."""
        _write_table(stdout, column_names, data)


class MarkdownShowFormatter(base.SingleFormatter):
    """A two-column markdown table of one object's fields."""

    def add_argument_group(self, parser):
        """Add no options: the table needs none."""

    def emit_one(self, column_names, data, stdout, parsed_args):
        """Write one "| field | value |" line per field."""
        _write_table(
            stdout, ("field", "value"), zip(column_names, data, strict=True)
        )
