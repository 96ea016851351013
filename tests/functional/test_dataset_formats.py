"""Dataset content validation from the CLI, one real server per module."""

import io
import json
import zipfile

import pyarrow
import pyarrow.parquet
import pytest

from tests.functional.conftest import make_tar

ROWS = [{"x": i, "y": i * 2, "label": i % 2} for i in range(20)]
CSV_TEXT = "x,y,label\n" + "".join(
    f"{r['x']},{r['y']},{r['label']}\n" for r in ROWS
)


def parquet_bytes(rows):
    buffer = io.BytesIO()
    pyarrow.parquet.write_table(pyarrow.Table.from_pylist(rows), buffer)
    return buffer.getvalue()


def zip_bytes(members):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def write(path, data):
    if isinstance(data, str):
        data = data.encode()
    path.write_bytes(data)
    return path


def write_tar(path, members):
    return make_tar(path, members)


GOOD = {
    "rows.csv": CSV_TEXT,
    "rows.json": json.dumps(ROWS),
    "rows.jsonl": "".join(json.dumps(r) + "\n" for r in ROWS),
    "rows.parquet": parquet_bytes(ROWS),
    "rows.zip": zip_bytes(
        {"a/first.csv": CSV_TEXT, "b/second.csv": CSV_TEXT, "notes.txt": "x"}
    ),
}

# file name -> (content, text the error must contain)
BAD = {
    "latin.csv": (
        b"name,city\nana,porto\nrene,k\xf6ln\n",
        "latin.csv: line 3 is not UTF-8 text",
    ),
    "broken.json": ('[{"x": 1},\n {"x": 2,}]', "broken.json: line 2"),
    "events.jsonl": (
        '{"x": 1}\n{"x": 2}\n{"x": 3}\n{"x": \n{"x": 5}\n',
        "events.jsonl: line 4 is not valid JSON",
    ),
    "table.parquet": (
        b"PAR1 this is not a parquet footer PAR1",
        "table.parquet: cannot be read as Parquet",
    ),
    "nested.zip": (
        zip_bytes({"ok.csv": CSV_TEXT, "bad/rows.jsonl": '{"x": 1}\n{x}\n'}),
        "nested.zip: member 'bad/rows.jsonl' line 2 is not valid JSON",
    ),
    "escape.zip": (
        zip_bytes({"../outside.csv": CSV_TEXT}),
        "member '../outside.csv' points outside the folder",
    ),
}


def error_lines(result):
    return [
        line
        for line in result.stderr.splitlines()
        if line.startswith("Error:")
    ]


def stored_objects(server):
    root = server.home / "objects"
    return {p for p in root.rglob("*") if p.is_file()}


def datasets_used(cli):
    rows = cli.json("quota", "-c", "kind", "-c", "used")
    return {row["kind"]: row["used"] for row in rows}["datasets"]


@pytest.mark.parametrize(
    ("name", "rows", "columns"),
    [
        ("rows.csv", 20, 3),
        ("rows.json", 20, 3),
        ("rows.jsonl", 20, 3),
        ("rows.parquet", 20, 3),
        ("rows.zip", 40, 3),
    ],
)
def test_dataset_upload_reports_counts(cli, tmp_path, name, rows, columns):
    path = write(tmp_path / name, GOOD[name])

    shown = cli.json("dataset", "upload", path, "--name", "rows")

    assert shown["validation"] == "passed"
    assert shown["file_type"] == name.split(".", 1)[1]
    assert shown["row_count"] == rows
    assert shown["column_count"] == columns
    assert shown["errors"] == []


def test_dataset_upload_tar_gz_sums_member_rows(cli, tmp_path):
    path = write_tar(
        tmp_path / "parts.tar.gz",
        {"a.csv": CSV_TEXT.encode(), "b.jsonl": GOOD["rows.jsonl"].encode()},
    )

    shown = cli.json("dataset", "upload", path, "--name", "parts")

    assert shown["file_type"] == "tar.gz"
    assert shown["row_count"] == 40
    assert shown["column_count"] == 3


