"""Who may list and delete the shared framework environments."""

from pdtrain_orchestrator.executors import env_store
from pdtrain_orchestrator.executors.process import NOTE_PREFIX, NOTE_STREAM
from pdtrain_orchestrator.models import LogEvent, Run


def _make_env(settings, env_id, requirements):
    env_dir = settings.envs_dir / env_id
    env_dir.mkdir(parents=True)
    details = {"framework": "sklearn", "framework_version": "1.4-2"}
    env_store.write_marker(env_dir, dict(details, requirements=requirements))
    return env_dir


def _run_using(app, client, auth, bundle, env_id, status, offset=None):
    """Create a run in status whose log names env_id as the executor would.

    offset is the byte offset of a line the training script printed;
    None marks a note of the executor itself.
    """
    run = client.post(
        "/v1/runs", headers=auth, json={"bundle_id": bundle["id"]}
    ).json()
    with app.state.sessionmaker() as session:
        session.get(Run, run["id"]).status = status
        session.add(
            LogEvent(
                run_id=run["id"],
                stream=NOTE_STREAM,
                message=f"{NOTE_PREFIX}Reusing cached environment {env_id}",
                timestamp_ms=1,
                source_offset=offset,
            )
        )
        session.commit()
    return run["id"]


def _listed(client, auth):
    items = client.get("/v1/envs", headers=auth).json()["items"]
    return sorted(item["id"] for item in items)


def test_envs_private_env_listed_only_to_its_users(
    app, client, auth, other_auth, bundle, settings
):
    _make_env(settings, "shared1", requirements=False)
    _make_env(settings, "private1", requirements=True)
    _run_using(app, client, auth, bundle, "private1", "completed")

    alice = _listed(client, auth)
    bob = _listed(client, other_auth)
    bob_delete = client.delete("/v1/envs/private1", headers=other_auth)

    assert alice == ["private1", "shared1"]
    assert bob == ["shared1"]
    assert bob_delete.status_code == 404
    assert (settings.envs_dir / "private1").is_dir()


def test_envs_printed_note_does_not_grant_access(
    app, client, auth, other_auth, bundle, settings
):
    _make_env(settings, "private2", requirements=True)
    # A script of alice prints the executor's note with a byte offset.
    _run_using(app, client, auth, bundle, "private2", "completed", offset=9)

    assert _listed(client, auth) == []
    assert client.delete("/v1/envs/private2", headers=auth).status_code == 404


def test_envs_delete_in_use_by_other_owner_is_409(
    app, client, auth, other_auth, bundle, settings
):
    env_dir = _make_env(settings, "shared2", requirements=False)
    run_id = _run_using(app, client, auth, bundle, "shared2", "running")

    busy = client.delete("/v1/envs/shared2", headers=other_auth)
    own = client.delete("/v1/envs/shared2", headers=auth)
    with app.state.sessionmaker() as session:
        session.get(Run, run_id).status = "completed"
        session.commit()
    after = client.delete("/v1/envs/shared2", headers=other_auth)

    assert busy.status_code == 409
    assert "another owner's run" in busy.json()["detail"]
    assert run_id not in busy.json()["detail"]
    assert own.status_code == 409
    assert run_id in own.json()["detail"]
    assert after.status_code == 200
    assert not env_dir.exists()
