"""`dataset upload` of content that is already the latest version."""


def _listed(cli, name):
    listed = cli.json("dataset", "list")
    found = [item for item in listed if item["name"] == name]
    assert len(found) == 1, listed
    return found[0]


def test_dataset_upload_unchanged_file_is_skipped(cli, csv_file):
    first = cli.json("dataset", "upload", csv_file, "--name", "rows")

    again = cli("dataset", "upload", csv_file, "--name", "rows", "-f", "json")

    assert again.returncode == 0, again.stderr
    assert "Dataset rows is unchanged: version 1" in again.stderr
    assert "--force" in again.stderr
    assert '"version": 1' in again.stdout
    assert first["version"] == 1
    assert _listed(cli, "rows")["current_version"] == 1


def test_dataset_upload_force_makes_new_version(cli, csv_file):
    cli.json("dataset", "upload", csv_file, "--name", "rows")

    forced = cli.json(
        "dataset", "upload", csv_file, "--name", "rows", "--force"
    )

    assert forced["version"] == 2


def test_dataset_upload_new_description_makes_new_version(cli, csv_file):
    cli.json("dataset", "upload", csv_file, "--name", "rows")

    described = cli.json(
        "dataset", "upload", csv_file, "--name", "rows",
        "--description", "cleaned",
    )  # fmt: skip
    shown = cli.json("dataset", "show", "rows:2")

    assert described["version"] == 2
    assert described["description"] == "cleaned"
    assert shown["description"] == "cleaned"


def test_dataset_upload_skipped_shows_stored_description(cli, csv_file):
    cli.json(
        "dataset", "upload", csv_file, "--name", "rows",
        "--description", "raw rows",
    )  # fmt: skip

    again = cli.json("dataset", "upload", csv_file, "--name", "rows")

    assert again["version"] == 1
    assert again["description"] == "raw rows"


def test_dataset_upload_changed_file_makes_new_version(cli, csv_file):
    cli.json("dataset", "upload", csv_file, "--name", "rows")
    csv_file.write_text(csv_file.read_text() + "99,99\n")

    changed = cli(
        "dataset", "upload", csv_file, "--name", "rows", "-f", "json"
    )

    assert changed.returncode == 0, changed.stderr
    assert "unchanged" not in changed.stderr
    assert '"version": 2' in changed.stdout


def test_dataset_upload_unchanged_folder_is_skipped(cli, tmp_path, csv_file):
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "a.csv").write_text(csv_file.read_text())
    cli.json("dataset", "upload", folder, "--name", "packed")

    again = cli("dataset", "upload", folder, "--name", "packed", "-f", "json")

    assert again.returncode == 0, again.stderr
    assert "Dataset packed is unchanged: version 1" in again.stderr
