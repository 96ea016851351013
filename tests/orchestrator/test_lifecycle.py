"""Run status machine, idempotent create, log filters and environments."""

import fcntl
import json

import pytest

from pdtrain_orchestrator import lifecycle
from pdtrain_orchestrator.executors import env_store, layout, packaging
from pdtrain_orchestrator.models import LogEvent


def _create(client, auth, bundle, headers=None, **fields):
    return client.post(
        "/v1/runs",
        headers={**auth, **(headers or {})},
        json={"bundle_id": bundle["id"], **fields},
    )


def _submitted(client, auth, bundle):
    run = _create(client, auth, bundle).json()
    return client.post(f"/v1/runs/{run['id']}/submit", headers=auth).json()


def _events(app):
    return app.state.executor.events


def test_lifecycle_table_rejects_illegal_moves():
    assert lifecycle.allowed("running", "completed")
    assert lifecycle.allowed("running", "running")
    assert not lifecycle.allowed("completed", "running")
    assert not lifecycle.allowed("created", "running")
    assert not lifecycle.allowed("stopped", "stopped")
    with pytest.raises(lifecycle.IllegalTransition, match="completed"):
        lifecycle.check("completed", "failed")


def test_ended_run_ignores_late_reports(client, auth, app, bundle):
    run = _submitted(client, auth, bundle)
    events = _events(app)
    events.status(run["id"], "running", "Training")
    events.status(run["id"], "completed", "Completed", exit_code=0)

    events.status(run["id"], "failed", "Failed", failure_reason="late")
    events.status(run["id"], "running", "Training")
    shown = client.get(f"/v1/runs/{run['id']}", headers=auth).json()

    assert shown["status"] == "completed"
    assert shown["failure_reason"] is None


def test_run_show_lists_transitions_with_times(client, auth, app, bundle):
    run = _submitted(client, auth, bundle)
    _events(app).status(run["id"], "running", "Training")
    _events(app).status(run["id"], "completed", "Completed")

    shown = client.get(f"/v1/runs/{run['id']}", headers=auth).json()
    steps = shown["transitions"]

    assert [step["status"] for step in steps] == [
        "created",
        "submitting",
        "pending",
        "running",
        "completed",
    ]
    assert steps[3]["secondary_status"] == "Training"
    assert steps[0]["end_time"] == steps[1]["start_time"]
    assert steps[-1]["end_time"] is None


def test_stop_twice_is_harmless(client, auth, app, bundle):
    run = _submitted(client, auth, bundle)
    _events(app).status(run["id"], "running", "Training")

    first = client.post(f"/v1/runs/{run['id']}/stop", headers=auth)
    second = client.post(f"/v1/runs/{run['id']}/stop", headers=auth)

    assert first.status_code == 200
    assert second.status_code == 200
    assert second.json()["status"] == "stopping"


def test_create_with_idempotency_key_returns_first_run(client, auth, bundle):
    key = {"Idempotency-Key": "build-42"}

    first = _create(client, auth, bundle, key, name="a")
    again = _create(client, auth, bundle, key, name="a")
    other = _create(client, auth, bundle, key, name="b")
    listed = client.get("/v1/runs", headers=auth).json()

    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert other.status_code == 409
    assert "build-42" in other.json()["detail"]
    assert len(listed) == 1


def test_create_rejects_bad_idempotency_key(client, auth, bundle):
    response = _create(client, auth, bundle, {"Idempotency-Key": "x" * 300})

    assert response.status_code == 422
    assert "Idempotency-Key" in response.json()["detail"]


def test_create_rejects_unknown_framework_version(client, auth, bundle):
    response = _create(
        client, auth, bundle, framework="sklearn", framework_version="0.1"
    )

    assert response.status_code == 422
    assert "'0.1'" in response.json()["detail"]
    assert "1.2-1" in response.json()["detail"]


