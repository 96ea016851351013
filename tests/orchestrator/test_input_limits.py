"""Bad and over-limit input gets a 422 naming the field, never a 500."""

import io
import os
import subprocess
import sys
import tarfile
import time

import pytest
from fastapi.testclient import TestClient

from pdtrain_core import limits
from pdtrain_orchestrator.app import create_app
from pdtrain_orchestrator.settings import Settings
from tests.orchestrator.conftest import (
    RecordingExecutor,
    csv_rows,
    make_key,
    tar_gz,
    upload_bundle,
    upload_dataset,
)

HUGE = 99999999999999999999999
INT64_PAST = 2**63


def _create_run(client, auth, bundle, **fields):
    return client.post(
        "/v1/runs", headers=auth, json={"bundle_id": bundle["id"], **fields}
    )


def _assert_invalid(response, *words):
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "invalid"
    for word in words:
        assert word in body["detail"], body["detail"]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"max_runtime_seconds": HUGE}, "max_runtime_seconds"),
        ({"max_wait_seconds": INT64_PAST}, "max_wait_seconds"),
        ({"instance_count": HUGE}, "instance_count"),
    ],
)
def test_run_create_huge_int_is_422(client, auth, bundle, fields, field):
    _assert_invalid(_create_run(client, auth, bundle, **fields), field)


def test_run_input_huge_version_is_422(client, auth, bundle, dataset):
    inputs = [{"dataset_id": dataset["id"], "version": HUGE}]
    response = _create_run(client, auth, bundle, inputs=inputs)
    _assert_invalid(response, "inputs.0.version")


@pytest.mark.parametrize(
    "path",
    ["/v1/runs", "/v1/bundles", "/v1/datasets"],
)
def test_list_huge_offset_is_422(client, auth, path):
    response = client.get(path, headers=auth, params={"offset": INT64_PAST})
    _assert_invalid(response, "offset")


def test_logs_huge_next_token_is_422(client, auth, bundle):
    run = _create_run(client, auth, bundle).json()
    for token in (str(INT64_PAST), "9" * 5000):
        response = client.get(
            f"/v1/runs/{run['id']}/logs",
            headers=auth,
            params={"next_token": token},
        )
        _assert_invalid(response, "next_token")


def test_dataset_download_huge_version_is_422(client, auth, dataset):
    base = f"/v1/datasets/{dataset['id']}"
    by_path = client.get(f"{base}/versions/{HUGE}/download", headers=auth)
    _assert_invalid(by_path, "version")
    by_query = client.get(
        f"{base}/download", headers=auth, params={"version": HUGE}
    )
    _assert_invalid(by_query, "version")


def test_dataset_download_version_zero_is_422(client, auth, dataset):
    base = f"/v1/datasets/{dataset['id']}"
    response = client.get(f"{base}/versions/0/download", headers=auth)
    _assert_invalid(response, "version")


def test_run_list_unknown_status_is_422(client, auth):
    response = client.get(
        "/v1/runs", headers=auth, params={"status": "running,bogus"}
    )
    _assert_invalid(response, "status", "'bogus'", "completed")


def test_run_list_known_statuses_pass(client, auth):
    response = client.get(
        "/v1/runs", headers=auth, params={"status": "created,running"}
    )
    assert response.status_code == 200, response.text


def test_run_env_with_nul_is_422(client, auth, bundle):
    response = _create_run(client, auth, bundle, env={"SEED": "1\x002"})
    _assert_invalid(response, "env.SEED", "NUL")


def test_run_hyperparameter_with_nul_is_422(client, auth, bundle):
    response = _create_run(
        client, auth, bundle, hyperparameters={"lr": "0.1\x00"}
    )
    _assert_invalid(response, "hyperparameters.lr", "NUL")


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        (
            {"hyperparameters": {f"k{i}": i for i in range(101)}},
            ("hyperparameters", "101 entries", "limit of 100"),
        ),
        (
            {"hyperparameters": {"k" * 257: 1}},
            ("257 characters", "limit of 256"),
        ),
        (
            {"hyperparameters": {"cfg": "x" * 2499}},
            ("hyperparameters.cfg", "2501 characters", "limit of 2500"),
        ),
        (
            {"env": {f"V{i}": "1" for i in range(101)}},
            ("env", "101 variables", "limit of 100"),
        ),
        ({"env": {"V" * 513: "1"}}, ("513 characters", "limit of 512")),
        (
            {"env": {"TOKEN": "t" * 513}},
            ("env.TOKEN", "513 characters", "limit of 512"),
        ),
        ({"name": "n" * 129}, ("name", "128")),
        ({"image": "i" * 513}, ("image", "512")),
    ],
)
def test_run_create_over_limit_is_422(client, auth, bundle, fields, words):
    _assert_invalid(_create_run(client, auth, bundle, **fields), *words)


def test_run_create_at_limits_is_accepted(client, auth, bundle):
    hyperparameters = {f"k{i}": i for i in range(limits.MAX_HYPERPARAMETERS)}
    hyperparameters["k0"] = "x" * (limits.MAX_HYPERPARAMETER_VALUE - 2)
    env = {f"V{i}": "v" * limits.MAX_ENV_VALUE for i in range(100)}
    response = _create_run(
        client, auth, bundle, hyperparameters=hyperparameters, env=env
    )
    assert response.status_code == 201, response.text


