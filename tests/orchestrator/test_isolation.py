"""Owners are isolated: another owner's key gets 404 on every endpoint.

The matrix covers every path of /openapi.json that names a resource; a
new endpoint fails test_isolation_matrix_covers_every_endpoint until it
is added here.
"""

import uuid

import pytest
from sqlalchemy import select

from pdtrain_orchestrator import keys
from pdtrain_orchestrator.models import ApiKey
from tests.orchestrator.conftest import make_key

# (method, path template, JSON body) for every request on one resource.
MATRIX = [
    ("GET", "/v1/bundles/{bundle}", None),
    ("DELETE", "/v1/bundles/{bundle}", None),
    ("GET", "/v1/datasets/{dataset}", None),
    ("DELETE", "/v1/datasets/{dataset}", None),
    ("DELETE", "/v1/datasets/{dataset}/versions/1", None),
    ("GET", "/v1/datasets/{dataset}/versions/1/download", None),
    ("GET", "/v1/datasets/{dataset}/download", None),
    ("GET", "/v1/runs/{run}", None),
    ("POST", "/v1/runs/{run}/submit", None),
    ("POST", "/v1/runs/{run}/stop", None),
    ("POST", "/v1/runs/{run}/refresh", None),
    ("GET", "/v1/runs/{run}/logs", None),
    ("GET", "/v1/runs/{run}/logs/stream", None),
    ("GET", "/v1/runs/{run}/artifacts", None),
    (
        "POST",
        "/v1/runs/{run}/artifacts/files",
        {"artifact": "model.tar.gz", "paths": ["model.txt"]},
    ),
    ("GET", "/v1/storage/multipart/{upload}", None),
    ("POST", "/v1/storage/multipart/{upload}/parts", {"part_numbers": [1]}),
    (
        "POST",
        "/v1/storage/multipart/{upload}/complete",
        {"parts": [{"part_number": 1, "etag": "x"}]},
    ),
    ("DELETE", "/v1/storage/multipart/{upload}", None),
    ("POST", "/v1/runs", {"bundle_id": "{bundle}"}),
    (
        "POST",
        "/v1/runs",
        {"bundle_id": "{bundle}", "inputs": [{"dataset_id": "{dataset}"}]},
    ),
    ("POST", "/v1/bundles/finalize", {"s3_key": "{bundle_key}"}),
    (
        "POST",
        "/v1/datasets/finalize",
        {"dataset_id": "{pending_dataset}", "version": 1},
    ),
]
# Paths that name no owned resource: lists, presigns, quota, health, the
# signed object URLs (checked in test_signed_urls.py) and the cached
# environments, which every owner of a server shares by design.
NOT_OWNED = {
    "/v1/capabilities",
    "/v1/health",
    "/v1/bundles/presign",
    "/v1/storage/presign",
    "/v1/quota",
    "/v1/storage/quota",
    "/v1/storage/multipart",
    "/v1/objects/{key}",
    "/v1/objects",
    "/v1/bundles",
    "/v1/datasets",
    "/v1/datasets/presign",
    "/v1/runs",
    "/v1/envs",
    "/v1/envs/{env_id}",
    "/v1/bundles/finalize",
    "/v1/datasets/finalize",
}


def _template(path: str) -> str:
    for name in ("bundle", "dataset", "run", "upload"):
        path = path.replace("{" + name + "}", "{x}")
    return path


def test_isolation_matrix_covers_every_endpoint(app, client):
    covered = {_template(path) for _, path, _ in MATRIX}
    for path in app.openapi()["paths"]:
        if path in NOT_OWNED:
            continue
        generic = path
        for name in ("bundle_id", "dataset_id", "run_id", "upload_id"):
            generic = generic.replace("{" + name + "}", "{x}")
        generic = generic.replace("{version}", "1")
        assert generic in covered, f"{path} is missing from the matrix"


@pytest.fixture
def owned(app, client, auth, bundle, dataset):
    """Alice's resources: every id a request of the matrix names."""
    run = client.post(
        "/v1/runs",
        headers=auth,
        json={
            "bundle_id": bundle["id"],
            "inputs": [{"dataset_id": dataset["id"]}],
        },
    ).json()
    app.state.executor.events.log(run["id"], "stdout", "secret line", 1)
    presign = client.post(
        "/v1/storage/presign",
        headers=auth,
        json={"path": "bundles/big.tar.gz"},
    ).json()
    upload = client.post(
        "/v1/storage/multipart",
        headers=auth,
        json={"s3_key": presign["s3_key"], "size_bytes": 10},
    )
    assert upload.status_code == 200, upload.text
    pending = client.post(
        "/v1/datasets/presign",
        headers=auth,
        json={"dataset_name": "pending", "files": [{"path": "a.csv"}]},
    ).json()
    return {
        "bundle": bundle["id"],
        "bundle_key": bundle["s3_key"],
        "dataset": dataset["id"],
        "pending_dataset": pending["dataset_id"],
        "run": run["id"],
        "upload": upload.json()["upload_id"],
    }


