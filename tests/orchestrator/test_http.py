import pytest


def test_auth_missing_key_is_401(client):
    response = client.get("/v1/runs")

    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"
    assert "Authorization: Bearer" in response.json()["detail"]
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_auth_wrong_key_is_401(client):
    response = client.get(
        "/v1/bundles", headers={"Authorization": "Bearer pdt_nope"}
    )

    assert response.status_code == 401
    assert response.json() == {
        "detail": "invalid API key",
        "code": "unauthorized",
    }


def test_auth_other_owner_gets_404(client, auth, other_auth, bundle, dataset):
    run = client.post(
        "/v1/runs", headers=auth, json={"bundle_id": bundle["id"]}
    ).json()
    paths = [
        f"/v1/bundles/{bundle['id']}",
        f"/v1/datasets/{dataset['id']}",
        f"/v1/datasets/{dataset['id']}/download",
        f"/v1/runs/{run['id']}",
        f"/v1/runs/{run['id']}/logs",
        f"/v1/runs/{run['id']}/artifacts",
    ]

    for path in paths:
        response = client.get(path, headers=other_auth)
        assert response.status_code == 404, path
        assert response.json()["code"] == "not_found"
    assert client.get("/v1/bundles", headers=other_auth).json() == []
    assert (
        client.post(
            f"/v1/runs/{run['id']}/stop", headers=other_auth
        ).status_code
        == 404
    )
    assert (
        client.post(
            "/v1/runs", headers=other_auth, json={"bundle_id": bundle["id"]}
        ).status_code
        == 404
    )


@pytest.mark.parametrize(
    "path",
    [
        "/v1/runs/",
        "/v1/bundles/",
        "/v1/datasets/",
        "/v1/storage/quota/",
        "/v1/quota/",
        "/v1/capabilities/",
    ],
)
def test_trailing_slash_alias_is_served(client, auth, path):
    with_slash = client.get(path, headers=auth, follow_redirects=False)
    without = client.get(path.rstrip("/"), headers=auth)

    assert with_slash.status_code == 200
    assert with_slash.json() == without.json()


def test_trailing_slash_post_keeps_body(client, auth):
    response = client.post(
        "/v1/bundles/presign/", headers=auth, json={"path": "bundles/a.tar.gz"}
    )

    assert response.status_code == 200
    assert "presigned_url" in response.json()


def test_unknown_path_has_error_shape(client, auth):
    response = client.get("/v1/nothing", headers=auth)

    assert response.status_code == 404
    assert response.json() == {
        "detail": "no endpoint at /v1/nothing",
        "code": "not_found",
    }


def test_wrong_method_has_error_shape(client, auth):
    response = client.delete("/v1/runs", headers=auth)

    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
    assert "DELETE" in response.json()["detail"]


def test_validation_error_names_the_field(client, auth):
    response = client.post("/v1/runs", headers=auth, json={"entry": "x"})

    assert response.status_code == 422
    assert response.json()["code"] == "invalid"
    assert "bundle_id: Field required" in response.json()["detail"]


def test_bad_limit_is_invalid(client, auth):
    response = client.get("/v1/runs?limit=0", headers=auth)

    assert response.status_code == 422
    assert response.json()["detail"].startswith("limit:")


def test_openapi_lists_contract_paths(client):
    paths = client.get("/openapi.json").json()["paths"]

    for path in (
        "/v1/storage/presign",
        "/v1/bundles/finalize",
        "/v1/datasets/presign",
        "/v1/runs/{run_id}/logs",
        "/v1/runs/{run_id}/logs/stream",
        "/v1/storage/quota",
        "/v1/capabilities",
    ):
        assert path in paths


def test_capabilities_lists_extensions(client):
    capabilities = client.get("/v1/capabilities").json()["capabilities"]

    assert "log_cursor" in capabilities
    assert "checksums" in capabilities


def test_quota_is_numeric(client, auth, bundle, dataset):
    quota = client.get("/v1/storage/quota", headers=auth).json()

    assert quota["bundles"]["current_count"] == 1
    assert quota["datasets"]["current_count"] == 1
    assert quota["datasets"]["current_storage_gb"] > 0
    for group in ("datasets", "bundles"):
        for value in quota[group].values():
            assert isinstance(value, (int, float))
    for value in quota["limits"].values():
        assert isinstance(value, (int, float))


def test_signed_put_rejects_expired_url(client, auth):
    presign = client.post(
        "/v1/storage/presign", headers=auth, json={"path": "bundles/a.tar.gz"}
    ).json()
    url = presign["presigned_url"]
    store = client.app.state.store
    key = presign["s3_key"]
    expired = url.split("?")[0] + (
        f"?expires=1&signature={store.signature('PUT', key, 1)}"
    )

    response = client.put(expired, content=b"x")

    assert response.status_code == 403
    assert "expired" in response.json()["detail"]


def test_signed_url_is_bound_to_method(client, auth):
    presign = client.post(
        "/v1/storage/presign", headers=auth, json={"path": "bundles/a.tar.gz"}
    ).json()
    client.put(presign["presigned_url"], content=b"data")

    response = client.get(presign["presigned_url"])

    assert response.status_code == 403
