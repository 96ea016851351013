"""A repeated finalize returns what the first one made, never a second one.

The CLI repeats a finalize after a 502, 503 or 504 response, and a
user may rerun an upload whose response was lost.
"""

import hashlib

from tests.orchestrator.conftest import (
    TRAIN_BUNDLE,
    csv_rows,
    tar_gz,
    upload_dataset,
)


def _presign_dataset(client, auth, name):
    presign = client.post(
        "/v1/datasets/presign",
        headers=auth,
        json={"dataset_name": name, "files": [{"path": "a.csv"}]},
    )
    assert presign.status_code == 200, presign.text
    return presign.json()


def _finalize_body(presign, content):
    return {
        "dataset_id": presign["dataset_id"],
        "version": presign["version"],
        "size_bytes": len(content),
        "num_files": 1,
        "files": [
            {
                "path": "a.csv",
                "size_bytes": len(content),
                "sha256": hashlib.sha256(content).hexdigest(),
            }
        ],
    }


def _send_and_finalize(client, auth, presign, content):
    post = presign["presigned"][0]
    sent = client.post(
        post["url"], data=post["fields"], files={"file": ("a", content)}
    )
    assert sent.status_code == 204, sent.text
    body = _finalize_body(presign, content)
    return client.post("/v1/datasets/finalize", headers=auth, json=body)


def _bundle_count(client, auth):
    listed = client.get("/v1/bundles", headers=auth)
    return int(listed.headers["X-Total-Count"])


def _presign_and_put_bundle(client, auth):
    presign = client.post(
        "/v1/storage/presign",
        headers=auth,
        json={"path": "bundles/b.tar.gz"},
    )
    assert presign.status_code == 200, presign.text
    put = client.put(
        presign.json()["presigned_url"], content=tar_gz(TRAIN_BUNDLE)
    )
    assert put.status_code == 200, put.text
    return presign.json()["s3_key"]


def test_bundle_finalize_repeat_returns_same_bundle(client, auth):
    key = _presign_and_put_bundle(client, auth)
    body = {"s3_key": key, "name": "b"}

    first = client.post("/v1/bundles/finalize", headers=auth, json=body)
    again = client.post("/v1/bundles/finalize", headers=auth, json=body)

    assert first.status_code == 200, first.text
    assert again.status_code == 200, again.text
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["version"] == first.json()["version"] == 1
    assert _bundle_count(client, auth) == 1


def test_dataset_finalize_repeat_returns_same_version(client, auth):
    content = csv_rows(5)
    presign = _presign_dataset(client, auth, "rows")
    first = _send_and_finalize(client, auth, presign, content)
    body = _finalize_body(presign, content)

    again = client.post("/v1/datasets/finalize", headers=auth, json=body)

    assert first.status_code == 200, first.text
    assert again.status_code == 200, again.text
    assert again.json()["version"] == first.json()["version"] == 1
    assert again.json()["status"] == "ready"
    assert _versions(client, auth, presign["dataset_id"]) == [1]


def test_dataset_finalize_repeat_finds_shifted_version(client, auth):
    # An abandoned presign keeps reserved number 1, so the upload that
    # reserved 2 is committed as version 1; a later upload reserves 2
    # again and is committed as version 2.
    _presign_dataset(client, auth, "rows")
    first_content, later_content = csv_rows(5), csv_rows(7)
    first = _presign_dataset(client, auth, "rows")
    committed = _send_and_finalize(client, auth, first, first_content)
    later = _presign_dataset(client, auth, "rows")
    later_committed = _send_and_finalize(client, auth, later, later_content)
    body = _finalize_body(first, first_content)

    again = client.post("/v1/datasets/finalize", headers=auth, json=body)

    assert first["version"] == later["version"] == 2
    assert committed.json()["version"] == 1
    assert later_committed.json()["version"] == 2
    assert again.status_code == 200, again.text
    assert again.json()["version"] == 1
    assert _versions(client, auth, first["dataset_id"]) == [1, 2]


def test_dataset_finalize_repeat_of_published_shape(client, auth):
    presign, done = upload_dataset(client, auth, "iris", {"a.csv": b"x\n"})
    body = {
        "dataset_id": presign["dataset_id"],
        "version": presign["version"],
        "size_bytes": 2,
        "num_files": 1,
        "set_current": True,
    }

    again = client.post("/v1/datasets/finalize", headers=auth, json=body)
    other_size = client.post(
        "/v1/datasets/finalize", headers=auth, json={**body, "size_bytes": 3}
    )

    assert again.status_code == 200, again.text
    assert again.json()["version"] == done.json()["version"] == 1
    assert other_size.status_code == 404
    assert other_size.json()["code"] == "not_found"


def test_dataset_finalize_of_other_content_is_404(client, auth):
    content = csv_rows(5)
    presign = _presign_dataset(client, auth, "rows")
    _send_and_finalize(client, auth, presign, content)
    body = _finalize_body(presign, csv_rows(6))

    again = client.post("/v1/datasets/finalize", headers=auth, json=body)

    assert again.status_code == 404
    assert again.json()["code"] == "not_found"
    assert _versions(client, auth, presign["dataset_id"]) == [1]


def _versions(client, auth, dataset_id):
    found = client.get(f"/v1/datasets/{dataset_id}", headers=auth).json()
    return sorted(item["version"] for item in found["versions"])