def test_create_rejects_version_that_failed_to_install(
    client, auth, bundle, settings
):
    env_store.record_failure(
        settings.envs_dir,
        {
            "framework": "sklearn",
            "framework_version": "1.2-1",
            "python": _python_label(),
        },
        "ClientError: installing the framework packages failed: no wheel",
    )

    failed = _create(
        client, auth, bundle, framework="sklearn", framework_version="1.2.1"
    )
    other = _create(
        client, auth, bundle, framework="sklearn", framework_version="1.4-2"
    )

    detail = failed.json()["detail"]
    assert failed.status_code == 422
    assert "no wheel" in detail
    assert "versions that work: 1.4-2, 1.9-0" in detail
    assert "pdtrain server envs delete failed-sklearn-1.2-1" in detail
    assert other.status_code == 201


def _python_label():
    from pdtrain_orchestrator.executors import environments

    return environments.python_label(environments.base_interpreter("py3")[0])


def test_envs_list_and_delete(client, auth, settings):
    env_dir = settings.envs_dir / "abc123"
    env_dir.mkdir(parents=True)
    (env_dir / "lib.py").write_text("x" * 100)
    env_store.write_marker(
        env_dir,
        {
            "framework": "sklearn",
            "framework_version": "1.4-2",
            "python": "py3",
        },
    )

    listed = client.get("/v1/envs", headers=auth).json()["items"]
    with open(settings.envs_dir / "abc123.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        busy = client.delete("/v1/envs/abc123", headers=auth)
    deleted = client.delete("/v1/envs/abc123", headers=auth)
    missing = client.delete("/v1/envs/abc123", headers=auth)

    assert [item["id"] for item in listed] == ["abc123"]
    assert listed[0]["framework_version"] == "1.4-2"
    assert listed[0]["size_bytes"] >= 100
    assert busy.status_code == 409
    assert deleted.status_code == 200
    assert not env_dir.exists()
    assert missing.status_code == 404


def _insert(app, run_id, rows):
    with app.state.sessionmaker() as session:
        session.add_all(
            LogEvent(
                run_id=run_id, stream=stream, message=text, timestamp_ms=ms
            )
            for stream, text, ms in rows
        )
        session.commit()


def test_logs_filter_by_stream_and_start_time(client, auth, app, bundle):
    run = _submitted(client, auth, bundle)
    _insert(
        app,
        run["id"],
        [
            ("stdout", "old out", 1000),
            ("stderr", "old err", 1000),
            ("stdout", "new out", 5000),
            ("stderr", "new err", 5000),
        ],
    )

    def messages(**params):
        body = client.get(
            f"/v1/runs/{run['id']}/logs", headers=auth, params=params
        ).json()
        return [event["message"] for event in body["events"]]

    bad = client.get(
        f"/v1/runs/{run['id']}/logs", headers=auth, params={"stream": "x"}
    )

    assert messages(stream="stderr") == ["old err", "new err"]
    assert messages(start_time=5000) == ["new out", "new err"]
    assert messages(start_time=2000, stream="stdout") == ["new out"]
    assert messages(stream="stdout", limit=1) == ["new out"]
    assert messages(next_token="0", stream="stderr", limit=1) == ["old err"]
    assert bad.status_code == 422
    assert "invalid stream 'x'" in bad.json()["detail"]


def test_artifact_files_returns_verified_member(
    client, auth, app, bundle, tmp_path
):
    run = _submitted(client, auth, bundle)
    source = tmp_path / "model"
    (source / "sub").mkdir(parents=True)
    (source / "sub" / "w.bin").write_bytes(b"weights")
    files = packaging.manifest(source)
    archive = tmp_path / "model.tar.gz"
    size, digest = layout.package_dir(source, archive)
    _events(app).artifact(
        run["id"], "model.tar.gz", archive, size, digest, files
    )

    listed = client.get(f"/v1/runs/{run['id']}/artifacts", headers=auth)
    urls = client.post(
        f"/v1/runs/{run['id']}/artifacts/files",
        headers=auth,
        json={"artifact": "model.tar.gz", "paths": ["sub/w.bin"]},
    )
    missing = client.post(
        f"/v1/runs/{run['id']}/artifacts/files",
        headers=auth,
        json={"artifact": "model.tar.gz", "paths": ["nope"]},
    )
    body = client.get(urls.json()["files"][0]["url"])

    assert listed.json()["artifacts"][0]["files"][0]["path"] == "sub/w.bin"
    assert urls.status_code == 200, urls.text
    assert body.content == b"weights"
    assert missing.status_code == 404
    assert json.loads(missing.text)["code"] == "not_found"
