import hashlib

from tests.orchestrator.conftest import csv_rows, tar_gz, upload_dataset


def _objects(settings):
    return [p for p in settings.objects_dir.rglob("*") if p.is_file()]


def test_dataset_finalize_reports_csv_metadata(client, auth):
    data = csv_rows(20)

    presign, done = upload_dataset(
        client,
        auth,
        "iris",
        {"iris.csv": data},
        files=[
            {
                "path": "iris.csv",
                "size_bytes": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
            }
        ],
    )

    assert done.status_code == 200, done.text
    assert done.json()["status"] == "ready"
    validation = done.json()["validation"]
    assert validation["metadata"]["file_type"] == "csv"
    assert validation["metadata"]["row_count"] == 20
    assert validation["metadata"]["column_count"] == 3
    assert validation["errors"] == []
    assert presign["version"] == 1


def test_dataset_metadata_of_other_types_has_no_counts(client, auth):
    _, done = upload_dataset(
        client, auth, "images", {"a.npy": b"\x93NUMPY", "b.npy": b"\x93NUMPY"}
    )

    metadata = done.json()["validation"]["metadata"]
    assert metadata["file_type"] == "npy"
    assert metadata["row_count"] is None
    assert metadata["column_count"] is None


def test_dataset_csv_rows_are_summed_over_files(client, auth):
    _, done = upload_dataset(
        client, auth, "split", {"a.csv": csv_rows(5), "b.csv": csv_rows(7)}
    )

    assert done.json()["validation"]["metadata"]["row_count"] == 12


def test_dataset_uneven_csv_row_is_a_warning(client, auth):
    data = b"a,b\n1,2\n3\n"

    _, done = upload_dataset(client, auth, "ragged", {"r.csv": data})

    warnings = done.json()["validation"]["warnings"]
    assert "r.csv: line 3 has 1 field, the header has 2" in warnings
    assert done.json()["validation"]["status"] == "passed"


def test_dataset_invisible_before_finalize(client, auth):
    presign = client.post(
        "/v1/datasets/presign",
        headers=auth,
        json={"dataset_name": "late", "files": [{"path": "a.csv"}]},
    ).json()

    listed = client.get("/v1/datasets", headers=auth).json()
    fetched = client.get(f"/v1/datasets/{presign['dataset_id']}", headers=auth)

    assert listed == {"items": [], "total": 0}
    assert fetched.status_code == 404


def test_dataset_finalize_rejects_bad_checksum(client, auth, settings):
    presign, done = upload_dataset(
        client,
        auth,
        "iris",
        {"iris.csv": csv_rows(3)},
        files=[{"path": "iris.csv", "sha256": "f" * 64}],
    )

    assert done.status_code == 422
    assert "sha256 mismatch" in done.json()["detail"]
    assert _objects(settings) == []
    listed = client.get("/v1/datasets", headers=auth).json()
    assert listed["total"] == 0


def test_dataset_finalize_rejects_wrong_total_size(client, auth):
    _, done = upload_dataset(
        client, auth, "iris", {"iris.csv": csv_rows(3)}, size_bytes=1
    )

    assert done.status_code == 422
    assert "size_bytes is 1" in done.json()["detail"]


def test_dataset_finalize_rejects_missing_file(client, auth):
    presign = client.post(
        "/v1/datasets/presign",
        headers=auth,
        json={"dataset_name": "x", "files": [{"path": "a.csv"}]},
    ).json()

    done = client.post(
        "/v1/datasets/finalize",
        headers=auth,
        json={"dataset_id": presign["dataset_id"], "version": 1},
    )

    assert done.status_code == 422
    assert "'a.csv' was not uploaded" in done.json()["detail"]


def test_dataset_finalize_without_presign_is_404(client, auth):
    done = client.post(
        "/v1/datasets/finalize",
        headers=auth,
        json={"dataset_id": "nope", "version": 1},
    )

    assert done.status_code == 404
    assert done.json()["code"] == "not_found"


def test_dataset_presign_rejects_escaping_path(client, auth):
    for path in ("../a.csv", "/etc/passwd", "a/./b.csv"):
        response = client.post(
            "/v1/datasets/presign",
            headers=auth,
            json={"dataset_name": "x", "files": [{"path": path}]},
        )

        assert response.status_code == 422, path


