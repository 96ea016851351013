"""Request bodies, size settings and byte ranges of transfers."""

import asyncio
import hashlib
import os
import threading

import pytest

from pdtrain_core import transfer_settings
from pdtrain_core.bodies import FileSlice, MultipartFormBody
from pdtrain_core.exceptions import UsageError
from pdtrain_core.hashing import BUFFER_COUNT, ThreadedSha256
from pdtrain_core.multipart import FileHasher
from pdtrain_orchestrator.api.ranged_file import (
    RangeNotSatisfiable,
    parse_range,
)
from pdtrain_orchestrator.storage.local import LocalObjectStore
from pdtrain_orchestrator.storage.presigned_post import (
    PresignedPostReceiver,
)


def test_file_slice_sends_its_range_and_hashes_it(tmp_path):
    path = tmp_path / "data.bin"
    path.write_bytes(bytes(range(256)) * 4096)
    seen = []

    body = FileSlice(path, offset=1000, length=600_000, progress=seen.append)
    sent = b"".join(body)

    assert len(body) == 600_000
    assert sent == path.read_bytes()[1000:601_000]
    assert body.digest.hexdigest() == hashlib.sha256(sent).hexdigest()
    assert sum(seen) == 600_000


def test_file_hasher_hashes_whole_file_past_block_ends(tmp_path):
    path = tmp_path / "data.bin"
    content = os.urandom(3 * 1024 * 1024 + 7)
    path.write_bytes(content)

    digest = FileHasher(path, threading.Event()).result()

    assert digest == hashlib.sha256(content).hexdigest()


def test_threaded_sha256_reuses_buffers_in_order():
    content = os.urandom(5 * 1024 * 1024 + 11)
    hasher = ThreadedSha256()
    buffer_ids = set()

    for start in range(0, len(content), 1000 * 1000):
        block = content[start : start + 1000 * 1000]
        buffer = hasher.take()
        buffer_ids.add(id(buffer))
        buffer[: len(block)] = block
        hasher.submit(buffer, len(block))

    assert hasher.hexdigest() == hashlib.sha256(content).hexdigest()
    assert len(buffer_ids) <= BUFFER_COUNT


def test_file_slice_rewind_takes_back_progress(tmp_path):
    path = tmp_path / "data.bin"
    path.write_bytes(bytes(300_000))
    seen = []
    body = FileSlice(path, progress=seen.append)
    next(iter(body))

    body.rewind_progress()

    assert sum(seen) == 0


def test_form_body_is_parsed_by_the_server(tmp_path):
    path = tmp_path / "my data+100% ü.csv"
    path.write_bytes(b"a,b\n" * 100_000)
    store = LocalObjectStore(tmp_path / "objects", b"secret")
    store.prepare()
    key = "owner/datasets/x/y/" + path.name
    fields = store.presigned_post("http://h", key, 60, "text/csv")["fields"]
    body = MultipartFormBody(fields, FileSlice(path), path.name, "text/csv")
    encoded = b"".join(body)

    async def chunks():
        for start in range(0, len(encoded), 65536):
            yield encoded[start : start + 65536]

    receiver = PresignedPostReceiver(store, lambda key: 10**9)
    stored = asyncio.run(receiver.receive(body.content_type, chunks()))

    assert len(body) == len(encoded)
    assert stored == key
    assert store.path_for(key).read_bytes() == path.read_bytes()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5000", 5000),
        ("512KiB", 512 * 1024),
        ("100MiB", 100 * 1024**2),
        ("100M", 100 * 1024**2),
        ("1.5GiB", 3 * 1024**3 // 2),
    ],
)
def test_parse_size_reads_units(text, expected):
    assert transfer_settings.parse_size(text, "SIZE") == expected


def test_settings_reject_bad_values():
    with pytest.raises(UsageError, match="PDTRAIN_PART_SIZE='lots'"):
        transfer_settings.from_environ({"PDTRAIN_PART_SIZE": "lots"})
    with pytest.raises(UsageError, match="from 1 to 64"):
        transfer_settings.from_environ({"PDTRAIN_TRANSFER_WORKERS": "0"})


def test_settings_default_to_100_mib_threshold_and_4_workers():
    settings = transfer_settings.from_environ({})

    assert settings.multipart_threshold == 100 * 1024**2
    assert settings.workers == 4


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("bytes=0-99", (0, 99)),
        ("bytes=100-", (100, 999)),
        ("bytes=-10", (990, 999)),
        ("bytes=900-5000", (900, 999)),
        ("bytes=0-1,5-6", None),
        ("items=0-1", None),
    ],
)
def test_parse_range_reads_single_ranges(header, expected):
    assert parse_range(header, 1000) == expected


@pytest.mark.parametrize("header", ["bytes=1000-", "bytes=5-2", "bytes=-0"])
def test_parse_range_rejects_unsatisfiable(header):
    with pytest.raises(RangeNotSatisfiable):
        parse_range(header, 1000)
