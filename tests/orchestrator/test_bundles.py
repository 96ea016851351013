import hashlib
import io
import os
import tarfile

from pdtrain_orchestrator.models import Bundle
from tests.orchestrator.conftest import TRAIN_BUNDLE, tar_gz, upload_bundle


def _objects(settings):
    return [p for p in settings.objects_dir.rglob("*") if p.is_file()]


def _bundle_rows(app):
    with app.state.sessionmaker() as session:
        return session.query(Bundle).count()


def test_bundle_upload_roundtrip_records_contents(client, auth):
    data = tar_gz(TRAIN_BUNDLE)
    digest = hashlib.sha256(data).hexdigest()

    response = upload_bundle(
        client, auth, data, sha256=digest, size_bytes=len(data)
    )

    assert response.status_code == 200, response.text
    bundle = response.json()
    assert bundle["name"] == "demo"
    assert bundle["version"] == 1
    assert bundle["validation_status"] == "ready"
    assert bundle["has_requirements_txt"] is True
    assert bundle["entry_point_verified"] is True
    assert bundle["total_files"] == 2
    assert bundle["size_bytes"] == len(data)
    assert bundle["sha256"] == digest
    assert bundle["validation_errors"] == []


def test_bundle_same_name_gets_next_version(client, auth):
    first = upload_bundle(client, auth, tar_gz(TRAIN_BUNDLE)).json()
    second = upload_bundle(client, auth, tar_gz(TRAIN_BUNDLE)).json()

    assert first["version"] == 1
    assert second["version"] == 2
    assert first["id"] != second["id"]


def test_bundle_finalize_with_explicit_name(client, auth):
    response = upload_bundle(client, auth, tar_gz(TRAIN_BUNDLE), name="mnist")

    assert response.json()["name"] == "mnist"


def test_bundle_finalize_rejects_bad_checksum(client, auth, app, settings):
    response = upload_bundle(
        client, auth, tar_gz(TRAIN_BUNDLE), sha256="0" * 64
    )

    assert response.status_code == 422
    assert response.json()["code"] == "invalid"
    assert "sha256 mismatch" in response.json()["detail"]
    assert _bundle_rows(app) == 0
    assert _objects(settings) == []


def test_bundle_finalize_rejects_size_mismatch(client, auth, app):
    response = upload_bundle(client, auth, tar_gz(TRAIN_BUNDLE), size_bytes=1)

    assert response.status_code == 422
    assert "size mismatch" in response.json()["detail"]
    assert _bundle_rows(app) == 0


def test_bundle_finalize_rejects_plain_file(client, auth, app, settings):
    response = upload_bundle(
        client, auth, b"print('hello')\n", file_name="train.py"
    )

    assert response.status_code == 422
    assert "tar archive" in response.json()["detail"]
    assert _bundle_rows(app) == 0
    assert _objects(settings) == []


def test_bundle_finalize_rejects_escaping_member(client, auth, app, settings):
    data = tar_gz({"train.py": b"", "../evil.py": b"boom"})

    response = upload_bundle(client, auth, data)

    assert response.status_code == 422
    assert "outside" in response.json()["detail"]
    assert _bundle_rows(app) == 0
    assert _objects(settings) == []
    assert not (settings.home / "evil.py").exists()


def test_bundle_finalize_rejects_symlink_member(client, auth, app):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        link = tarfile.TarInfo("train.py")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        tar.addfile(link)

    response = upload_bundle(client, auth, buffer.getvalue())

    assert response.status_code == 422
    assert "link" in response.json()["detail"]
    assert _bundle_rows(app) == 0


def test_bundle_finalize_rejects_empty_archive(client, auth):
    response = upload_bundle(client, auth, tar_gz({}))

    assert response.status_code == 422
    assert "no files" in response.json()["detail"]


def test_bundle_missing_entry_point_is_a_warning(client, auth):
    data = tar_gz({"project/train.py": b"", "project/util.py": b""})

    bundle = upload_bundle(client, auth, data).json()

    assert bundle["entry_point_verified"] is False
    assert bundle["validation_status"] == "ready"
    assert "project/" in bundle["validation_warnings"][0]