def _fill(value, ids):
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, dict):
        return {key: _fill(item, ids) for key, item in value.items()}
    if isinstance(value, list):
        return [_fill(item, ids) for item in value]
    return value


def _request(client, headers, method, path, body, ids):
    return client.request(
        method, _fill(path, ids), headers=headers, json=_fill(body, ids)
    )


@pytest.mark.parametrize(("method", "path", "body"), MATRIX)
def test_other_owner_gets_404(
    client, auth, other_auth, owned, method, path, body
):
    response = _request(client, other_auth, method, path, body, owned)

    assert response.status_code == 404, response.text
    assert response.json()["code"] == "not_found"
    # The resource is untouched for its owner.
    for name, kind in (("bundle", "bundles"), ("dataset", "datasets")):
        shown = client.get(f"/v1/{kind}/{owned[name]}", headers=auth)
        assert shown.status_code == 200, shown.text
    run = client.get(f"/v1/runs/{owned['run']}", headers=auth).json()
    assert run["status"] == "created"


@pytest.mark.parametrize(("method", "path", "body"), MATRIX)
def test_guessed_id_gets_404(client, other_auth, owned, method, path, body):
    guessed = {name: uuid.uuid4().hex for name in owned}
    guessed["bundle_key"] = f"bob/bundles/{uuid.uuid4().hex}/x.tar.gz"
    response = _request(client, other_auth, method, path, body, guessed)

    assert response.status_code == 404, response.text


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/v1/bundles", {}),
        ("/v1/bundles", {"name": "demo"}),
        ("/v1/runs", {}),
        ("/v1/runs", {"status": "created"}),
        ("/v1/datasets", {}),
        ("/v1/datasets", {"name": "iris"}),
    ],
)
def test_other_owner_lists_nothing(client, other_auth, owned, path, params):
    response = client.get(path, headers=other_auth, params=params)

    assert response.status_code == 200, response.text
    body = response.json()
    items = body["items"] if isinstance(body, dict) else body
    assert items == []
    if "X-Total-Count" in response.headers:
        assert response.headers["X-Total-Count"] == "0"


def test_other_owner_quota_excludes_first_owner(client, other_auth, owned):
    quota = client.get("/v1/storage/quota", headers=other_auth).json()

    assert quota["bundles"]["current_count"] == 0
    assert quota["datasets"]["current_count"] == 0


def test_same_name_is_separate_per_owner(app, client, auth, other_auth):
    for headers in (auth, other_auth):
        response = client.post(
            "/v1/datasets/presign",
            headers=headers,
            json={"dataset_name": "shared", "files": [{"path": "a.csv"}]},
        )
        assert response.status_code == 200, response.text
    first, second = (
        client.get("/v1/datasets", headers=h) for h in (auth, other_auth)
    )
    assert first.json()["total"] == second.json()["total"] == 0


def test_api_keys_are_stored_hashed(app, client):
    key = make_key(app, "carol")
    with app.state.sessionmaker() as session:
        stored = session.scalars(select(ApiKey.key_sha256)).all()

    assert key not in stored
    assert keys.hash_key(key) in stored
    db_file = app.state.settings.home / "orchestrator.db"
    if db_file.exists():
        assert key.encode() not in db_file.read_bytes()


def test_revoked_key_gets_401(app, client):
    key = make_key(app, "dave")
    headers = {"Authorization": f"Bearer {key}"}
    assert client.get("/v1/runs", headers=headers).status_code == 200

    with app.state.sessionmaker() as session:
        assert keys.revoke(session, key=key) == 1

    response = client.get("/v1/runs", headers=headers)
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"


def test_revoke_by_owner_keeps_other_owners(app, client, auth):
    key = make_key(app, "erin")
    with app.state.sessionmaker() as session:
        assert keys.revoke(session, owner="erin") == 1

    revoked = {"Authorization": f"Bearer {key}"}
    assert client.get("/v1/runs", headers=revoked).status_code == 401
    assert client.get("/v1/runs", headers=auth).status_code == 200


@pytest.mark.parametrize(
    "header",
    [
        "Bearer",
        "Bearer ",
        "Basic abc",
        "bearer pdt_" + "x" * 43,
        "Bearer " + "x" * 10000,
    ],
)
def test_malformed_keys_get_401(client, header):
    response = client.get("/v1/runs", headers={"Authorization": header})

    assert response.status_code == 401, response.text
    assert response.json()["code"] == "unauthorized"
