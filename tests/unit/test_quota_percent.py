"""The percentage column of `pdtrain quota` tables."""

import pytest

from pdtrain_plugins.quota import PercentColumn


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (None, ""),
        (0, "0.0%"),
        (0.004, "<0.1%"),
        (0.05, "0.1%"),
        (91.25, "91.2%"),
    ],
)
def test_percent_column_table_text(value, shown):
    assert PercentColumn(value).human_readable() == shown


def test_percent_column_machine_value_stays_raw():
    assert PercentColumn(0.004).machine_readable() == 0.004
