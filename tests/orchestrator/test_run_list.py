"""GET /v1/runs: a page reads bundles and model artifacts per page."""

from tests.orchestrator.conftest import TRAIN_BUNDLE, tar_gz, upload_bundle


def _create(client, auth, bundle_id, name):
    response = client.post(
        "/v1/runs", headers=auth, json={"bundle_id": bundle_id, "name": name}
    )
    assert response.status_code == 201, response.text
    return response.json()


def _unsigned(run):
    url = run["model_url"]
    return dict(run, model_url=url and url.split("?")[0])


def test_run_list_page_matches_each_run_shown(
    client, auth, app, bundle, tmp_path
):
    other = upload_bundle(
        client, auth, tar_gz(TRAIN_BUNDLE), file_name="other.tar.gz"
    ).json()
    runs = [
        _create(client, auth, bundle_id, f"run-{index}")
        for index, bundle_id in enumerate(
            [bundle["id"], other["id"], bundle["id"]]
        )
    ]
    model = tmp_path / "model.tar.gz"
    model.write_bytes(b"model")
    events = app.state.executor.events
    events.artifact(runs[1]["id"], "model.tar.gz", model, 5, "cd" * 32)

    listed = client.get("/v1/runs?limit=2&offset=0", headers=auth)
    rest = client.get("/v1/runs?limit=2&offset=2", headers=auth)
    page = listed.json() + rest.json()
    shown = {
        run["id"]: client.get(f"/v1/runs/{run['id']}", headers=auth).json()
        for run in runs
    }

    assert listed.headers["X-Total-Count"] == "3"
    assert [run["name"] for run in page] == ["run-2", "run-1", "run-0"]
    for item in page:
        expected = dict(shown[item["id"]], transitions=None)
        assert item["bundle"] == expected["bundle"]
        # Signed URLs carry the expiry second, which may differ.
        assert _unsigned(item) == _unsigned(expected)
    assert page[1]["model_url"] is not None
    assert page[0]["model_url"] is None
    assert page[1]["bundle"]["id"] == other["id"]


def test_run_list_empty_page_keeps_total(client, auth, bundle):
    _create(client, auth, bundle["id"], "only")

    response = client.get("/v1/runs?offset=5", headers=auth)

    assert response.status_code == 200
    assert response.json() == []
    assert response.headers["X-Total-Count"] == "1"
