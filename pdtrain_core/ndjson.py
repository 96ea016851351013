"""The ``ndjson`` output format: one JSON object per line.

A list becomes one object per row; a single object one line. The
waiting run commands also write their progress events in this format
before the final object (see pdtrain_plugins/run_wait.py).
"""

import json

from cliff import columns
from cliff.formatters import base


def _plain(value):
    if isinstance(value, columns.FormattableColumn):
        return value.machine_readable()
    return value


def _line(column_names, row) -> str:
    item = {
        name: _plain(value)
        for name, value in zip(column_names, row, strict=True)
    }
    return json.dumps(item, default=str, ensure_ascii=False) + "\n"


class NdjsonFormatter(base.ListFormatter, base.SingleFormatter):
    """Write each row, or the one object, as a line of JSON."""

    def add_argument_group(self, parser):
        """Add no options: the format has none."""

    def emit_list(self, column_names, data, stdout, parsed_args):
        """Write one JSON object per row."""
        for row in data:
            stdout.write(_line(column_names, row))

    def emit_one(self, column_names, data, stdout, parsed_args):
        """Write the object as one JSON line."""
        stdout.write(_line(column_names, data))
