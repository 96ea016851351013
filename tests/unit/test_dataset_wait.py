"""`dataset upload --wait` against a server that validates later.

This orchestrator validates before finalize returns, so these tests give
the command a stand-in client that reports "validating" first.
"""

import io
import types

import pytest

from pdtrain_core.exceptions import PdtrainError, WaitTimedOut
from pdtrain_plugins import dataset_upload

PENDING = {
    "status": "validating",
    "dataset_id": "d1",
    "version": 2,
    "validation": {"status": "validating", "metadata": {}},
}


class LaterClient:
    """Return the given version entries from get_dataset in turn."""

    def __init__(self, *entries):
        self.entries = list(entries)
        self.calls = 0

    def get_dataset(self, dataset_id):
        self.calls += 1
        entry = (
            self.entries.pop(0) if len(self.entries) > 1 else (self.entries[0])
        )
        return {"id": dataset_id, "versions": [entry] if entry else []}


def command(client):
    app = types.SimpleNamespace(
        client=client,
        settings=types.SimpleNamespace(embedded=True),
        stderr=io.StringIO(),
    )
    return dataset_upload.UploadDataset(app, None)


@pytest.fixture(autouse=True)
def fast_poll(monkeypatch):
    monkeypatch.setattr(dataset_upload, "VALIDATION_POLL", 0)


def validation(status, errors=()):
    metadata = {"file_type": "csv", "row_count": 5, "column_count": 2}
    return {"status": status, "metadata": metadata, "errors": list(errors)}


def test_upload_wait_polls_until_validated():
    client = LaterClient(
        None,
        {"version": 2, "validation": validation("validating")},
        {"version": 2, "validation": validation("passed")},
    )

    result = command(client)._settle(dict(PENDING), "rows", wait=True)

    assert result["validation"]["status"] == "passed"
    assert result["validation"]["metadata"]["row_count"] == 5
    assert client.calls == 3


def test_upload_wait_raises_for_failed_validation():
    failed = validation("failed", ["rows.csv: line 4 is not UTF-8 text"])
    client = LaterClient({"version": 2, "validation": failed})

    with pytest.raises(PdtrainError, match="rows.csv: line 4 is not UTF-8"):
        command(client)._settle(dict(PENDING), "rows", wait=True)


def test_upload_wait_times_out(monkeypatch):
    monkeypatch.setattr(dataset_upload, "VALIDATION_WAIT", 0.05)
    client = LaterClient(
        {"version": 2, "validation": validation("validating")}
    )

    with pytest.raises(WaitTimedOut, match="rows:2"):
        command(client)._settle(dict(PENDING), "rows", wait=True)


def test_upload_without_wait_leaves_it_validating():
    upload = command(LaterClient(None))

    result = upload._settle(dict(PENDING), "rows", wait=False)

    assert result["validation"]["status"] == "validating"
    assert "--wait" in upload.app.stderr.getvalue()
