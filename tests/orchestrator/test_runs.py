import pytest

from tests.orchestrator.conftest import csv_rows, upload_dataset


def _create(client, auth, bundle, **fields):
    return client.post(
        "/v1/runs", headers=auth, json={"bundle_id": bundle["id"], **fields}
    )


def _executor(app):
    return app.state.executor


def _events(app):
    return app.state.executor.events


def test_run_create_returns_created_run(client, auth, bundle, dataset):
    response = _create(
        client,
        auth,
        bundle,
        name="first",
        framework="sklearn",
        framework_version="1.2.1",
        hyperparameters={"epochs": 3},
        env={"SEED": 1, "DEBUG": True},
        inputs=[{"type": "dataset", "dataset_id": dataset["id"]}],
    )

    assert response.status_code == 201, response.text
    run = response.json()
    assert run["status"] == "created"
    assert run["framework_version"] == "1.2-1"
    assert run["python_version"] == "py3"
    assert run["env"] == {"SEED": "1", "DEBUG": "true"}
    assert run["entry"] == "train.py"
    assert run["bundle"]["id"] == bundle["id"]
    assert run["inputs"][0]["channel"] == "dataset"
    assert run["inputs"][0]["version"] == 1


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (
            {"framework": "caffe", "framework_version": "1"},
            "unknown framework 'caffe'; accepted: pytorch, sklearn",
        ),
        (
            {"framework": "sklearn", "framework_version": "0.23-1"},
            "accepted: 1.9-0, 1.4-2, 1.2-1",
        ),
        (
            {
                "framework": "pytorch",
                "framework_version": "2.2.0",
                "python_version": "py38",
            },
            "python_version 'py38'",
        ),
        ({"framework": "sklearn"}, "framework_version is required"),
        (
            {"hyperparameters": {"sagemaker_program": "x"}},
            "'sagemaker_program' is reserved",
        ),
        ({"env": {"1BAD": "x"}}, "invalid environment variable name"),
        ({"env": {"A-B": "x"}}, "'A-B'"),
        ({"entry": "../train.py"}, "invalid entry"),
        ({"image": "x", "framework": "sklearn"}, "not both"),
        ({"name": "has space"}, "invalid run name"),
        ({"max_runtime_seconds": 0}, "max_runtime_seconds"),
    ],
)
def test_run_create_rejects_invalid_fields(
    client, auth, bundle, fields, expected
):
    response = _create(client, auth, bundle, **fields)

    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid"
    assert expected in response.json()["detail"]


def test_run_create_rejects_duplicate_channels(client, auth, bundle, dataset):
    item = {"dataset_id": dataset["id"], "channel": "train"}

    response = _create(client, auth, bundle, inputs=[item, item])

    assert response.status_code == 422
    assert "repeated: ['train']" in response.json()["detail"]


def test_run_create_rejects_bad_channel_name(client, auth, bundle, dataset):
    item = {"dataset_id": dataset["id"], "channel": "a/b"}

    response = _create(client, auth, bundle, inputs=[item])

    assert response.status_code == 422
    assert "invalid channel name 'a/b'" in response.json()["detail"]


def test_run_create_names_later_channels_after_dataset(
    client, auth, bundle, dataset
):
    presign, _ = upload_dataset(client, auth, "extra", {"e.csv": b"a\n"})
    inputs = [
        {"dataset_id": dataset["id"]},
        {"dataset_id": presign["dataset_id"]},
    ]

    run = _create(client, auth, bundle, inputs=inputs).json()

    assert [i["channel"] for i in run["inputs"]] == ["dataset", "extra"]


def test_run_create_unknown_refs_are_404(client, auth, bundle):
    no_bundle = client.post(
        "/v1/runs", headers=auth, json={"bundle_id": "missing"}
    )
    no_dataset = _create(
        client, auth, bundle, inputs=[{"dataset_id": "missing"}]
    )

    assert no_bundle.status_code == 404
    assert no_dataset.status_code == 404


def test_run_create_unknown_dataset_version_is_404(
    client, auth, bundle, dataset
):
    response = _create(
        client,
        auth,
        bundle,
        inputs=[{"dataset_id": dataset["id"], "version": 9}],
    )

    assert response.status_code == 404
    assert "no version 9" in response.json()["detail"]


