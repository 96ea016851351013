"""Multipart uploads, ranged downloads and unsafe archives on the server."""

import hashlib
import io
import os
import tarfile
import time

import pytest

from pdtrain_orchestrator.multipart_uploads import (
    MAX_PARTS,
    MIN_PART_SIZE,
    choose_part_size,
)
from tests.orchestrator.conftest import TRAIN_BUNDLE, tar_gz, upload_dataset

PART = MIN_PART_SIZE


def presign_bundle(client, auth, file_name="big.tar.gz"):
    response = client.post(
        "/v1/storage/presign",
        headers=auth,
        json={"path": f"bundles/{file_name}"},
    )
    assert response.status_code == 200, response.text
    return response.json()["s3_key"]


def start(client, auth, key, size, part_size=PART):
    return client.post(
        "/v1/storage/multipart",
        headers=auth,
        json={"s3_key": key, "size_bytes": size, "part_size": part_size},
    )


def part_urls(client, auth, upload_id, numbers):
    response = client.post(
        f"/v1/storage/multipart/{upload_id}/parts",
        headers=auth,
        json={"part_numbers": numbers},
    )
    assert response.status_code == 200, response.text
    return {p["part_number"]: p["url"] for p in response.json()["parts"]}


def put_parts(client, urls, data, numbers):
    etags = {}
    for number in numbers:
        chunk = data[(number - 1) * PART : number * PART]
        response = client.put(urls[number], content=chunk)
        assert response.status_code == 200, response.text
        etags[number] = response.headers["etag"]
    return etags


def complete(client, auth, upload_id, etags):
    parts = [{"part_number": n, "etag": etags[n]} for n in sorted(etags)]
    return client.post(
        f"/v1/storage/multipart/{upload_id}/complete",
        headers=auth,
        json={"parts": parts},
    )


@pytest.fixture
def bundle_bytes():
    """A valid bundle archive of a little over two parts."""
    files = dict(TRAIN_BUNDLE, **{"weights.bin": os.urandom(2 * PART)})
    return tar_gz(files)


def test_multipart_bundle_upload_in_any_order(client, auth, bundle_bytes):
    key = presign_bundle(client, auth)
    upload = start(client, auth, key, len(bundle_bytes)).json()
    urls = part_urls(client, auth, upload["upload_id"], [3, 1, 2])

    etags = put_parts(client, urls, bundle_bytes, [3, 1, 2])
    listed = client.get(
        f"/v1/storage/multipart/{upload['upload_id']}", headers=auth
    ).json()
    done = complete(client, auth, upload["upload_id"], etags)
    again = complete(client, auth, upload["upload_id"], etags)
    bundle = client.post(
        "/v1/bundles/finalize",
        headers=auth,
        json={
            "s3_key": key,
            "sha256": hashlib.sha256(bundle_bytes).hexdigest(),
        },
    )

    assert upload["part_count"] == 3
    assert [p["part_number"] for p in listed["parts"]] == [1, 2, 3]
    assert done.json()["status"] == "completed"
    assert again.status_code == 200
    assert bundle.status_code == 200, bundle.text
    assert bundle.json()["size_bytes"] == len(bundle_bytes)


def test_multipart_complete_needs_every_part(client, auth, bundle_bytes):
    key = presign_bundle(client, auth)
    upload = start(client, auth, key, len(bundle_bytes)).json()
    urls = part_urls(client, auth, upload["upload_id"], [1, 2, 3])
    etags = put_parts(client, urls, bundle_bytes, [1, 3])

    early = complete(client, auth, upload["upload_id"], etags)
    etags.update(put_parts(client, urls, bundle_bytes, [2]))
    late = complete(client, auth, upload["upload_id"], etags)

    assert early.status_code == 422
    assert "1 to 3" in early.json()["detail"]
    assert late.status_code == 200, late.text


def test_multipart_part_of_wrong_size_is_rejected(client, auth, bundle_bytes):
    key = presign_bundle(client, auth)
    upload = start(client, auth, key, len(bundle_bytes)).json()
    urls = part_urls(client, auth, upload["upload_id"], [1])

    response = client.put(urls[1], content=b"short")
    listed = client.get(
        f"/v1/storage/multipart/{upload['upload_id']}", headers=auth
    ).json()

    assert response.status_code == 422
    assert f"must have {PART} bytes" in response.json()["detail"]
    assert listed["parts"] == []


def test_multipart_rejects_unknown_part_number(client, auth, bundle_bytes):
    key = presign_bundle(client, auth)
    upload = start(client, auth, key, len(bundle_bytes)).json()

    response = client.post(
        f"/v1/storage/multipart/{upload['upload_id']}/parts",
        headers=auth,
        json={"part_numbers": [4]},
    )

    assert response.status_code == 422
    assert "outside 1 to 3" in response.json()["detail"]


