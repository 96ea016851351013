"""Output formatters that pdtrain adds to cliff's set.

cliff gives list commands csv output but not show commands; this module
adds it, so every list and show command takes the same ``-f`` values.
"""

import csv

from cliff.formatters import commaseparated

from pdtrain_core import formatting


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
        writer.writerow([formatting.machine_text(value) for value in data])