def test_run_submit_hands_spec_to_executor(client, auth, app, bundle, dataset):
    run = _create(
        client,
        auth,
        bundle,
        hyperparameters={"lr": 0.1},
        inputs=[{"dataset_id": dataset["id"]}],
    ).json()

    response = client.post(f"/v1/runs/{run['id']}/submit", headers=auth)

    assert response.status_code == 200
    assert response.json()["status"] == "pending"
    assert response.json()["submitted_at"] is not None
    spec = _executor(app).submitted[0]
    assert spec.run_id == run["id"]
    assert spec.entry == "train.py"
    assert spec.hyperparameters == {"lr": 0.1}
    assert spec.bundle_path.is_file()
    assert spec.channels[0].name == "dataset"
    assert spec.channels[0].names == ["iris.csv"]
    assert spec.channels[0].files[0].read_bytes() == csv_rows(20)
    assert spec.channels[0].unpack is False


def test_run_submit_twice_returns_run(client, auth, app, bundle):
    run = _create(client, auth, bundle).json()
    first = client.post(f"/v1/runs/{run['id']}/submit", headers=auth)

    again = client.post(f"/v1/runs/{run['id']}/submit", headers=auth)

    assert first.status_code == 200, first.text
    assert again.status_code == 200, again.text
    assert again.json()["status"] == first.json()["status"] == "pending"
    assert again.json()["submitted_at"] == first.json()["submitted_at"]
    assert len(_executor(app).submitted) == 1


def test_run_submit_answer_lists_transitions(client, auth, bundle):
    run = _create(client, auth, bundle).json()

    submitted = client.post(f"/v1/runs/{run['id']}/submit", headers=auth)

    statuses = [item["status"] for item in submitted.json()["transitions"]]
    assert submitted.status_code == 200, submitted.text
    assert statuses[0] == "created"
    assert statuses[-1] == "pending"


def test_run_submit_of_ended_run_returns_it(client, auth, app, bundle):
    run = _create(client, auth, bundle).json()
    client.post(f"/v1/runs/{run['id']}/submit", headers=auth)
    _events(app).status(run["id"], "completed", "Completed", exit_code=0)

    again = client.post(f"/v1/runs/{run['id']}/submit", headers=auth)

    assert again.status_code == 200, again.text
    assert again.json()["status"] == "completed"
    assert len(_executor(app).submitted) == 1


def test_run_submit_after_stop_before_submit_is_conflict(
    client, auth, app, bundle
):
    run = _create(client, auth, bundle).json()
    client.post(f"/v1/runs/{run['id']}/stop", headers=auth)

    submitted = client.post(f"/v1/runs/{run['id']}/submit", headers=auth)

    assert submitted.status_code == 409
    assert submitted.json()["code"] == "conflict"
    assert "stopped" in submitted.json()["detail"]
    assert _executor(app).submitted == []


def test_run_stop_repeated_returns_run(client, auth, app, bundle):
    run = _create(client, auth, bundle).json()
    client.post(f"/v1/runs/{run['id']}/submit", headers=auth)
    stop = f"/v1/runs/{run['id']}/stop"

    first = client.post(stop, headers=auth)
    second = client.post(stop, headers=auth)
    _events(app).status(run["id"], "stopped", "Stopped")
    third = client.post(stop, headers=auth)

    assert first.status_code == 200, first.text
    assert first.json()["status"] == "stopping"
    assert second.status_code == 200, second.text
    assert second.json()["status"] == "stopping"
    assert third.status_code == 200, third.text
    assert third.json()["status"] == "stopped"


def test_run_refresh_repeated_returns_run(client, auth, bundle):
    run = _create(client, auth, bundle).json()
    refresh = f"/v1/runs/{run['id']}/refresh"

    first = client.post(refresh, headers=auth)
    second = client.post(refresh, headers=auth)

    assert first.status_code == second.status_code == 200
    assert first.json()["id"] == second.json()["id"] == run["id"]
    assert second.json()["status"] == "created"


def test_run_stop_before_submit_stops_it(client, auth, app, bundle):
    run = _create(client, auth, bundle).json()

    stopped = client.post(f"/v1/runs/{run['id']}/stop", headers=auth)

    assert stopped.json()["status"] == "stopped"
    assert _executor(app).stopped == []


