"""Content checks of dataset files, called directly on files."""

import io
import json
import stat
import sys
import tarfile
import zipfile

import pyarrow
import pyarrow.parquet

from pdtrain_orchestrator import dataset_check, dataset_formats
from pdtrain_orchestrator.dataset_check import describe_dataset


def check(tmp_path, name, data, archive=None):
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return describe_dataset([(name, path)], archive)


def test_csv_numeric_header_is_a_warning(tmp_path):
    result = check(tmp_path, "a.csv", "1,2\n3,4\n")

    assert result["status"] == "passed"
    assert "a.csv: every header field is a number" in result["warnings"][0]


def test_csv_empty_file_is_an_error(tmp_path):
    result = check(tmp_path, "a.csv", "")

    assert result["status"] == "failed"
    assert result["errors"] == [
        "a.csv: is empty; a CSV file needs a header row"
    ]


def test_csv_quoted_newline_counts_one_row(tmp_path):
    result = check(tmp_path, "a.csv", 'text,n\n"two\nlines",1\nb,2\n')

    assert result["metadata"]["row_count"] == 2
    assert result["warnings"] == []


def test_json_object_has_no_counts(tmp_path):
    result = check(tmp_path, "a.json", '{"rows": []}')

    assert result["status"] == "passed"
    assert result["metadata"]["row_count"] is None
    assert "not an array of records" in result["warnings"][0]


def test_json_records_with_other_keys_warn(tmp_path):
    result = check(tmp_path, "a.json", '[{"a": 1}, {"a": 2, "b": 3}]')

    assert result["metadata"]["row_count"] == 2
    assert result["metadata"]["column_count"] == 2
    assert "do not all have the same keys" in result["warnings"][0]


def test_json_past_size_limit_is_not_parsed(tmp_path, monkeypatch):
    monkeypatch.setattr(dataset_formats, "MAX_JSON_BYTES", 10)

    result = check(tmp_path, "a.json", "[" + "1," * 20 + "1]")

    assert result["status"] == "passed"
    assert "content was not checked" in result["warnings"][0]


def test_jsonl_skips_blank_lines(tmp_path):
    result = check(tmp_path, "a.jsonl", '{"a": 1}\n\n{"a": 2}\n\n')

    assert result["metadata"]["row_count"] == 2
    assert result["metadata"]["column_count"] == 1


def test_parquet_without_pyarrow_checks_markers(tmp_path, monkeypatch):
    buffer = io.BytesIO()
    table = pyarrow.Table.from_pylist([{"a": 1}])
    pyarrow.parquet.write_table(table, buffer)
    monkeypatch.setitem(sys.modules, "pyarrow", None)

    good = check(tmp_path, "a.parquet", buffer.getvalue())
    bad = check(tmp_path, "b.parquet", b"not parquet at all")

    assert good["status"] == "passed"
    assert "pdtrain[parquet]" in good["warnings"][0]
    assert bad["errors"] == [
        "b.parquet: is not a Parquet file: it does not start and end with PAR1"
    ]


def test_unknown_type_passes_with_warning(tmp_path):
    result = check(tmp_path, "a.npy", b"\x93NUMPY")

    assert result["status"] == "passed"
    assert "a.npy: content not checked" in result["warnings"][0]


def test_files_with_other_columns_are_not_summed(tmp_path):
    first = tmp_path / "a.csv"
    first.write_text("a,b\n1,2\n")
    second = tmp_path / "b.csv"
    second.write_text("a\n1\n")

    result = describe_dataset([("a.csv", first), ("b.csv", second)], None)

    assert result["metadata"]["row_count"] is None
    assert "different column counts (1, 2)" in result["warnings"][0]


def test_messages_are_capped(tmp_path, monkeypatch):
    monkeypatch.setattr(dataset_check, "MAX_MESSAGES", 2)
    files = []
    for index in range(4):
        path = tmp_path / f"{index}.csv"
        path.write_text("")
        files.append((path.name, path))

    result = describe_dataset(files, None)

    assert len(result["errors"]) == 3
    assert result["errors"][-1] == "and 2 more"


def _zip(tmp_path, members, link=None):
    path = tmp_path / "d.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        if link:
            info = zipfile.ZipInfo(link[0])
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, link[1])
    return path


def test_zip_link_outside_is_an_error(tmp_path):
    path = _zip(tmp_path, {"a.csv": "a\n1\n"}, link=("l.csv", "../../x"))

    result = describe_dataset([("d.zip", path)], None)

    assert result["status"] == "failed"
    assert "member 'l.csv' is a link to '../../x'" in result["errors"][0]


def test_zip_skips_macos_metadata(tmp_path):
    members = {"a.csv": "a\n1\n", "__MACOSX/._a.csv": b"\x00\x05\x16\x07"}

    result = describe_dataset([("d.zip", _zip(tmp_path, members))], None)

    assert result["status"] == "passed"
    assert result["metadata"]["member_count"] == 2
    assert result["metadata"]["row_count"] == 1


def test_damaged_zip_is_an_error(tmp_path):
    result = check(tmp_path, "d.zip", b"PK\x03\x04 broken")

    assert result["status"] == "failed"
    assert "d.zip: is not a ZIP archive or is damaged" in result["errors"][0]


def test_tar_member_parquet_is_read(tmp_path):
    buffer = io.BytesIO()
    rows = [{"a": 1, "b": 2}] * 3
    pyarrow.parquet.write_table(pyarrow.Table.from_pylist(rows), buffer)
    path = tmp_path / "d.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo("t/p.parquet")
        info.size = len(buffer.getvalue())
        tar.addfile(info, io.BytesIO(buffer.getvalue()))

    result = describe_dataset([("d.tar.gz", path)], "directory")

    assert result["metadata"]["row_count"] == 3
    assert result["metadata"]["column_count"] == 2
    assert result["metadata"]["archive"] == "directory"


def test_tar_absolute_member_is_an_error(tmp_path):
    path = tmp_path / "d.tgz"
    data = json.dumps([{"a": 1}]).encode()
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo("/etc/rows.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))

    result = describe_dataset([("d.tgz", path)], None)

    assert result["metadata"]["file_type"] == "tar.gz"
    assert "has an absolute path" in result["errors"][0]
