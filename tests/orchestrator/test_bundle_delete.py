"""DELETE /v1/bundles/{id}: a soft delete that frees quota and storage."""

import pytest

from pdtrain_orchestrator import run_requests
from pdtrain_orchestrator.models import Bundle, utcnow
from tests.orchestrator.conftest import TRAIN_BUNDLE, tar_gz, upload_bundle


def _upload(client, auth, name="mnist"):
    response = upload_bundle(client, auth, tar_gz(TRAIN_BUNDLE), name=name)
    assert response.status_code == 200, response.text
    return response.json()


def _delete(client, auth, bundle):
    return client.delete(f"/v1/bundles/{bundle['id']}", headers=auth)


def _create_run(client, auth, bundle):
    response = client.post(
        "/v1/runs", headers=auth, json={"bundle_id": bundle["id"]}
    )
    assert response.status_code == 201, response.text
    return response.json()


def _bundle_quota(client, auth):
    return client.get("/v1/storage/quota", headers=auth).json()


def test_bundle_delete_hides_the_version(client, auth, bundle):
    response = _delete(client, auth, bundle)
    shown = client.get(f"/v1/bundles/{bundle['id']}", headers=auth)
    listed = client.get("/v1/bundles", headers=auth)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["deleted"] is True
    assert body["id"] == bundle["id"]
    assert body["size_bytes"] == bundle["size_bytes"]
    assert body["deleted_at"]
    assert shown.status_code == 404
    assert "was deleted" in shown.json()["detail"]
    assert listed.json() == []
    assert listed.headers["X-Total-Count"] == "0"


def test_bundle_delete_removes_stored_object(client, auth, settings, bundle):
    stored = settings.objects_dir / bundle["s3_key"]
    assert stored.is_file()

    _delete(client, auth, bundle)

    assert not stored.exists()


def test_bundle_delete_twice_is_404(client, auth, bundle):
    _delete(client, auth, bundle)

    again = _delete(client, auth, bundle)

    assert again.status_code == 404
    assert again.json()["code"] == "not_found"


def test_bundle_delete_other_owner_gets_404(client, auth, other_auth, bundle):
    response = _delete(client, other_auth, bundle)
    shown = client.get(f"/v1/bundles/{bundle['id']}", headers=auth)

    assert response.status_code == 404
    assert shown.status_code == 200


def test_bundle_delete_frees_quota(client, auth):
    kept = _upload(client, auth, "kept")
    dropped = _upload(client, auth, "dropped")
    before = _bundle_quota(client, auth)

    _delete(client, auth, dropped)
    after = _bundle_quota(client, auth)

    assert before["bundles"]["current_count"] == 2
    assert after["bundles"]["current_count"] == 1
    freed_gb = (
        before["bundles"]["current_storage_gb"]
        - after["bundles"]["current_storage_gb"]
    )
    assert freed_gb * 1024**3 == pytest.approx(dropped["size_bytes"])
    largest = [item["id"] for item in after["largest"]["bundles"]]
    assert largest == [kept["id"]]


def test_bundle_delete_leaves_other_versions(client, auth):
    first = _upload(client, auth)
    second = _upload(client, auth)

    _delete(client, auth, second)
    listed = client.get("/v1/bundles", headers=auth, params={"name": "mnist"})
    third = _upload(client, auth)

    assert [item["id"] for item in listed.json()] == [first["id"]]
    # Version numbers are not reused, so mnist:2 never names new code.
    assert third["version"] == 3


@pytest.mark.parametrize("submit", [False, True])
def test_bundle_delete_in_use_names_the_run(client, auth, bundle, submit):
    run = _create_run(client, auth, bundle)
    if submit:
        client.post(f"/v1/runs/{run['id']}/submit", headers=auth)

    response = _delete(client, auth, bundle)
    shown = client.get(f"/v1/bundles/{bundle['id']}", headers=auth)

    assert response.status_code == 409, response.text
    assert response.json()["code"] == "conflict"
    assert run["id"] in response.json()["detail"]
    assert shown.status_code == 200


def test_bundle_delete_keeps_finished_runs(client, auth, app, bundle):
    run = _create_run(client, auth, bundle)
    client.post(f"/v1/runs/{run['id']}/submit", headers=auth)
    events = app.state.executor.events
    events.status(run["id"], "running", "Training")
    events.status(run["id"], "completed", "Completed", exit_code=0)

    response = _delete(client, auth, bundle)
    shown = client.get(f"/v1/runs/{run['id']}", headers=auth)
    listed = client.get("/v1/runs", headers=auth)

    assert response.status_code == 200, response.text
    assert shown.status_code == 200, shown.text
    assert shown.json()["bundle"]["id"] == bundle["id"]
    assert shown.json()["bundle"]["deleted_at"] is not None
    assert [item["id"] for item in listed.json()] == [run["id"]]


def test_live_bundle_run_shows_no_deleted_at(client, auth, bundle):
    run = _create_run(client, auth, bundle)

    assert run["bundle"]["deleted_at"] is None


def test_run_create_on_deleted_bundle_is_404(client, auth, bundle):
    _delete(client, auth, bundle)

    response = client.post(
        "/v1/runs", headers=auth, json={"bundle_id": bundle["id"]}
    )

    assert response.status_code == 404, response.text
    assert "was deleted" in response.json()["detail"]
    assert client.get("/v1/runs", headers=auth).json() == []


def test_run_create_racing_a_delete_keeps_no_run(
    client, auth, app, bundle, monkeypatch
):
    # The delete commits after run create found the bundle live and
    # before the run is committed, so the delete's own check finds no run.
    found_live = run_requests.get_live_bundle

    def live_then_deleted(session, bundle_id, owner):
        found = found_live(session, bundle_id, owner)
        with app.state.sessionmaker() as other:
            other.get(Bundle, bundle_id).deleted_at = utcnow()
            other.commit()
        return found

    monkeypatch.setattr(run_requests, "get_live_bundle", live_then_deleted)

    response = client.post(
        "/v1/runs", headers=auth, json={"bundle_id": bundle["id"]}
    )

    assert response.status_code == 404, response.text
    assert "was deleted" in response.json()["detail"]
    assert client.get("/v1/runs", headers=auth).json() == []


def test_finalize_of_deleted_bundle_key_is_404(client, auth, bundle):
    _delete(client, auth, bundle)

    response = client.post(
        "/v1/bundles/finalize",
        headers=auth,
        json={"s3_key": bundle["s3_key"]},
    )

    assert response.status_code == 404, response.text
    assert "was deleted" in response.json()["detail"]


def test_capabilities_offer_bundle_delete(client):
    names = client.get("/v1/capabilities").json()["capabilities"]

    assert "bundle_delete" in names
