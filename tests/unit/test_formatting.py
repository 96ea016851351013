import datetime

import pytest
from cliff import columns

from pdtrain_core import formatting

NOW = datetime.datetime(2024, 5, 1, 12, 0, tzinfo=datetime.timezone.utc)


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (1024, "1.0 KiB"),
        (int(1.2 * 1024**2), "1.2 MiB"),
        (5 * 1024**4, "5.0 TiB"),
    ],
)
def test_size_column_human_units(size, text):
    assert formatting.SizeColumn(size).human_readable() == text


def test_size_column_machine_keeps_bytes():
    assert formatting.SizeColumn(1536).machine_readable() == 1536


@pytest.mark.parametrize(
    ("stamp", "text"),
    [
        ("2024-05-01T11:59:30Z", "30 s ago"),
        ("2024-05-01T11:57:00+00:00", "3 min ago"),
        ("2024-05-01T09:00:00", "3 h ago"),
        ("2024-04-29T12:00:00Z", "2 d ago"),
        ("2023-01-02T00:00:00Z", "2023-01-02"),
    ],
)
def test_human_age_relative_text(stamp, text):
    assert formatting.human_age(stamp, now=NOW) == text


def test_time_column_machine_keeps_iso_string():
    column = formatting.TimeColumn("2024-05-01T11:57:00Z")

    assert column.machine_readable() == "2024-05-01T11:57:00Z"


def test_parse_time_accepts_epoch_milliseconds():
    moment = formatting.parse_time(1714564800000)

    assert moment == NOW


@pytest.mark.parametrize(
    ("seconds", "text"), [(5, "5 s"), (185, "3 min 5 s"), (3720, "1 h 2 min")]
)
def test_duration_column_human_text(seconds, text):
    assert formatting.DurationColumn(seconds).human_readable() == text


def test_row_wraps_only_listed_columns():
    item = {"id": "r1", "size_bytes": 2048}

    values = formatting.row(
        item,
        ("id", "size_bytes", "missing"),
        {"size_bytes": formatting.SizeColumn},
    )

    assert values[0] == "r1"
    assert values[1].human_readable() == "2.0 KiB"
    assert values[2] is None


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (12.3456, "12.35"),
        (12.5, "12.5"),
        (40.0, "40"),
        (0.0, "0"),
        (0.004213, "0.00421"),
        (-2.25, "-2.25"),
        (float("inf"), "inf"),
    ],
)
def test_human_number_rounds_for_tables(value, text):
    assert formatting.human_number(value) == text


def test_table_value_blanks_empty_values():
    assert formatting.table_value(None) == ""
    assert formatting.table_value(columns.FormattableColumn(None)) == ""
    assert formatting.table_value(0) == 0
    assert formatting.table_value(False) is False


def test_table_value_shows_floats_and_objects():
    size = formatting.SizeColumn(10)

    assert formatting.table_value(33.3333) == "33.33"
    assert formatting.table_value({"b": 1, "a": [2]}) == '{"a": [2], "b": 1}'
    assert formatting.table_value(size) is size


def test_machine_text_writes_json_not_repr():
    listed = formatting.ListColumn(["été", "b"])

    assert formatting.machine_text(listed) == '["été", "b"]'
    assert formatting.machine_text({"k": None}) == '{"k": null}'
    assert formatting.machine_text(1.5) == 1.5
    assert formatting.machine_text(None) is None


def test_shell_value_escapes_what_the_shell_expands():
    assert formatting.shell_value("a$b`c\\d") == r"a\$b\`c\\d"
    assert formatting.shell_value(["$x"]) == r'["\$x"]'
    assert formatting.shell_value(None) == ""


def test_for_format_leaves_json_and_yaml_raw():
    values = [None, 1.23456, ["a"]]

    assert formatting.for_format("json", values) == values
    assert formatting.for_format("yaml", values) == values
    assert formatting.for_format("table", values) == ["", "1.23", '["a"]']
    assert formatting.for_format("value", values) == ["", 1.23456, '["a"]']


@pytest.mark.parametrize(
    ("count", "text"), [(0, "0 files"), (1, "1 file"), (2, "2 files")]
)
def test_plural_matches_count(count, text):
    assert formatting.plural(count, "file") == text
