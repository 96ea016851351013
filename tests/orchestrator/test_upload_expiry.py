"""Abandoned dataset presigns expire with their objects."""

import datetime

from sqlalchemy import select

from pdtrain_orchestrator import upload_expiry
from pdtrain_orchestrator.models import Upload


def _presign_and_send(client, auth, name):
    body = client.post(
        "/v1/datasets/presign",
        headers=auth,
        json={"dataset_name": name, "files": [{"path": "rows.csv"}]},
    ).json()
    post = body["presigned"][0]
    sent = client.post(
        post["url"], data=post["fields"], files={"file": ("f", b"x,y\n1,2\n")}
    )
    assert sent.status_code == 204, sent.text
    return body


def _age(app, days):
    with app.state.sessionmaker() as session:
        for upload in session.scalars(select(Upload)):
            upload.created_at -= datetime.timedelta(days=days)
        session.commit()


def _stored(app):
    root = app.state.store.root
    return sorted(p.name for p in root.rglob("*") if p.is_file())


def test_upload_expiry_removes_old_presign_and_objects(app, client, auth):
    _presign_and_send(client, auth, "abandoned")
    _age(app, 9)
    fresh = _presign_and_send(client, auth, "fresh")
    assert len(_stored(app)) == 2

    removed = upload_expiry.expire_uploads(
        app.state.sessionmaker,
        app.state.store,
        upload_expiry.max_age(app.state.settings),
    )
    with app.state.sessionmaker() as session:
        left = [u.dataset_name for u in session.scalars(select(Upload))]
    finalized = client.post(
        "/v1/datasets/finalize",
        headers=auth,
        json={"dataset_id": fresh["dataset_id"], "version": 1},
    )

    assert removed == 1
    assert left == ["fresh"]
    assert _stored(app) == ["rows.csv"]
    assert finalized.status_code == 200, finalized.text


def test_upload_expiry_runs_on_scheduler_tick(app, client, auth):
    _presign_and_send(client, auth, "abandoned")
    _age(app, 9)

    app.state.scheduler.tick()

    with app.state.sessionmaker() as session:
        assert session.scalars(select(Upload)).all() == []
    assert _stored(app) == []