def test_dataset_presigned_post_rejects_bad_signature(client, auth):
    presign = client.post(
        "/v1/datasets/presign",
        headers=auth,
        json={"dataset_name": "x", "files": [{"path": "a.csv"}]},
    ).json()
    post = presign["presigned"][0]
    fields = {**post["fields"], "signature": "0" * 64}

    response = client.post(
        post["url"], data=fields, files={"file": ("a.csv", b"a\n1\n")}
    )

    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"


def test_dataset_second_upload_is_next_version(client, auth):
    first, _ = upload_dataset(client, auth, "iris", {"a.csv": csv_rows(2)})
    second, _ = upload_dataset(
        client, auth, "iris", {"a.csv": csv_rows(4)}, set_current=False
    )

    fetched = client.get(
        f"/v1/datasets/{first['dataset_id']}", headers=auth
    ).json()

    assert second["dataset_id"] == first["dataset_id"]
    assert second["version"] == 2
    assert fetched["current_version"] == 1
    assert [v["version"] for v in fetched["versions"]] == [1, 2]
    assert fetched["size_bytes"] == len(csv_rows(2))


def test_dataset_list_filters_by_name(client, auth):
    upload_dataset(client, auth, "iris", {"a.csv": csv_rows(2)})
    upload_dataset(client, auth, "wine", {"a.csv": csv_rows(2)})

    listed = client.get("/v1/datasets?name=wine", headers=auth).json()
    paged = client.get("/v1/datasets?limit=1&offset=1", headers=auth).json()

    assert listed["total"] == 1
    assert listed["items"][0]["name"] == "wine"
    assert paged["total"] == 2
    assert len(paged["items"]) == 1


def test_dataset_download_supports_range(client, auth):
    data = csv_rows(50)
    presign, _ = upload_dataset(client, auth, "iris", {"iris.csv": data})
    dataset_id = presign["dataset_id"]

    listing = client.get(
        f"/v1/datasets/{dataset_id}/versions/1/download", headers=auth
    ).json()
    alias = client.get(
        f"/v1/datasets/{dataset_id}/download?version=1", headers=auth
    ).json()
    url = listing["files"][0]["download_url"]
    whole = client.get(url)
    part = client.get(url, headers={"Range": "bytes=10-19"})

    assert listing["files"][0]["file_name"] == "iris.csv"
    assert listing["files"][0]["size_bytes"] == len(data)
    assert alias["files"][0]["file_name"] == "iris.csv"
    assert whole.content == data
    assert part.status_code == 206
    assert part.content == data[10:20]
    assert part.headers["Content-Range"] == f"bytes 10-19/{len(data)}"


def test_dataset_download_rejects_tampered_url(client, auth):
    presign, _ = upload_dataset(client, auth, "iris", {"a.csv": b"a\n1\n"})
    listing = client.get(
        f"/v1/datasets/{presign['dataset_id']}/download", headers=auth
    ).json()
    url = listing["files"][0]["download_url"]

    response = client.get(url.replace("expires=", "expires=1"))

    assert response.status_code == 403


def test_dataset_delete_removes_versions_and_objects(client, auth, settings):
    presign, _ = upload_dataset(client, auth, "iris", {"a.csv": b"a\n1\n"})
    dataset_id = presign["dataset_id"]

    deleted = client.delete(f"/v1/datasets/{dataset_id}", headers=auth)
    fetched = client.get(f"/v1/datasets/{dataset_id}", headers=auth)

    assert deleted.status_code == 200
    assert deleted.json() == {"id": dataset_id, "deleted": True}
    assert fetched.status_code == 404
    assert _objects(settings) == []


def test_dataset_directory_archive_is_recorded(client, auth):
    packed = tar_gz({"train/a.csv": b"a\n1\n"})

    presign, done = upload_dataset(
        client, auth, "folder", {"folder.tar.gz": packed}, archive="directory"
    )

    assert done.status_code == 200, done.text
    metadata = done.json()["validation"]["metadata"]
    assert metadata["file_type"] == "tar.gz"
    assert metadata["archive"] == "directory"
    fetched = client.get(
        f"/v1/datasets/{presign['dataset_id']}", headers=auth
    ).json()
    assert fetched["versions"][0]["archive"] == "directory"


def test_dataset_directory_archive_must_be_tar_gz(client, auth):
    _, done = upload_dataset(
        client,
        auth,
        "folder",
        {"folder.tar.gz": b"not gzip"},
        archive="directory",
    )

    assert done.status_code == 200, done.text
    assert done.json()["status"] == "failed"
    errors = done.json()["validation"]["errors"]
    assert "folder.tar.gz: is not safe to unpack" in errors[0]
    assert client.get("/v1/datasets", headers=auth).json()["total"] == 0