def test_multipart_part_url_expires(client, auth, app, bundle_bytes):
    app.state.settings.url_expiry_seconds = 1
    key = presign_bundle(client, auth)
    upload = start(client, auth, key, len(bundle_bytes)).json()
    urls = part_urls(client, auth, upload["upload_id"], [1])
    time.sleep(2.1)

    response = client.put(urls[1], content=bundle_bytes[:PART])

    assert response.status_code == 403
    assert "expired" in response.json()["detail"]


def test_multipart_tampered_part_url_is_forbidden(client, auth, bundle_bytes):
    key = presign_bundle(client, auth)
    upload = start(client, auth, key, len(bundle_bytes)).json()
    url = part_urls(client, auth, upload["upload_id"], [1])[1]

    response = client.put(
        url.replace("partNumber=1", "partNumber=2"), content=b"x" * PART
    )

    assert response.status_code == 403


def test_multipart_of_another_owner_is_not_found(
    client, auth, other_auth, bundle_bytes
):
    key = presign_bundle(client, auth)
    upload = start(client, auth, key, len(bundle_bytes)).json()

    seen = client.get(
        f"/v1/storage/multipart/{upload['upload_id']}", headers=other_auth
    )
    started = start(client, other_auth, key, len(bundle_bytes))

    assert seen.status_code == 404
    assert started.status_code == 404


def test_multipart_needs_a_presigned_dataset_key(client, auth):
    response = start(client, auth, "alice/datasets/x/y/z.csv", 10 * PART)

    assert response.status_code == 404
    assert "presign" in response.json()["detail"]


def test_multipart_refuses_bundle_over_limit_before_upload(client, auth):
    key = presign_bundle(client, auth)

    response = start(client, auth, key, 600 * 1024 * 1024)

    assert response.status_code == 413
    assert "500" in response.json()["detail"]


def test_multipart_abort_drops_parts(client, auth, settings, bundle_bytes):
    key = presign_bundle(client, auth)
    upload = start(client, auth, key, len(bundle_bytes)).json()
    urls = part_urls(client, auth, upload["upload_id"], [1])
    put_parts(client, urls, bundle_bytes, [1])

    aborted = client.delete(
        f"/v1/storage/multipart/{upload['upload_id']}", headers=auth
    )
    listed = client.get(
        f"/v1/storage/multipart/{upload['upload_id']}", headers=auth
    )

    assert aborted.status_code == 204
    assert listed.status_code == 404
    assert list((settings.home / "multipart").iterdir()) == []


def test_choose_part_size_fits_fifty_gib_in_part_limit():
    size = 50 * 1024**3

    part_size = choose_part_size(size, 16 * 1024**2)

    assert -(-size // part_size) <= MAX_PARTS
    assert choose_part_size(10, 1) == MIN_PART_SIZE


def test_object_get_serves_ranges(client, auth):
    content = os.urandom(5000)
    presign, _ = upload_dataset(client, auth, "blob", {"blob.bin": content})
    url = client.get(
        f"/v1/datasets/{presign['dataset_id']}/versions/1/download",
        headers=auth,
    ).json()["files"][0]["download_url"]

    middle = client.get(url, headers={"Range": "bytes=100-199"})
    suffix = client.get(url, headers={"Range": "bytes=-10"})
    past = client.get(url, headers={"Range": "bytes=5000-"})
    head = client.head(url)

    assert middle.status_code == 206
    assert middle.headers["content-range"] == "bytes 100-199/5000"
    assert middle.content == content[100:200]
    assert suffix.content == content[-10:]
    assert past.status_code == 416
    assert past.headers["content-range"] == "bytes */5000"
    assert head.headers["content-length"] == "5000"
    assert head.content == b""


def tar_with_link(target: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("data.csv")
        info.size = 4
        tar.addfile(info, io.BytesIO(b"a,b\n"))
        link = tarfile.TarInfo("escape")
        link.type = tarfile.SYMTYPE
        link.linkname = target
        tar.addfile(link)
    return buffer.getvalue()


def test_dataset_archive_with_escaping_link_is_rejected(client, auth):
    _, done = upload_dataset(
        client,
        auth,
        "linked",
        {"linked.tar.gz": tar_with_link("../../etc/passwd")},
        archive="directory",
    )
    listed = client.get("/v1/datasets", headers=auth).json()

    assert done.status_code == 200, done.text
    assert done.json()["status"] == "failed"
    assert done.json()["version"] is None
    assert "'escape'" in " ".join(done.json()["validation"]["errors"])
    assert listed["items"] == []


def test_capabilities_offer_multipart(client):
    found = client.get("/v1/capabilities").json()["capabilities"]

    assert "multipart" in found
    assert "dataset_version_delete" in found
