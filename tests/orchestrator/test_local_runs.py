"""Runs through the real local executor: a script-mode bundle, no env."""

import json
import time

import pytest
from fastapi.testclient import TestClient

from pdtrain_orchestrator.app import create_app
from pdtrain_orchestrator.models import TERMINAL_STATUSES
from tests.orchestrator.conftest import (
    csv_rows,
    make_key,
    tar_gz,
    upload_bundle,
    upload_dataset,
)

TRAIN = b"""import os, sys
print("args", sys.argv[1:])
print("files", os.listdir(os.environ["SM_CHANNEL_DATASET"]))
with open(os.path.join(os.environ["SM_MODEL_DIR"], "m.txt"), "w") as f:
    f.write("ok")
"""
SLEEP = b"import time\nprint('sleeping', flush=True)\ntime.sleep(60)\n"
WAIT_SECONDS = 20


@pytest.fixture
def local(settings):
    app = create_app(settings)
    with TestClient(app) as client:
        yield client, {"Authorization": f"Bearer {make_key(app, 'alice')}"}


def _start(client, auth, script, **fields):
    bundle = upload_bundle(client, auth, tar_gz({"train.py": script}))
    run = client.post(
        "/v1/runs",
        headers=auth,
        json={"bundle_id": bundle.json()["id"], **fields},
    )
    client.post(f"/v1/runs/{run.json()['id']}/submit", headers=auth)
    return run.json()["id"]


def _wait(client, auth, run_id, statuses):
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        run = client.get(f"/v1/runs/{run_id}", headers=auth).json()
        if run["status"] in statuses:
            return run
        time.sleep(0.05)
    pytest.fail(f"run {run_id} stayed {run['status']}")


def test_local_run_completes_with_logs_and_model(local):
    client, auth = local
    presign, _ = upload_dataset(
        client, auth, "iris", {"iris.csv": csv_rows(5)}
    )
    run_id = _start(
        client,
        auth,
        TRAIN,
        hyperparameters={"lr": 0.1},
        inputs=[{"dataset_id": presign["dataset_id"]}],
    )

    run = _wait(client, auth, run_id, TERMINAL_STATUSES)
    stream = client.get(f"/v1/runs/{run_id}/logs/stream", headers=auth)
    artifacts = client.get(
        f"/v1/runs/{run_id}/artifacts", headers=auth
    ).json()["artifacts"]

    assert run["status"] == "completed", run["failure_reason"]
    assert run["model_url"] is not None
    assert "args ['--lr', '0.1']" in stream.text
    assert "files ['iris.csv']" in stream.text
    assert stream.text.rstrip().endswith(
        "data: "
        + json.dumps(
            {
                "status": "completed",
                "next_token": _last_id(client, auth, run_id),
            }
        )
    )
    assert "model.tar.gz" in [item["name"] for item in artifacts]


def _last_id(client, auth, run_id):
    return client.get(
        f"/v1/runs/{run_id}/logs", headers=auth, params={"limit": 1}
    ).json()["next_token"]


def test_local_run_stop_ends_as_stopped(local):
    client, auth = local
    run_id = _start(client, auth, SLEEP)
    _wait(client, auth, run_id, ("running",))

    stopping = client.post(f"/v1/runs/{run_id}/stop", headers=auth)
    run = _wait(client, auth, run_id, TERMINAL_STATUSES)

    assert stopping.json()["status"] in ("stopping", "stopped")
    assert run["status"] == "stopped"
