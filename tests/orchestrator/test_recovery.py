from fastapi.testclient import TestClient

from pdtrain_orchestrator.app import create_app
from tests.orchestrator.conftest import RecordingExecutor


def _set_status(app, run_id, status):
    app.state.executor.events.status(run_id, status, None)


def test_restart_settles_unfinished_runs(client, auth, app, settings, bundle):
    ids = {}
    for status in ("running", "stopping", "pending"):
        run = client.post(
            "/v1/runs", headers=auth, json={"bundle_id": bundle["id"]}
        ).json()
        client.post(f"/v1/runs/{run['id']}/submit", headers=auth)
        ids[status] = run["id"]
    _set_status(app, ids["running"], "running")
    _set_status(app, ids["stopping"], "running")
    client.post(f"/v1/runs/{ids['stopping']}/stop", headers=auth)
    client.__exit__(None, None, None)

    restarted = create_app(settings, executor_factory=RecordingExecutor)
    with TestClient(restarted) as second:
        runs = {
            status: second.get(f"/v1/runs/{run_id}", headers=auth).json()
            for status, run_id in ids.items()
        }
        queued = [spec.run_id for spec in restarted.state.executor.submitted]

    assert runs["running"]["status"] == "failed"
    assert runs["running"]["failure_reason"] == "orchestrator restarted"
    assert runs["stopping"]["status"] == "stopped"
    assert runs["pending"]["status"] == "pending"
    assert queued == [ids["pending"]]