@pytest.mark.parametrize("name", sorted(BAD))
def test_dataset_upload_bad_file_leaves_nothing(cli, server, tmp_path, name):
    content, expected = BAD[name]
    path = write(tmp_path / name, content)
    objects = stored_objects(server)

    result = cli("dataset", "upload", path, "--name", "bad")

    errors = error_lines(result)
    assert result.returncode == 1
    assert len(errors) == 1, result.stderr
    assert expected in errors[0]
    assert "no version was stored" in errors[0]
    assert "Traceback" not in result.stderr
    assert cli.json("dataset", "list") == []
    assert datasets_used(cli) == 0
    assert stored_objects(server) == objects


def test_dataset_upload_rejects_unknown_extension(cli, tmp_path):
    path = write(tmp_path / "notes.txt", "just text\n")

    result = cli("dataset", "upload", path, "--name", "notes")

    assert result.returncode == 2
    assert "notes.txt" in result.stderr
    assert ".csv, .json, .jsonl, .parquet, .zip, .tar.gz" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert cli.json("dataset", "list") == []


def test_dataset_upload_uneven_csv_is_a_warning(cli, tmp_path):
    path = write(tmp_path / "ragged.csv", "a,b\n1,2\n3\n4,5\n")

    shown = cli.json("dataset", "upload", path, "--name", "ragged")
    again = cli.json("dataset", "show", "ragged")

    assert shown["validation"] == "passed"
    assert shown["warnings"] == [
        "ragged.csv: line 3 has 1 field, the header has 2"
    ]
    assert again["warnings"] == shown["warnings"]
    assert again["row_count"] == 3


def test_dataset_upload_directory_warns_about_unknown(cli, tmp_path):
    folder = tmp_path / "folder"
    (folder / "images").mkdir(parents=True)
    write(folder / "train.csv", CSV_TEXT)
    write(folder / "test.jsonl", GOOD["rows.jsonl"])
    write(folder / "images" / "a.png", b"\x89PNG")
    write(folder / "images" / "b.png", b"\x89PNG")

    result = cli("dataset", "upload", folder, "--name", "mixed", "-f", "json")
    shown = json.loads(result.stdout)

    assert result.returncode == 0, result.stderr
    assert "2 files in" in result.stderr
    assert ".png (2)" in result.stderr
    assert shown["file_type"] == "tar.gz"
    assert shown["row_count"] == 40
    assert shown["column_count"] == 3


def test_dataset_upload_directory_with_bad_member_fails(cli, tmp_path):
    folder = tmp_path / "folder"
    folder.mkdir()
    write(folder / "good.csv", CSV_TEXT)
    write(folder / "bad.json", "{not json")

    result = cli("dataset", "upload", folder, "--name", "broken")

    assert result.returncode == 1
    assert "broken.tar.gz: member 'bad.json' line 1" in result.stderr
    assert cli.json("dataset", "list") == []


def test_dataset_description_is_kept_per_version(cli, tmp_path):
    path = write(tmp_path / "rows.csv", CSV_TEXT)
    cli.json("dataset", "upload", path, "--name", "r", "--description", "one")
    # The same file again makes a new version only with --force.
    cli.json(
        "dataset", "upload", path, "--name", "r", "--description", "two",
        "--force",
    )  # fmt: skip
    cli.json("dataset", "upload", path, "--name", "r", "--force")

    first = cli.json("dataset", "show", "r:1")
    second = cli.json("dataset", "show", "r:v2")
    latest = cli.json("dataset", "show", "r")

    assert (first["version"], first["description"]) == (1, "one")
    assert (second["version"], second["description"]) == (2, "two")
    assert (latest["version"], latest["description"]) == (3, None)
    assert first["row_count"] == 20
    assert first["file_type"] == "csv"


def test_dataset_upload_wait_returns_validated(cli, tmp_path):
    path = write(tmp_path / "rows.csv", CSV_TEXT)

    shown = cli.json(
        "dataset", "upload", path, "--name", "w", "--wait",
        "--description", "waited",
    )  # fmt: skip

    assert shown["validation"] == "passed"
    assert shown["description"] == "waited"
    assert shown["version"] == 1
