"""Output formatters that pdtrain adds to cliff's set.

cliff gives list commands csv output but not show commands; this module
adds it, so every list and show command takes the same ``-f`` values.
"""

import csv
import json

from cliff import columns
from cliff.formatters import commaseparated


def _machine(value):
    """Return the raw value; lists and objects as JSON text."""
    if isinstance(value, columns.FormattableColumn):
        value = value.machine_readable()
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return value


class CsvShowFormatter(commaseparated.CSVLister):
    """One object as CSV: a header of field names, then one row."""

    def emit_one(self, column_names, data, stdout, parsed_args):
        """Write the header line and the values line."""
        writer = csv.writer(
            stdout,
            quoting=self.QUOTE_MODES[parsed_args.quote_mode],
            lineterminator="\n",
        )
        writer.writerow(column_names)
        writer.writerow([_machine(value) for value in data])
