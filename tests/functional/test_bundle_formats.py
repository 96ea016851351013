"""`bundle upload` of each input format, and the checks on both sides.

Every bad archive is rejected twice: by the CLI before anything is sent,
and by the orchestrator when the same archive is posted straight to the
API, so a client that skips the checks gains nothing.
"""

import gzip
import hashlib
import io
import json
import stat
import tarfile
import zipfile

import pytest
import requests

from tests.functional.bundle_proxy import ValidatingProxy
from tests.functional.conftest import (
    Cli,
    base_env,
    start_server,
    stop_server,
)

FILES = {
    "train.py": b"print('training')\n",
    "requirements.txt": b"",
    "lib/util.py": b"X = 1\n",
}
FORMATS = ("dir", "tar.gz", "tgz", "tar", "zip")
# One more file than the bundle limit of 100,000.
TOO_MANY = 100_001


def write_dir(root, files):
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def tar_member(name, data=b"", kind=tarfile.REGTYPE, link=""):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    info.mode = 0o644
    return info, data


def tar_bytes(members, compress=True):
    """Build a tar (gzip-compressed when compress) of (TarInfo, data)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if info.isfile() else None)
    raw = buffer.getvalue()
    return gzip.compress(raw, compresslevel=1) if compress else raw


def zip_member(name, data=b"", mode=stat.S_IFREG | 0o644):
    info = zipfile.ZipInfo(name)
    info.external_attr = mode << 16
    return info, data


def zip_bytes(members):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for info, data in members:
            archive.writestr(info, data)
    return buffer.getvalue()


def make_source(tmp_path, kind, files=FILES):
    """Write files as a folder or an archive of kind; return its path."""
    if kind == "dir":
        return write_dir(tmp_path / "code", files)
    path = tmp_path / f"code.{kind}"
    if kind == "zip":
        path.write_bytes(zip_bytes(zip_member(n, d) for n, d in files.items()))
    else:
        members = [tar_member(n, d) for n, d in files.items()]
        path.write_bytes(tar_bytes(members, compress=kind != "tar"))
    return path


def stored_objects(server):
    return sorted(
        p for p in (server.home / "objects").rglob("*") if p.is_file()
    )


def stored_bundle(server, digest):
    """Return the stored object whose sha256 is digest."""
    for path in stored_objects(server):
        if hashlib.sha256(path.read_bytes()).hexdigest() == digest:
            return path
    raise AssertionError(f"no stored object has sha256 {digest}")


@pytest.mark.parametrize("kind", FORMATS)
def test_bundle_upload_accepts_each_format(cli, server, tmp_path, kind):
    source = make_source(tmp_path, kind)

    bundle = cli.json("bundle", "upload", source, "--name", "fmt", "--wait")
    stored = stored_bundle(server, bundle["sha256"])

    assert bundle["validation_status"] == "ready"
    assert bundle["validation_errors"] == []
    assert bundle["validation_warnings"] == []
    assert bundle["has_requirements_txt"] is True
    assert bundle["entry_point_verified"] is True
    assert bundle["total_files"] == 3
    assert stored.read_bytes()[:2] == b"\x1f\x8b"
    with tarfile.open(stored, "r:gz") as tar:
        assert sorted(tar.getnames()) == sorted(FILES)


def test_bundle_tar_and_zip_convert_to_folder_bytes(cli, tmp_path):
    folder = cli.json(
        "bundle", "upload", make_source(tmp_path, "dir"), "--name", "same"
    )

    for kind in ("tar", "zip"):
        result = cli(
            "bundle", "upload", make_source(tmp_path, kind), "--name", "same"
        )
        assert result.returncode == 0, result.stderr
        assert "is unchanged" in result.stderr
    listed = cli.json("bundle", "list", "--name", "same")

    assert [b["id"] for b in listed] == [folder["id"]]


def test_bundle_gzip_tar_is_uploaded_unchanged(cli, tmp_path):
    source = make_source(tmp_path, "tgz")

    bundle = cli.json("bundle", "upload", source, "--name", "asis")

    assert bundle["sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()


def test_bundle_entry_option_names_another_file(cli, tmp_path):
    files = {"src/main.py": b"print(1)\n"}
    source = make_source(tmp_path, "zip", files)

    bundle = cli.json(
        "bundle", "upload", source, "--name", "main", "--entry", "src/main.py"
    )

    assert bundle["entry_point"] == "src/main.py"
    assert bundle["entry_point_verified"] is True


BAD_TAR = {
    "absolute": (
        [tar_member("/tmp/evil.py", b"x")],
        "'/tmp/evil.py'",
        "absolute path",
    ),
    "dotdot": ([tar_member("../evil.py", b"x")], "'../evil.py'", "outside"),
    "symlink-out": (
        [tar_member("data", kind=tarfile.SYMTYPE, link="/etc")],
        "'data'",
        "link to '/etc'",
    ),
    "hardlink-out": (
        [tar_member("passwd", kind=tarfile.LNKTYPE, link="../../etc/passwd")],
        "'passwd'",
        "outside the folder",
    ),
    "device": ([tar_member("tty", kind=tarfile.CHRTYPE)], "'tty'", "device"),
}
BAD_ZIP = {
    "absolute": (
        [zip_member("/tmp/evil.py", b"x")],
        "'/tmp/evil.py'",
        "absolute path",
    ),
    "dotdot": ([zip_member("../evil.py", b"x")], "'../evil.py'", "outside"),
    "symlink-out": (
        [zip_member("data", b"../../etc", stat.S_IFLNK | 0o777)],
        "'data'",
        "link to '../../etc'",
    ),
    "device": (
        [zip_member("tty", b"", stat.S_IFCHR | 0o644)],
        "'tty'",
        "device",
    ),
}
TRAIN = b"print(1)\n"


def bad_archive(tmp_path, kind, case):
    if kind == "zip":
        members, member, reason = BAD_ZIP[case]
        data = zip_bytes([zip_member("train.py", TRAIN), *members])
    else:
        members, member, reason = BAD_TAR[case]
        data = tar_bytes([tar_member("train.py", TRAIN), *members])
    path = tmp_path / f"evil.{kind}"
    path.write_bytes(data)
    return path, member, reason


@pytest.fixture(scope="module")
def reject_cli(server, tmp_path_factory):
    """Return a CLI whose owner only makes rejected uploads.

    Its bundle list stays empty, and one key for the module saves
    creating a key per test.
    """
    home = tmp_path_factory.mktemp("reject-cli")
    env = base_env(home)
    env["PDTRAIN_API_URL"] = server.url
    env["PDTRAIN_API_KEY"] = server.create_key("rejected")
    return Cli(home=home, env=env)


def assert_nothing_uploaded(cli, server, before):
    assert stored_objects(server) == before
    assert cli.json("bundle", "list") == []


CLIENT_CASES = [("tar.gz", c) for c in BAD_TAR] + [("zip", c) for c in BAD_ZIP]


@pytest.mark.parametrize("kind,case", CLIENT_CASES)
def test_bundle_bad_archive_rejected_before_upload(
    reject_cli, server, tmp_path, kind, case
):
    path, member, reason = bad_archive(tmp_path, kind, case)
    before = stored_objects(server)

    result = reject_cli("bundle", "upload", path, "--name", "evil")

    assert result.returncode == 1
    assert member in result.stderr
    assert reason in result.stderr
    assert "nothing was uploaded" in result.stderr
    assert "Uploaded" not in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert_nothing_uploaded(reject_cli, server, before)


@pytest.mark.parametrize("kind", ["dir", "tar.gz", "zip"])
def test_bundle_missing_entry_rejected_before_upload(
    reject_cli, server, tmp_path, kind
):
    source = make_source(tmp_path, kind, {"main.py": TRAIN})
    before = stored_objects(server)

    result = reject_cli("bundle", "upload", source, "--name", "noentry")

    assert result.returncode == 1
    assert "entry point 'train.py' is missing" in result.stderr
    assert "--entry" in result.stderr
    assert_nothing_uploaded(reject_cli, server, before)


def test_bundle_entry_option_missing_file_rejected(
    reject_cli, server, tmp_path
):
    source = make_source(tmp_path, "zip")
    before = stored_objects(server)

    result = reject_cli(
        "bundle", "upload", source, "--name", "x", "--entry", "src/main.py"
    )

    assert result.returncode == 1
    assert "'src/main.py' is missing" in result.stderr
    assert_nothing_uploaded(reject_cli, server, before)


def test_bundle_single_top_folder_names_the_fix(reject_cli, tmp_path):
    files = {"project/train.py": TRAIN, "project/util.py": b""}
    source = make_source(tmp_path, "zip", files)

    result = reject_cli("bundle", "upload", source, "--name", "nested")

    assert result.returncode == 1
    assert "every file is under 'project/'" in result.stderr


@pytest.fixture(scope="module")
def too_many_zip(tmp_path_factory):
    path = tmp_path_factory.mktemp("many") / "many.zip"
    names = ["train.py"] + [f"f/{i}" for i in range(TOO_MANY)]
    with zipfile.ZipFile(path, "w") as archive:
        for name in names:
            archive.writestr(name, b"")
    return path


def test_bundle_too_many_files_rejected_before_upload(
    reject_cli, server, too_many_zip
):
    before = stored_objects(server)

    result = reject_cli("bundle", "upload", too_many_zip, "--name", "many")

    assert result.returncode == 1
    assert "past the limit of 100000 entries" in result.stderr
    assert_nothing_uploaded(reject_cli, server, before)


@pytest.fixture(scope="module")
def small_server(tmp_path_factory):
    """An orchestrator that accepts bundles of at most 1 MiB packed."""
    home = tmp_path_factory.mktemp("small-bundles")
    config = home / "server.yaml"
    config.write_text("limits:\n  max_single_bundle_size_mb: 1\n")
    running = start_server(home / "home", ["--config", str(config)])
    yield running
    stop_server(running)


def small_env(small_server):
    return {
        "PDTRAIN_API_URL": small_server.url,
        "PDTRAIN_API_KEY": small_server.create_key("small"),
    }


# 5 MiB of zeros packs to a few KiB but unpacks past 4 x 1 MiB.
BOMB = b"\0" * (5 * 1024 * 1024)


def test_bundle_too_large_unpacked_rejected_before_upload(
    reject_cli, small_server, tmp_path
):
    source = make_source(tmp_path, "zip", {"train.py": TRAIN, "w.bin": BOMB})
    before = stored_objects(small_server)

    result = reject_cli(
        "bundle",
        "upload",
        source,
        "--name",
        "bomb",
        env=small_env(small_server),
    )

    assert result.returncode == 1
    assert "'w.bin'" in result.stderr
    assert "past the limit of 4194304 bytes unpacked" in result.stderr
    assert stored_objects(small_server) == before


# The server side: the same archives posted straight to the API.


def post_bundle(server, data, file_name="evil.tar.gz", entry=None):
    """Presign, PUT and finalize data as the published client does."""
    headers = {"Authorization": f"Bearer {server.key}"}
    presign = requests.post(
        f"{server.url}/v1/storage/presign",
        json={"operation": "put_object", "path": f"bundles/{file_name}"},
        headers=headers,
        timeout=30,
    )
    presign.raise_for_status()
    answer = presign.json()
    put = requests.put(answer["presigned_url"], data=data, timeout=30)
    put.raise_for_status()
    body = {"s3_key": answer["s3_key"]}
    if entry is not None:
        body["entry"] = entry
    return requests.post(
        f"{server.url}/v1/bundles/finalize",
        json=body,
        headers=headers,
        timeout=120,
    )


def server_bundles(server):
    return requests.get(
        f"{server.url}/v1/bundles",
        headers={"Authorization": f"Bearer {server.key}"},
        timeout=30,
    ).json()


@pytest.mark.parametrize("case", sorted(BAD_TAR))
def test_bundle_server_repeats_member_checks(server, case):
    members, member, reason = BAD_TAR[case]
    data = tar_bytes([tar_member("train.py", TRAIN), *members])
    bundles = server_bundles(server)
    before = stored_objects(server)

    response = post_bundle(server, data)

    assert response.status_code == 422
    assert member in response.json()["detail"]
    assert reason in response.json()["detail"]
    assert server_bundles(server) == bundles
    assert stored_objects(server) == before


@pytest.mark.parametrize("kind", ["zip", "tar"])
def test_bundle_server_rejects_other_formats(server, tmp_path, kind):
    data = make_source(tmp_path, kind).read_bytes()
    before = stored_objects(server)

    response = post_bundle(server, data, file_name=f"code.{kind}")

    assert response.status_code == 422
    assert f"a {kind} archive, not a tar.gz" in response.json()["detail"]
    assert "pdtrain bundle upload" in response.json()["detail"]
    assert stored_objects(server) == before


def test_bundle_server_rejects_too_many_files(server):
    headers = b"".join(
        tarfile.TarInfo(f"f/{i}").tobuf() for i in range(TOO_MANY)
    )
    data = gzip.compress(headers + b"\0" * 1024, compresslevel=1)
    before = stored_objects(server)

    response = post_bundle(server, data)

    assert response.status_code == 422
    assert "past the limit of 100000 entries" in response.json()["detail"]
    assert stored_objects(server) == before


def test_bundle_server_rejects_too_large_unpacked(small_server):
    data = tar_bytes([tar_member("train.py", TRAIN), tar_member("w", BOMB)])

    response = post_bundle(small_server, data)

    assert response.status_code == 422
    assert "'w'" in response.json()["detail"]
    assert "unpacked" in response.json()["detail"]


def test_bundle_server_fails_named_entry_that_is_missing(server):
    data = tar_bytes([tar_member("main.py", TRAIN)])

    response = post_bundle(server, data, entry="train.py")
    bundle = response.json()

    assert response.status_code == 200
    assert bundle["validation_status"] == "failed"
    assert bundle["entry_point_verified"] is False
    assert "'train.py' is missing" in bundle["validation_errors"][0]


def test_bundle_server_warns_published_client_without_entry(server):
    data = tar_bytes([tar_member("main.py", TRAIN)])

    bundle = post_bundle(server, data).json()

    assert bundle["validation_status"] == "ready"
    assert bundle["validation_errors"] == []
    assert "'train.py' is missing" in bundle["validation_warnings"][0]


# --wait against a server that validates after finalize returns.


def test_bundle_wait_exits_nonzero_when_validation_fails(
    cli, server, tmp_path
):
    reason = "entry point 'train.py' does not compile"
    proxy = ValidatingProxy(server.url, failed_with=reason)
    env = {"PDTRAIN_API_URL": proxy.url}
    try:
        result = cli(
            "bundle",
            "upload",
            make_source(tmp_path, "zip"),
            "--name",
            "w",
            "--wait",
            env=env,
        )
    finally:
        proxy.close()

    assert result.returncode == 1
    assert "failed validation" in result.stderr
    assert reason in result.stderr
    assert "Traceback" not in result.stderr
    assert proxy.bundle_reads >= 2


def test_bundle_wait_returns_once_validated(cli, server, tmp_path):
    proxy = ValidatingProxy(server.url)
    env = {"PDTRAIN_API_URL": proxy.url}
    try:
        result = cli(
            "bundle",
            "upload",
            make_source(tmp_path, "zip"),
            "--name",
            "w",
            "--wait",
            "-f",
            "json",
            env=env,
        )
    finally:
        proxy.close()

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["validation_status"] == "ready"
    assert proxy.bundle_reads >= 2


# A bundle uploaded as a .zip trains on the local executor.

ZIP_TRAIN = b"""\
import os

print("epoch 1 from a zip bundle", flush=True)
with open(os.path.join(os.environ["SM_MODEL_DIR"], "model.txt"), "w") as f:
    f.write("ok\\n")
"""


def test_bundle_from_zip_trains_on_local_executor(cli, tmp_path):
    source = make_source(tmp_path, "zip", {"train.py": ZIP_TRAIN})
    cli.json("bundle", "upload", source, "--name", "zipped", "--wait")

    run = cli.json("run", "create", "--bundle", "zipped", "--submit", "--wait")
    logs = cli("logs", run["id"])
    artifacts = cli.json("artifacts", "list", run["id"])

    assert run["status"] == "completed"
    assert "epoch 1 from a zip bundle" in logs.stdout
    assert "model.tar.gz" in {item["path"] for item in artifacts}
