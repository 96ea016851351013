"""Fixtures: an orchestrator app on a fresh home, with a fake executor.

The fake executor records what it receives instead of starting
processes; tests drive run state through the app's RunEvents.
"""

import io
import tarfile

import pytest
from fastapi.testclient import TestClient

from pdtrain_orchestrator import keys
from pdtrain_orchestrator.app import create_app
from pdtrain_orchestrator.settings import Settings
from tests import postgres


class RecordingExecutor:
    """Keep submitted specs and stop requests; run nothing."""

    def __init__(self, settings, events):
        self.settings = settings
        self.events = events
        self.submitted = []
        self.stopped = []
        self.closed = False

    def submit(self, spec):
        self.submitted.append(spec)

    def stop(self, run_id):
        self.stopped.append(run_id)

    def shutdown(self):
        self.closed = True


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request):
    """None (SQLite in the home) or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield None
        return
    with postgres.fresh_schema() as url:
        yield url


@pytest.fixture
def settings(tmp_path, database_url):
    return Settings(
        home=tmp_path / "home", max_concurrent=2, database_url=database_url
    )


@pytest.fixture
def app(settings):
    return create_app(settings, executor_factory=RecordingExecutor)


@pytest.fixture
def client(app):
    with TestClient(app) as test_client:
        yield test_client


def make_key(app, owner):
    with app.state.sessionmaker() as session:
        return keys.create_key(session, owner)


@pytest.fixture
def auth(app, client):
    return {"Authorization": f"Bearer {make_key(app, 'alice')}"}


@pytest.fixture
def other_auth(app, client):
    return {"Authorization": f"Bearer {make_key(app, 'bob')}"}


def tar_gz(files: dict[str, bytes]) -> bytes:
    """Return a tar.gz holding files (name -> content)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


TRAIN_BUNDLE = {
    "train.py": b"import time\ntime.sleep(1)\n",
    "requirements.txt": b"numpy\n",
}


def upload_bundle(
    client, auth, data: bytes, file_name="demo.tar.gz", **finalize
):
    """Presign, PUT and finalize; return the finalize response."""
    presign = client.post(
        "/v1/storage/presign",
        headers=auth,
        json={
            "operation": "put_object",
            "path": f"bundles/{file_name}",
            "content_type": "application/gzip",
            "expires_in": 600,
        },
    )
    assert presign.status_code == 200, presign.text
    put = client.put(presign.json()["presigned_url"], content=data)
    assert put.status_code == 200, put.text
    return client.post(
        "/v1/bundles/finalize",
        headers=auth,
        json={"s3_key": presign.json()["s3_key"], **finalize},
    )


def csv_rows(count: int) -> bytes:
    lines = ["x,y,label"] + [f"{i},{i * 2},{i % 2}" for i in range(count)]
    return ("\n".join(lines) + "\n").encode()


def upload_dataset(
    client, auth, name: str, contents: dict[str, bytes], **finalize
):
    """Presign, POST every file and finalize; return both responses."""
    presign = client.post(
        "/v1/datasets/presign",
        headers=auth,
        json={
            "dataset_name": name,
            "files": [
                {"path": path, "content_type": "text/csv"} for path in contents
            ],
        },
    )
    assert presign.status_code == 200, presign.text
    body = presign.json()
    for post, content in zip(
        body["presigned"], contents.values(), strict=True
    ):
        sent = client.post(
            post["url"], data=post["fields"], files={"file": ("data", content)}
        )
        assert sent.status_code == 204, sent.text
    done = client.post(
        "/v1/datasets/finalize",
        headers=auth,
        json={
            "dataset_id": body["dataset_id"],
            "version": body["version"],
            "size_bytes": sum(len(c) for c in contents.values()),
            "num_files": len(contents),
            "set_current": True,
            **finalize,
        },
    )
    return body, done


@pytest.fixture
def bundle(client, auth):
    response = upload_bundle(client, auth, tar_gz(TRAIN_BUNDLE))
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def dataset(client, auth):
    presign, done = upload_dataset(
        client, auth, "iris", {"iris.csv": csv_rows(20)}
    )
    assert done.status_code == 200, done.text
    return client.get(
        f"/v1/datasets/{presign['dataset_id']}", headers=auth
    ).json()
