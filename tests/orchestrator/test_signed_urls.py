"""Signed object URLs allow one method on one key until they expire."""

import time
import urllib.parse

import pytest

from tests.orchestrator.conftest import tar_gz


def _split(url):
    parts = urllib.parse.urlsplit(url)
    query = dict(urllib.parse.parse_qsl(parts.query))
    return parts.path, query


def _join(path, query):
    return f"{path}?{urllib.parse.urlencode(query)}"


@pytest.fixture
def download(client, auth, dataset):
    """A signed GET URL of alice's dataset file, split into its parts."""
    body = client.get(
        f"/v1/datasets/{dataset['id']}/download", headers=auth
    ).json()
    return _split(body["files"][0]["download_url"])


def test_signed_get_serves_object(client, download):
    path, query = download
    response = client.get(_join(path, query))

    assert response.status_code == 200
    assert response.content.startswith(b"x,y,label")


@pytest.mark.parametrize(
    "change",
    [
        {"signature": "0" * 64},
        {"signature": ""},
        {"expires": "9999999999"},
        {"expires": "not-a-number"},
    ],
)
def test_tampered_query_is_403(client, download, change):
    path, query = download
    response = client.get(_join(path, {**query, **change}))

    assert response.status_code == 403, response.text
    assert response.json()["code"] == "forbidden"


def test_missing_signature_is_403(client, download):
    path, _ = download
    assert client.get(path).status_code == 403


def test_signature_is_scoped_to_one_key(client, auth, download):
    path, query = download
    other_key = path.rsplit("/", 1)[0] + "/other.csv"
    response = client.get(_join(other_key, query))

    assert response.status_code == 403, response.text


def test_signature_is_scoped_to_one_method(client, download):
    path, query = download
    put = client.put(_join(path, query), content=b"overwritten")

    assert put.status_code == 403, put.text
    again = client.get(_join(path, query))
    assert again.content.startswith(b"x,y,label")


def test_expired_url_is_403(app, client, download):
    path, query = download
    store = app.state.store
    key = urllib.parse.unquote(path[len("/v1/objects/") :])
    past = int(time.time()) - 1
    expired = {
        "expires": str(past),
        "signature": store.signature("GET", key, past),
    }
    response = client.get(_join(path, expired))

    assert response.status_code == 403, response.text
    assert "expired" in response.json()["detail"]


def test_signed_put_cannot_write_another_key(client, auth):
    presign = client.post(
        "/v1/storage/presign",
        headers=auth,
        json={"path": "bundles/a.tar.gz", "expires_in": 60},
    ).json()
    path, query = _split(presign["presigned_url"])
    other = path.replace("a.tar.gz", "b.tar.gz")
    response = client.put(_join(other, query), content=tar_gz({"x": b"1"}))

    assert response.status_code == 403, response.text


def test_presigned_post_key_cannot_be_swapped(client, auth):
    presign = client.post(
        "/v1/datasets/presign",
        headers=auth,
        json={"dataset_name": "iris", "files": [{"path": "a.csv"}]},
    ).json()
    post = presign["presigned"][0]
    fields = dict(post["fields"], key=post["fields"]["key"] + ".evil")
    response = client.post(
        post["url"], data=fields, files={"file": ("a.csv", b"1\n")}
    )

    assert response.status_code == 403, response.text


def test_presign_expiry_is_capped(client, auth, settings):
    response = client.post(
        "/v1/storage/presign",
        headers=auth,
        json={"path": "bundles/a.tar.gz", "expires_in": 10**9},
    )
    if response.status_code == 200:
        _, query = _split(response.json()["presigned_url"])
        lifetime = int(query["expires"]) - time.time()
        assert lifetime <= settings.max_url_expiry_seconds + 5
    else:
        assert response.status_code == 422, response.text
