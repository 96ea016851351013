"""S3 storage behind the API: bytes go to S3 itself, finalize checks S3."""

import hashlib
import os

import pytest
import requests
from fastapi.testclient import TestClient

from pdtrain_orchestrator import keys
from pdtrain_orchestrator.app import create_app
from pdtrain_orchestrator.backend_settings import S3Settings
from pdtrain_orchestrator.settings import Settings
from tests.aws.conftest import BUCKET, REGION, client
from tests.orchestrator.conftest import (
    TRAIN_BUNDLE,
    RecordingExecutor,
    csv_rows,
    tar_gz,
)

PREFIX = "pdtrain/"


@pytest.fixture
def app(moto, tmp_path):
    settings = Settings(
        home=tmp_path / "home",
        storage_backend="s3",
        s3=S3Settings(
            bucket=BUCKET, prefix=PREFIX, region=REGION, endpoint_url=moto
        ),
    )
    return create_app(settings, executor_factory=RecordingExecutor)


@pytest.fixture
def api(app):
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def auth(app, api):
    with app.state.sessionmaker() as session:
        key = keys.create_key(session, "alice")
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def s3(moto):
    return client("s3", moto)


def _presign_bundle(api, auth):
    response = api.post(
        "/v1/storage/presign",
        headers=auth,
        json={"operation": "put_object", "path": "bundles/demo.tar.gz"},
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_s3_bundle_goes_to_s3_and_finalizes(api, auth, s3, moto):
    data = tar_gz(TRAIN_BUNDLE)
    presign = _presign_bundle(api, auth)

    put = requests.put(presign["presigned_url"], data=data, timeout=10)
    done = api.post(
        "/v1/bundles/finalize",
        headers=auth,
        json={
            "s3_key": presign["s3_key"],
            "size_bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
        },
    )
    stored = s3.get_object(Bucket=BUCKET, Key=PREFIX + presign["s3_key"])

    assert presign["presigned_url"].startswith(moto)
    assert put.status_code == 200
    assert done.status_code == 200, done.text
    assert done.json()["entry_point_verified"] is True
    assert stored["Body"].read() == data


def test_s3_bundle_delete_removes_the_object(api, auth, s3):
    presign = _presign_bundle(api, auth)
    data = tar_gz(TRAIN_BUNDLE)
    requests.put(presign["presigned_url"], data=data, timeout=10)
    bundle = api.post(
        "/v1/bundles/finalize",
        headers=auth,
        json={"s3_key": presign["s3_key"]},
    ).json()

    deleted = api.delete(f"/v1/bundles/{bundle['id']}", headers=auth)
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=PREFIX)

    assert deleted.status_code == 200, deleted.text
    assert listed.get("KeyCount", 0) == 0
    assert api.get("/v1/bundles", headers=auth).json() == []


def test_s3_finalize_rejects_sha256_mismatch(api, auth, s3):
    data = tar_gz(TRAIN_BUNDLE)
    presign = _presign_bundle(api, auth)
    requests.put(presign["presigned_url"], data=data, timeout=10)

    done = api.post(
        "/v1/bundles/finalize",
        headers=auth,
        json={"s3_key": presign["s3_key"], "sha256": "0" * 64},
    )
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=PREFIX)

    assert done.status_code == 422
    assert "sha256 mismatch" in done.json()["detail"]
    assert listed.get("KeyCount", 0) == 0
    assert api.get("/v1/bundles", headers=auth).json() == []


def test_s3_finalize_rejects_size_mismatch(api, auth):
    presign = _presign_bundle(api, auth)
    requests.put(presign["presigned_url"], data=b"x" * 10, timeout=10)

    done = api.post(
        "/v1/bundles/finalize",
        headers=auth,
        json={"s3_key": presign["s3_key"], "size_bytes": 11},
    )

    assert done.status_code == 422
    assert "size mismatch" in done.json()["detail"]


def _upload_dataset(api, auth, content):
    presign = api.post(
        "/v1/datasets/presign",
        headers=auth,
        json={
            "dataset_name": "iris",
            "files": [{"path": "iris.csv", "content_type": "text/csv"}],
        },
    ).json()
    (post,) = presign["presigned"]
    sent = requests.post(
        post["url"],
        data=post["fields"],
        files={"file": ("iris.csv", content)},
        timeout=10,
    )
    done = api.post(
        "/v1/datasets/finalize",
        headers=auth,
        json={
            "dataset_id": presign["dataset_id"],
            "version": presign["version"],
            "files": [
                {
                    "path": "iris.csv",
                    "size_bytes": len(content),
                    "sha256": hashlib.sha256(content).hexdigest(),
                }
            ],
        },
    )
    return presign, post, sent, done


def test_s3_dataset_uses_presigned_post_and_get(api, auth, moto):
    content = csv_rows(20)

    presign, post, sent, done = _upload_dataset(api, auth, content)
    download = api.get(
        f"/v1/datasets/{presign['dataset_id']}/download", headers=auth
    ).json()
    url = download["files"][0]["download_url"]
    ranged = requests.get(url, headers={"Range": "bytes=0-8"}, timeout=10)

    assert post["url"] == f"{moto}/{BUCKET}"
    assert "policy" in post["fields"]
    assert sent.status_code == 204
    assert done.status_code == 200, done.text
    assert done.json()["validation"]["metadata"]["row_count"] == 20
    assert url.startswith(moto)
    assert ranged.status_code == 206
    assert ranged.content == content[:9]


def test_s3_store_refuses_orchestrator_object_urls(api):
    response = api.put("/v1/objects/alice/bundles/x/demo.tar.gz", content=b"x")

    assert response.status_code == 403
    assert "S3" in response.json()["detail"]


def test_s3_multipart_parts_go_to_s3(api, auth, s3):
    presign = _presign_bundle(api, auth)
    data = tar_gz({"train.py": b"print(1)\n", "blob.bin": os.urandom(6 << 20)})
    created = api.post(
        "/v1/storage/multipart",
        headers=auth,
        json={
            "s3_key": presign["s3_key"],
            "size_bytes": len(data),
            "part_size": 5 << 20,
        },
    ).json()
    numbers = list(range(1, created["part_count"] + 1))
    urls = api.post(
        f"/v1/storage/multipart/{created['upload_id']}/parts",
        headers=auth,
        json={"part_numbers": numbers},
    ).json()["parts"]

    parts = []
    for part in urls:
        start = (part["part_number"] - 1) * created["part_size"]
        chunk = data[start : start + part["size_bytes"]]
        put = requests.put(part["url"], data=chunk, timeout=30)
        parts.append(
            {"part_number": part["part_number"], "etag": put.headers["ETag"]}
        )
    completed = api.post(
        f"/v1/storage/multipart/{created['upload_id']}/complete",
        headers=auth,
        json={"parts": parts},
    )
    stored = s3.get_object(Bucket=BUCKET, Key=PREFIX + presign["s3_key"])

    assert created["part_count"] == 2
    assert completed.status_code == 200, completed.text
    assert stored["Body"].read() == data
