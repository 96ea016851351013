"""Uploads and downloads that survive failures, against a real server.

A FaultyProxy between the CLI and the orchestrator drops connections,
answers with errors or cuts bodies short; the checks read what reached
the server and what landed on disk.
"""

import json
import time

import pytest

from tests.functional.conftest import TRANSFER_ENV, start_server, stop_server
from tests.functional.faulty_proxy import (
    FaultyProxy,
    is_object_get,
    is_part_put,
)
from tests.functional.transfer_helpers import (
    MIB,
    PART,
    interrupt_when,
    sha256_of,
    write_random,
)

SEVEN_PARTS = 6 * PART + 12345


def is_object_post(method, path, query):
    return method == "POST" and path == "/v1/objects"


def get_ranges(proxy):
    """Return the Range header of each object GET the proxy saw."""
    return [
        seen.range
        for seen in proxy.seen
        if is_object_get(seen.method, seen.path, seen.query)
    ]


def partials(folder):
    return sorted(p.name for p in folder.iterdir() if "partial" in p.name)


def test_multipart_upload_resumes_after_network_drop(pcli, proxy, tmp_path):
    data = tmp_path / "big.csv"
    digest = write_random(data, SEVEN_PARTS)
    proxy.add(is_part_put, "reset", after=3)

    first = pcli("dataset", "upload", data, "--name", "big")
    sent_before = proxy.count(is_part_put, "pass")
    proxy.clear()
    listed_between = pcli.json("dataset", "list")
    second = pcli.json("dataset", "upload", data, "--name", "big")
    sent_after = proxy.count(is_part_put)
    pcli("dataset", "download", "big", "--output", tmp_path / "out")

    assert first.returncode == 1
    assert "3 of 7 parts are stored" in first.stderr
    assert "same command resumes" in first.stderr
    assert listed_between == []
    assert sent_before == 3
    assert sent_after == 4
    assert second["version"] == 1
    assert sha256_of(tmp_path / "out" / "big.csv") == digest


def test_multipart_upload_resumes_after_ctrl_c(pcli, proxy, tmp_path):
    data = tmp_path / "big.csv"
    digest = write_random(data, SEVEN_PARTS)
    # Parts after the second hang in the proxy until the CLI is stopped.
    proxy.add(is_part_put, "delay", after=2, seconds=5)

    def parts_held():
        if proxy.count(is_part_put, "delay") < 2:
            return False
        # The two parts that pass may still be in flight on a busy
        # machine. The held ones wait 5 s, so 2 s lets only those finish.
        time.sleep(2)
        return True

    stopped = interrupt_when(
        pcli, ["dataset", "upload", data, "--name", "big"], parts_held
    )
    proxy.clear()
    resumed = pcli.json("dataset", "upload", data, "--name", "big")
    sent_after = proxy.count(is_part_put)
    pcli("dataset", "download", "big", "--output", tmp_path / "out")

    assert stopped.returncode == 130
    assert resumed["version"] == 1
    assert sent_after == 5
    assert sha256_of(tmp_path / "out" / "big.csv") == digest


def test_download_resumes_after_cut_off(pcli, proxy, tmp_path):
    data = tmp_path / "rows.csv"
    digest = write_random(data, 3 * MIB)
    pcli.json("dataset", "upload", data, "--name", "rows")
    proxy.add(is_object_get, "pass", times=1, cut_after=MIB)

    result = pcli("dataset", "download", "rows", "--output", tmp_path / "out")
    ranges = get_ranges(proxy)

    assert result.returncode == 0, result.stderr
    assert ranges[0] is None
    assert ranges[1].startswith("bytes=")
    assert int(ranges[1][len("bytes=") : -1]) > 0
    assert sha256_of(tmp_path / "out" / "rows.csv") == digest


def test_download_resumes_on_next_run(pcli, proxy, tmp_path):
    data = tmp_path / "rows.csv"
    digest = write_random(data, 3 * MIB)
    pcli.json("dataset", "upload", data, "--name", "rows")
    out = tmp_path / "out"
    proxy.add(is_object_get, "pass", times=1, cut_after=MIB)
    proxy.add(is_object_get, "reset")

    first = pcli("dataset", "download", "rows", "--output", out)
    saved_after_first = (out / "rows.csv").exists()
    kept = partials(out)
    proxy.clear()
    second = pcli("dataset", "download", "rows", "--output", out)
    ranges = get_ranges(proxy)

    assert first.returncode == 1
    assert "same command resumes the download" in first.stderr
    assert not saved_after_first
    assert len(kept) == 1
    assert second.returncode == 0, second.stderr
    assert ranges == [f"bytes={MIB}-"]
    assert sha256_of(out / "rows.csv") == digest
    assert partials(out) == []