def test_run_stop_pending_asks_executor(client, auth, app, bundle):
    run = _create(client, auth, bundle).json()
    client.post(f"/v1/runs/{run['id']}/submit", headers=auth)

    stopping = client.post(f"/v1/runs/{run['id']}/stop", headers=auth)
    _events(app).status(run["id"], "running", "Training")
    still = client.get(f"/v1/runs/{run['id']}", headers=auth)
    _events(app).status(run["id"], "stopped", "Stopped")
    final = client.get(f"/v1/runs/{run['id']}", headers=auth)

    assert stopping.json()["status"] == "stopping"
    assert _executor(app).stopped == [run["id"]]
    assert still.json()["status"] == "stopping"
    assert still.json()["secondary_status"] == "Training"
    assert final.json()["status"] == "stopped"
    assert final.json()["ended_at"] is not None


def test_run_stop_of_ended_run_keeps_status(client, auth, app, bundle):
    run = _create(client, auth, bundle).json()
    client.post(f"/v1/runs/{run['id']}/submit", headers=auth)
    _events(app).status(
        run["id"],
        "failed",
        "Failed",
        failure_reason="exit code 1",
        exit_code=1,
    )

    stopped = client.post(f"/v1/runs/{run['id']}/stop", headers=auth)

    assert stopped.status_code == 200
    assert stopped.json()["status"] == "failed"
    assert stopped.json()["error_message"] == "exit code 1"
    assert stopped.json()["failure_reason"] == "exit code 1"
    assert stopped.json()["exit_code"] == 1
    assert _executor(app).stopped == []


def test_run_events_track_times_and_runtime(client, auth, app, bundle):
    run = _create(client, auth, bundle).json()
    client.post(f"/v1/runs/{run['id']}/submit", headers=auth)
    _events(app).status(run["id"], "running", "Training")
    running = client.post(f"/v1/runs/{run['id']}/refresh", headers=auth)
    _events(app).status(run["id"], "completed", "Completed", exit_code=0)
    _events(app).status(run["id"], "running", "Training")
    done = client.get(f"/v1/runs/{run['id']}/", headers=auth).json()

    assert running.json()["status"] == "running"
    assert running.json()["started_at"] is not None
    assert done["status"] == "completed"
    assert done["runtime_seconds"] >= 0
    assert done["error_message"] is None


def test_run_artifacts_have_signed_urls(client, auth, app, bundle, tmp_path):
    run = _create(client, auth, bundle).json()
    model = tmp_path / "model.tar.gz"
    model.write_bytes(b"model bytes")
    _events(app).artifact(run["id"], "model.tar.gz", model, 11, "ab" * 32)

    listing = client.get(
        f"/v1/runs/{run['id']}/artifacts", headers=auth
    ).json()
    run_body = client.get(f"/v1/runs/{run['id']}", headers=auth).json()
    artifact = listing["artifacts"][0]
    part = client.get(artifact["url"], headers={"Range": "bytes=0-4"})

    assert artifact["path"] == "model.tar.gz"
    assert artifact["sha256"] == "ab" * 32
    assert artifact["size_bytes"] == 11
    assert client.get(artifact["url"]).content == b"model bytes"
    assert part.status_code == 206
    assert part.content == b"model"
    assert run_body["model_url"] is not None


def test_run_list_filters_and_counts(client, auth, app, bundle):
    first = _create(client, auth, bundle, name="a").json()
    _create(client, auth, bundle, name="b")
    _create(client, auth, bundle, name="b")
    client.post(f"/v1/runs/{first['id']}/submit", headers=auth)

    pending = client.get("/v1/runs?status=pending", headers=auth)
    several = client.get("/v1/runs?status=pending,created", headers=auth)
    named = client.get("/v1/runs?name=b&limit=1", headers=auth)

    assert [r["id"] for r in pending.json()] == [first["id"]]
    assert pending.headers["X-Total-Count"] == "1"
    assert several.headers["X-Total-Count"] == "3"
    assert named.headers["X-Total-Count"] == "2"
    assert len(named.json()) == 1


def test_run_blocks_delete_of_its_dataset(client, auth, bundle, dataset):
    run = _create(
        client, auth, bundle, inputs=[{"dataset_id": dataset["id"]}]
    ).json()
    client.post(f"/v1/runs/{run['id']}/submit", headers=auth)

    response = client.delete(f"/v1/datasets/{dataset['id']}", headers=auth)

    assert response.status_code == 409
    assert run["id"] in response.json()["detail"]
