"""Content checks of text files larger than the parse bound."""

import io
import zipfile

import pytest

from pdtrain_orchestrator import dataset_counts, dataset_formats
from pdtrain_orchestrator.dataset_check import describe_dataset
from pdtrain_orchestrator.server_config import ConfigError, parse_config
from pdtrain_orchestrator.settings import Settings
from tests.orchestrator.conftest import csv_rows, upload_dataset

BOUND = 200
ESTIMATE = "row_count is an estimate"


def check(tmp_path, name, data, parse_bytes=BOUND):
    path = tmp_path / name
    path.write_bytes(data)
    return describe_dataset([(name, path)], None, parse_bytes)


def quoted_csv(rows: int) -> bytes:
    lines = [b"id,text\n"]
    lines += [b'%d,"line one\nline ""two"", end"\n' % i for i in range(rows)]
    return b"".join(lines)


def jsonl_rows(rows: int) -> bytes:
    return b"".join(b'{"id": %d, "x": 1}\n' % i for i in range(rows))


@pytest.fixture
def settings(tmp_path):
    """SQLite settings that parse only the first MiB of a dataset file."""
    return Settings(home=tmp_path / "home", dataset_full_parse_mb=1)


def test_csv_past_bound_counts_quoted_rows(tmp_path):
    data = quoted_csv(100)

    result = check(tmp_path, "a.csv", data)

    assert len(data) > 10 * BOUND
    assert result["status"] == "passed"
    assert result["metadata"]["row_count"] == 100
    assert result["metadata"]["column_count"] == 2
    assert result["warnings"] == [
        "a.csv: only the first 200 bytes were parsed; rows after that were "
        f"counted by line breaks without checking their content, so {ESTIMATE}"
    ]


def test_csv_last_row_without_newline_counts(tmp_path):
    result = check(tmp_path, "a.csv", quoted_csv(50) + b'50,"end"')

    assert result["metadata"]["row_count"] == 51


def test_csv_error_before_bound_fails(tmp_path):
    data = b"a,b\n1,2\n\xff,3\n" + csv_rows(100)

    result = check(tmp_path, "a.csv", data)

    assert result["status"] == "failed"
    assert result["errors"] == ["a.csv: line 3 is not UTF-8 text"]


def test_csv_content_past_bound_is_not_checked(tmp_path):
    data = csv_rows(100) + b"\xff,1,2\n"

    result = check(tmp_path, "a.csv", data)

    assert result["status"] == "passed"
    assert result["metadata"]["row_count"] == 101
    assert ESTIMATE in result["warnings"][0]


def test_csv_uneven_row_before_bound_warns(tmp_path):
    data = b"x,y,label\n1,2\n" + csv_rows(100)

    result = check(tmp_path, "a.csv", data)

    assert "a.csv: line 2 has 2 fields, the header has 3" in result["warnings"]
    assert ESTIMATE in result["warnings"][-1]


def test_csv_under_bound_has_no_estimate(tmp_path):
    data = quoted_csv(100)

    result = check(tmp_path, "a.csv", data, parse_bytes=len(data) + 1)

    assert result["metadata"]["row_count"] == 100
    assert result["warnings"] == []


def test_csv_bound_defaults_to_module_value(tmp_path, monkeypatch):
    monkeypatch.setattr(dataset_formats, "FULL_PARSE_BYTES", BOUND)

    result = check(tmp_path, "a.csv", quoted_csv(100), parse_bytes=None)

    assert result["metadata"]["row_count"] == 100
    assert ESTIMATE in result["warnings"][0]


def test_csv_count_handles_quotes_across_blocks(monkeypatch):
    monkeypatch.setattr(dataset_counts, "BLOCK_BYTES", 7)
    data = quoted_csv(40).partition(b"\n")[2]

    records = dataset_counts.count_csv_records(io.BytesIO(data))

    assert records == 40


def test_jsonl_past_bound_counts_lines(tmp_path):
    result = check(tmp_path, "a.jsonl", jsonl_rows(100) + b'{"id": 100}')

    assert result["status"] == "passed"
    assert result["metadata"]["row_count"] == 101
    assert result["metadata"]["column_count"] == 2
    assert ESTIMATE in result["warnings"][0]


def test_jsonl_error_before_bound_fails(tmp_path):
    data = b'{"id": 1}\n{"id": \n' + jsonl_rows(100)

    result = check(tmp_path, "a.jsonl", data)

    assert result["status"] == "failed"
    assert "a.jsonl: line 2 is not valid JSON" in result["errors"][0]


def test_jsonl_content_past_bound_is_not_checked(tmp_path):
    result = check(tmp_path, "a.jsonl", jsonl_rows(100) + b"not json\n")

    assert result["status"] == "passed"
    assert result["metadata"]["row_count"] == 101


def test_json_over_bound_is_not_parsed(tmp_path):
    data = b"[" + b",".join(b'{"id": %d}' % i for i in range(100)) + b"]"

    result = check(tmp_path, "a.json", data)

    assert result["status"] == "passed"
    assert result["metadata"]["row_count"] is None
    assert "is larger than 200 bytes" in result["warnings"][0]


def test_zip_member_past_bound_is_estimated(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        bundle.writestr("rows.csv", quoted_csv(100))

    result = check(tmp_path, "a.zip", buffer.getvalue())

    assert result["metadata"]["row_count"] == 100
    assert ESTIMATE in result["warnings"][0]
    assert result["warnings"][0].startswith("a.zip: member 'rows.csv' only")


def test_finalize_uses_server_parse_bound(client, auth):
    data = csv_rows(150_000)

    _, done = upload_dataset(client, auth, "big", {"big.csv": data})

    assert len(data) > 2 * 1024**2
    assert done.status_code == 200, done.text
    validation = done.json()["validation"]
    assert validation["metadata"]["row_count"] == 150_000
    assert validation["warnings"] == [
        "big.csv: only the first 1 MiB were parsed; rows after that were "
        f"counted by line breaks without checking their content, so {ESTIMATE}"
    ]


def test_config_sets_parse_bound():
    config = parse_config({"limits": {"dataset_full_parse_mb": 64}})
    settings = Settings(home="/tmp/unused")

    config.apply(settings)

    assert settings.dataset_full_parse_bytes == 64 * 1024**2


def test_config_rejects_zero_parse_bound():
    with pytest.raises(ConfigError) as caught:
        parse_config({"limits": {"dataset_full_parse_mb": 0}})

    assert caught.value.problems == [
        "limits.dataset_full_parse_mb: must be a whole number of at least "
        "1, not 0"
    ]