def test_download_of_truncated_body_fails_and_saves_nothing(
    pcli, proxy, tmp_path
):
    data = tmp_path / "rows.csv"
    write_random(data, 2 * MIB)
    pcli.json("dataset", "upload", data, "--name", "rows")
    out = tmp_path / "out"
    proxy.add(is_object_get, "pass", truncate_to=1000)

    result = pcli("dataset", "download", "rows", "--output", out)

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "rows.csv" in result.stderr
    assert "nothing was saved" in result.stderr
    assert not (out / "rows.csv").exists()
    assert not out.exists() or partials(out) == []


@pytest.fixture(scope="module")
def expiring_server(tmp_path_factory):
    """An orchestrator whose signed URLs expire after two seconds."""
    home = tmp_path_factory.mktemp("expiring")
    config = home / "server.yaml"
    config.write_text("limits:\n  url_expiry_seconds: 2\n")
    running = start_server(home / "home", ["--config", str(config)])
    yield running
    stop_server(running)


def test_multipart_upload_renews_expired_urls(expiring_server, cli, tmp_path):
    proxy = FaultyProxy(expiring_server.url)
    key = expiring_server.create_key("expiry")
    env = dict(
        cli.env,
        PDTRAIN_API_URL=proxy.url,
        PDTRAIN_API_KEY=key,
        PDTRAIN_TRANSFER_WORKERS="1",
        **TRANSFER_ENV,
    )
    # Each part waits 1.5 s in the proxy, so a URL signed with the
    # others is past its 2 s by the time the second part reaches the
    # server.
    proxy.add(is_part_put, "delay", seconds=1.5)
    data = tmp_path / "big.csv"
    digest = write_random(data, 2 * PART + 100)

    try:
        result = cli("dataset", "upload", data, "--name", "big", env=env)
        download = cli(
            "dataset", "download", "big", "--output", tmp_path / "out",
            env=dict(env, PDTRAIN_API_URL=expiring_server.url),
        )  # fmt: skip
    finally:
        proxy.close()

    assert result.returncode == 0, result.stderr
    assert "expired or was refused; renewing" in result.stderr
    assert download.returncode == 0, download.stderr
    assert sha256_of(tmp_path / "out" / "big.csv") == digest


@pytest.mark.parametrize("size", [1000, SEVEN_PARTS], ids=["post", "parts"])
def test_upload_keeps_odd_file_names(pcli, tmp_path, size):
    name = "my data+100% ünïcode.csv"
    data = tmp_path / name
    digest = write_random(data, size)

    uploaded = pcli("dataset", "upload", data, "--name", "odd")
    downloaded = pcli.json(
        "dataset", "download", "odd", "--output", tmp_path / "out"
    )

    assert uploaded.returncode == 0, uploaded.stderr
    assert downloaded[0]["file"].endswith(name)
    assert sha256_of(tmp_path / "out" / name) == digest


def test_upload_and_download_zero_byte_file(pcli, tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")

    uploaded = pcli.json("dataset", "upload", empty, "--name", "empty")
    downloaded = pcli(
        "dataset", "download", "empty", "--output", tmp_path / "o"
    )

    assert uploaded["size_bytes"] == 0
    assert downloaded.returncode == 0, downloaded.stderr
    assert (tmp_path / "o" / "empty.jsonl").read_bytes() == b""


def test_upload_retries_5xx_then_succeeds(pcli, proxy, tmp_path):
    data = tmp_path / "rows.csv"
    write_random(data, 1000)
    proxy.add(
        is_object_post, "status", times=2, status=503,
        headers={"Retry-After": "1"},
    )  # fmt: skip

    started = time.monotonic()
    result = pcli("dataset", "upload", data, "--name", "rows", "-f", "json")
    elapsed = time.monotonic() - started

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["version"] == 1
    assert proxy.count(is_object_post) == 3
    assert result.stderr.count("Retrying POST of rows.csv") == 2
    assert elapsed >= 2.0  # two Retry-After waits of 1 s


def test_multipart_part_retries_5xx(pcli, proxy, tmp_path):
    data = tmp_path / "big.csv"
    digest = write_random(data, 2 * PART + 7)
    proxy.add(is_part_put, "status", times=1, status=500)

    result = pcli("dataset", "upload", data, "--name", "big")
    pcli("dataset", "download", "big", "--output", tmp_path / "out")

    assert result.returncode == 0, result.stderr
    assert proxy.count(is_part_put) == 4
    assert sha256_of(tmp_path / "out" / "big.csv") == digest


def test_upload_4xx_is_not_retried(pcli, proxy, tmp_path):
    data = tmp_path / "rows.csv"
    write_random(data, 1000)
    proxy.add(is_object_post, "status", status=400, detail="form is broken")

    result = pcli("dataset", "upload", data, "--name", "rows")
    lines = [line for line in result.stderr.splitlines() if line.strip()]

    assert result.returncode == 1
    assert proxy.count(is_object_post) == 1
    assert len(lines) == 1
    assert "form is broken (HTTP 400)" in lines[0]
    assert "Traceback" not in result.stderr