def test_run_channel_name_over_limit_is_422(client, auth, bundle, dataset):
    inputs = [{"dataset_id": dataset["id"], "channel": "c" * 65}]
    response = _create_run(client, auth, bundle, inputs=inputs)
    _assert_invalid(response, "channel")


def test_dataset_presign_long_name_is_422(client, auth):
    response = client.post(
        "/v1/datasets/presign",
        headers=auth,
        json={"dataset_name": "d" * 200, "files": [{"path": "a.csv"}]},
    )
    _assert_invalid(response, "dataset_name", "128")


def _object_files(settings):
    return [p for p in settings.objects_dir.rglob("*") if p.is_file()]


def _random_tar_gz(size):
    return tar_gz({"train.py": b"print(1)\n", "data.bin": os.urandom(size)})


@pytest.mark.parametrize("cut", [0.5, 0.9])
def test_bundle_truncated_archive_is_422_and_removed(
    client, auth, settings, cut
):
    data = _random_tar_gz(200_000)
    response = upload_bundle(client, auth, data[: int(len(data) * cut)])
    _assert_invalid(response, "damaged")
    assert _object_files(settings) == []
    assert client.get("/v1/bundles", headers=auth).json() == []


def test_bundle_corrupt_gzip_is_422_and_removed(client, auth, settings):
    data = bytearray(_random_tar_gz(50_000))
    data[100:400] = os.urandom(300)
    response = upload_bundle(client, auth, bytes(data))
    assert response.status_code == 422, response.text
    assert _object_files(settings) == []


@pytest.fixture
def small_bundle_client(tmp_path):
    # A 1 MB bundle limit makes the unpack limit 4 MiB.
    settings = Settings(home=tmp_path / "home", max_single_bundle_size_mb=1)
    app = create_app(settings, executor_factory=RecordingExecutor)
    with TestClient(app) as client:
        yield client, {"Authorization": f"Bearer {make_key(app, 'alice')}"}


def test_bundle_unpacking_past_limit_is_rejected(small_bundle_client):
    client, auth = small_bundle_client
    bomb = tar_gz({"train.py": b"x\n", "zeros.bin": bytes(5 * 1024**2)})
    assert len(bomb) < 100_000
    response = upload_bundle(client, auth, bomb)
    _assert_invalid(response, "decompression bomb")


def _directory_archive(members):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, kind, value in members:
            info = tarfile.TarInfo(name)
            if kind == "link":
                info.type = tarfile.SYMTYPE
                info.linkname = value
                tar.addfile(info)
            else:
                info.size = len(value)
                tar.addfile(info, io.BytesIO(value))
    return buffer.getvalue()


@pytest.mark.parametrize(
    "member",
    [
        ("../evil.py", "file", b"print('escaped')\n"),
        ("data/link", "link", "/etc/passwd"),
        ("data/up", "link", "../../outside"),
    ],
)
def test_dataset_unsafe_directory_archive_fails_validation(
    client, auth, settings, member
):
    data = _directory_archive([("data/a.csv", "file", csv_rows(3)), member])
    presign, done = upload_dataset(
        client, auth, "photos", {"photos.tar.gz": data}, archive="directory"
    )
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["status"] == "failed"
    assert body["version"] is None
    assert member[0] in " ".join(body["validation"]["errors"])
    listed = client.get("/v1/datasets", headers=auth).json()
    assert listed["total"] == 0
    assert _object_files(settings) == []


def _presign(client, auth, name):
    response = client.post(
        "/v1/datasets/presign",
        headers=auth,
        json={"dataset_name": name, "files": [{"path": "a.csv"}]},
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_dataset_version_ignores_abandoned_presigns(client, auth):
    for _ in range(3):
        _presign(client, auth, "iris")
    presign, done = upload_dataset(client, auth, "iris", {"a.csv": b"x\n"})
    assert presign["version"] == 4
    assert done.status_code == 200, done.text
    assert done.json()["version"] == 1
    shown = client.get(f"/v1/datasets/{presign['dataset_id']}", headers=auth)
    assert shown.json()["current_version"] == 1
    assert [v["version"] for v in shown.json()["versions"]] == [1]


def test_dataset_finalize_retry_returns_same_version(client, auth):
    presign, done = upload_dataset(client, auth, "iris", {"a.csv": b"x\n"})
    again = client.post(
        "/v1/datasets/finalize",
        headers=auth,
        json={"dataset_id": presign["dataset_id"], "version": 1},
    )
    assert again.status_code == 200, again.text
    assert again.json()["version"] == done.json()["version"] == 1


def _dead_pid():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_startup_removes_temp_files_of_dead_processes(tmp_path):
    settings = Settings(home=tmp_path / "home")
    tmp_dir = settings.home / "tmp"
    tmp_dir.mkdir(parents=True)
    stale = tmp_dir / f"upload-{_dead_pid()}-abcdefgh"
    stale.write_bytes(b"x" * 1000)
    old = tmp_dir / "upload-abcdefgh"
    old.write_bytes(b"x")
    past = time.time() - 7200
    os.utime(old, (past, past))
    with subprocess.Popen(
        [sys.executable, "-c", "input()"], stdin=subprocess.PIPE
    ) as alive:
        live = tmp_dir / f"upload-{alive.pid}-abcdefgh"
        live.write_bytes(b"x")
        create_app(settings, executor_factory=RecordingExecutor)
        alive.communicate(b"\n")

    assert not stale.exists()
    assert not old.exists()
    assert live.exists()
