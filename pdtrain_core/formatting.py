"""Columns that show human values in tables and raw values elsewhere.

cliff's table formatter calls ``human_readable``; json, yaml, csv and
value formatters call ``machine_readable``. Sizes stay bytes, times stay
ISO-8601 UTC strings and durations stay seconds in machine formats.

``for_format`` prepares the values of one row for a cliff formatter:
tables show an empty value as a blank cell and a float rounded, and the
text formats (value, csv, shell) write an empty value as an empty
string and lists and objects as JSON rather than as Python reprs. json,
yaml and other formats get the values as they are.
"""

import datetime
import json
import math

from cliff import columns

_SIZE_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def human_size(size_bytes) -> str:
    """Format a byte count with binary units, such as "1.2 MiB"."""
    if size_bytes is None:
        return ""
    size = float(size_bytes)
    for unit in _SIZE_UNITS:
        if abs(size) < 1024 or unit == _SIZE_UNITS[-1]:
            break
        size /= 1024
    if unit == "B":
        return f"{int(size)} B"
    return f"{size:.1f} {unit}"


def parse_time(value) -> datetime.datetime | None:
    """Parse an ISO-8601 string or epoch milliseconds into aware UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)):
        return datetime.datetime.fromtimestamp(
            value / 1000, tz=datetime.timezone.utc
        )
    text = str(value).replace("Z", "+00:00")
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        # The contract sends UTC; a naive stamp means UTC without offset.
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment


def human_age(value, now=None) -> str:
    """Format a timestamp relative to now, such as "3 min ago"."""
    moment = parse_time(value)
    if moment is None:
        return "" if value is None else str(value)
    now = now or datetime.datetime.now(datetime.timezone.utc)
    seconds = int((now - moment).total_seconds())
    if seconds < 0:
        return moment.isoformat(timespec="seconds")
    if seconds < 60:
        return f"{seconds} s ago"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h ago"
    if seconds < 30 * 86400:
        return f"{seconds // 86400} d ago"
    return moment.date().isoformat()


def human_duration(seconds) -> str:
    """Format seconds as "1 h 2 min", "3 min 4 s" or "5 s"."""
    if seconds is None:
        return ""
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"


class SizeColumn(columns.FormattableColumn):
    """A byte count: "1.2 MiB" in tables, the integer elsewhere."""

    def human_readable(self):
        return human_size(self._value)


class TimeColumn(columns.FormattableColumn):
    """A timestamp: "3 min ago" in tables, ISO-8601 UTC elsewhere."""

    def human_readable(self):
        return human_age(self._value)


class DurationColumn(columns.FormattableColumn):
    """A duration in seconds: "3 min 4 s" in tables, seconds elsewhere."""

    def human_readable(self):
        return human_duration(self._value)


class ListColumn(columns.FormattableColumn):
    """A list of strings: one per line in tables, the list elsewhere."""

    def human_readable(self):
        return "\n".join(str(item) for item in self._value or ())


class DictColumn(columns.FormattableColumn):
    """A mapping: "key=value" lines in tables, the object elsewhere."""

    def human_readable(self):
        items = (self._value or {}).items()
        return "\n".join(f"{key}={value}" for key, value in items)


def row(item: dict, names, formatters=None) -> list:
    """Pick names from item in order, wrapping values with formatters."""
    formatters = formatters or {}
    values = []
    for name in names:
        value = item.get(name)
        column_class = formatters.get(name)
        values.append(column_class(value) if column_class else value)
    return values


def plural(count: int, noun: str, plural_noun: str | None = None) -> str:
    """Return count with its noun, such as "1 file" or "3 files"."""
    if count == 1:
        return f"{count} {noun}"
    return f"{count} {plural_noun or noun + 's'}"


def human_number(value: float) -> str:
    """Format a float for a table: "12.35", "12.5", "0.00421".

    Values of 1 and more keep two decimals without trailing zeros.
    Smaller ones keep three significant digits, so small costs and
    fractions do not round to zero.
    """
    if not math.isfinite(value):
        return str(value)
    if abs(value) >= 1 or value == 0:
        text = f"{value:.2f}".rstrip("0").rstrip(".")
        return "0" if text == "-0" else text
    return f"{value:.3g}"


def _plain(value):
    if isinstance(value, columns.FormattableColumn):
        return value.machine_readable()
    return value


def machine_text(value):
    """Return value for a text format: lists and objects as JSON text."""
    value = _plain(value)
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return value


def text_value(value):
    """Return value for the value and csv formats: "" when empty."""
    value = machine_text(value)
    return "" if value is None else value


def table_value(value):
    """Return value for a table cell: blank when empty, floats rounded."""
    if _plain(value) is None:
        return ""
    if isinstance(value, columns.FormattableColumn):
        return value
    if isinstance(value, float):
        return human_number(value)
    if isinstance(value, (dict, list, tuple)):
        return machine_text(value)
    return value


def shell_value(value):
    """Return value for `-f shell`, safe inside its double quotes.

    An empty value becomes "", which `[ -z "$name" ]` can test. cliff's
    shell formatter escapes only the double quote. The shell that
    evaluates the output would expand a backslash, a dollar sign or a
    backtick, so they are escaped here.
    """
    value = text_value(value)
    if isinstance(value, str):
        for char in ("\\", "$", "`"):
            value = value.replace(char, "\\" + char)
    return value


_PREPARERS = {
    "table": table_value,
    "value": text_value,
    "csv": text_value,
    "shell": shell_value,
}


def for_format(formatter: str | None, values) -> list:
    """Return the values of one row prepared for the named formatter."""
    prepare = _PREPARERS.get(formatter)
    if prepare is None:
        return list(values)
    return [prepare(value) for value in values]
