"""Deleting single dataset versions, and the quota's largest items."""

from tests.orchestrator.conftest import csv_rows, upload_dataset


def versions_of(client, auth, dataset_id):
    body = client.get(f"/v1/datasets/{dataset_id}", headers=auth).json()
    return body["current_version"], [v["version"] for v in body["versions"]]


def used_bytes(client, auth):
    quota = client.get("/v1/storage/quota", headers=auth).json()
    return round(quota["datasets"]["current_storage_gb"] * 1024**3)


def two_versions(client, auth):
    first, _ = upload_dataset(client, auth, "iris", {"a.csv": csv_rows(10)})
    upload_dataset(client, auth, "iris", {"a.csv": csv_rows(200)})
    return first["dataset_id"]


def test_delete_version_keeps_others_and_frees_quota(client, auth):
    dataset_id = two_versions(client, auth)
    before = used_bytes(client, auth)

    response = client.delete(
        f"/v1/datasets/{dataset_id}/versions/2", headers=auth
    )

    assert response.status_code == 200
    assert versions_of(client, auth, dataset_id) == (1, [1])
    assert before - used_bytes(client, auth) == len(csv_rows(200))


def test_deleted_version_number_is_not_reused(client, auth):
    dataset_id = two_versions(client, auth)
    client.delete(f"/v1/datasets/{dataset_id}/versions/2", headers=auth)

    _, done = upload_dataset(client, auth, "iris", {"a.csv": csv_rows(30)})

    assert done.status_code == 200, done.text
    assert done.json()["version"] == 3
    assert versions_of(client, auth, dataset_id) == (3, [1, 3])


def test_delete_only_version_deletes_dataset(client, auth):
    presign, _ = upload_dataset(client, auth, "one", {"a.csv": csv_rows(5)})
    dataset_id = presign["dataset_id"]

    response = client.delete(
        f"/v1/datasets/{dataset_id}/versions/1", headers=auth
    )
    shown = client.get(f"/v1/datasets/{dataset_id}", headers=auth)

    assert response.status_code == 200
    assert shown.status_code == 404


def test_delete_missing_version_is_404(client, auth):
    dataset_id = two_versions(client, auth)

    response = client.delete(
        f"/v1/datasets/{dataset_id}/versions/7", headers=auth
    )

    assert response.status_code == 404
    assert "no version 7" in response.json()["detail"]


def test_delete_version_in_use_names_the_run(client, auth, bundle):
    dataset_id = two_versions(client, auth)
    run = client.post(
        "/v1/runs",
        headers=auth,
        json={
            "bundle_id": bundle["id"],
            "inputs": [{"dataset_id": dataset_id, "version": 1}],
        },
    ).json()
    client.post(f"/v1/runs/{run['id']}/submit", headers=auth)

    used = client.delete(f"/v1/datasets/{dataset_id}/versions/1", headers=auth)
    unused = client.delete(
        f"/v1/datasets/{dataset_id}/versions/2", headers=auth
    )
    whole = client.delete(f"/v1/datasets/{dataset_id}", headers=auth)

    assert used.status_code == 409
    assert run["id"] in used.json()["detail"]
    assert unused.status_code == 200
    assert whole.status_code == 409


def test_delete_version_of_created_run_is_409(client, auth, bundle):
    # Deleting version 2 and uploading again would give the new file
    # number 2, and the created run would train on it.
    dataset_id = two_versions(client, auth)
    run = client.post(
        "/v1/runs",
        headers=auth,
        json={
            "bundle_id": bundle["id"],
            "inputs": [{"dataset_id": dataset_id, "version": 2}],
        },
    ).json()

    used = client.delete(f"/v1/datasets/{dataset_id}/versions/2", headers=auth)
    whole = client.delete(f"/v1/datasets/{dataset_id}", headers=auth)

    assert run["status"] == "created"
    assert used.status_code == 409
    assert run["id"] in used.json()["detail"]
    assert "created" in used.json()["detail"]
    assert whole.status_code == 409
    assert versions_of(client, auth, dataset_id) == (2, [1, 2])


def test_quota_lists_largest_versions(client, auth, bundle):
    two_versions(client, auth)

    quota = client.get("/v1/storage/quota", headers=auth).json()
    largest = quota["largest"]["datasets"]

    assert [(item["name"], item["version"]) for item in largest] == [
        ("iris", 2),
        ("iris", 1),
    ]
    assert largest[0]["size_bytes"] == len(csv_rows(200))
    assert quota["largest"]["bundles"][0]["id"] == bundle["id"]