def test_bundle_custom_entry_is_verified(client, auth):
    data = tar_gz({"src/main.py": b""})

    bundle = upload_bundle(client, auth, data, entry="src/main.py").json()

    assert bundle["entry_point"] == "src/main.py"
    assert bundle["entry_point_verified"] is True


def test_bundle_finalize_twice_returns_same_bundle(client, auth):
    presign = client.post(
        "/v1/bundles/presign", headers=auth, json={"path": "bundles/a.tar.gz"}
    ).json()
    client.put(presign["presigned_url"], content=tar_gz(TRAIN_BUNDLE))
    body = {"s3_key": presign["s3_key"]}

    first = client.post("/v1/bundles/finalize", headers=auth, json=body)
    second = client.post("/v1/bundles/finalize", headers=auth, json=body)

    assert first.status_code == 200
    assert second.json()["id"] == first.json()["id"]


def test_bundle_finalize_without_upload_is_404(client, auth):
    presign = client.post(
        "/v1/storage/presign", headers=auth, json={"path": "bundles/a.tar.gz"}
    ).json()

    response = client.post(
        "/v1/bundles/finalize",
        headers=auth,
        json={"s3_key": presign["s3_key"]},
    )

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_bundle_presign_rejects_bad_paths(client, auth):
    for path in ("data/a.tar.gz", "bundles/../x.tar.gz", "bundles/"):
        response = client.post(
            "/v1/storage/presign", headers=auth, json={"path": path}
        )

        assert response.status_code == 422, path
        assert response.json()["code"] == "invalid"


def test_bundle_presign_rejects_other_operations(client, auth):
    response = client.post(
        "/v1/storage/presign",
        headers=auth,
        json={"operation": "get_object", "path": "bundles/a.tar.gz"},
    )

    assert response.status_code == 422
    assert "get_object" in response.json()["detail"]


def test_bundle_key_is_under_owner_prefix(client, auth):
    presign = client.post(
        "/v1/storage/presign", headers=auth, json={"path": "bundles/a.tar.gz"}
    ).json()

    assert presign["s3_key"].startswith("alice/bundles/")
    assert presign["s3_key"].endswith("/a.tar.gz")


def test_bundle_list_filters_and_counts(client, auth):
    upload_bundle(client, auth, tar_gz(TRAIN_BUNDLE), name="a")
    upload_bundle(client, auth, tar_gz(TRAIN_BUNDLE), name="a")
    upload_bundle(client, auth, tar_gz(TRAIN_BUNDLE), name="b")

    everything = client.get("/v1/bundles", headers=auth)
    only_a = client.get("/v1/bundles?name=a&limit=1", headers=auth)

    assert everything.headers["X-Total-Count"] == "3"
    assert len(everything.json()) == 3
    assert only_a.headers["X-Total-Count"] == "2"
    assert [b["name"] for b in only_a.json()] == ["a"]
    assert only_a.json()[0]["version"] == 2


def test_bundle_put_over_size_limit_is_rejected(client, auth, settings):
    settings.max_single_bundle_size_mb = 0.001
    presign = client.post(
        "/v1/storage/presign", headers=auth, json={"path": "bundles/a.tar.gz"}
    ).json()

    response = client.put(presign["presigned_url"], content=os.urandom(4096))

    assert response.status_code == 413
    assert response.json()["code"] == "quota_exceeded"
    assert _objects(settings) == []


def test_bundle_over_count_limit_is_rejected(client, auth, settings, app):
    settings.max_bundle_count = 1
    upload_bundle(client, auth, tar_gz(TRAIN_BUNDLE))

    response = upload_bundle(client, auth, tar_gz(TRAIN_BUNDLE))

    assert response.status_code == 413
    assert "count limit" in response.json()["detail"]
    assert _bundle_rows(app) == 1
