import hashlib
import http.server
import json
import threading

import pytest

from pdtrain_core import transfer
from pdtrain_core.client import Client, make_session
from pdtrain_core.exceptions import NotFound, ServerUnavailable, TransferError


class Handler(http.server.BaseHTTPRequestHandler):
    """Serve canned responses by path and count requests per path."""

    routes = {}
    hits = {}

    def do_GET(self):
        path = self.path.split("?")[0]
        self.hits[path] = self.hits.get(path, 0) + 1
        status, body = self.routes[path](self.hits[path])
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    Handler.routes, Handler.hits = {}, {}
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield Handler, f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    httpd.server_close()


def test_client_missing_capabilities_means_none(server):
    handler, url = server
    handler.routes["/v1/capabilities"] = lambda n: (404, {"detail": "no"})

    assert Client(url).capabilities() == frozenset()


def test_client_retries_get_on_503(server):
    handler, url = server
    handler.routes["/v1/runs"] = lambda n: (503, {}) if n < 3 else (200, [])
    client = Client(url, session=make_session(retries=3))
    client.session.adapters["http://"].max_retries.backoff_factor = 0

    assert client.list_runs(limit=5) == []
    assert handler.hits["/v1/runs"] == 3


def test_client_accepts_items_object_and_array(server):
    handler, url = server
    handler.routes["/v1/datasets"] = lambda n: (
        200,
        {"items": [{"id": "d1", "name": "iris"}], "total": 1},
    )
    handler.routes["/v1/bundles"] = lambda n: (200, [{"id": "b1"}])
    client = Client(url)

    assert client.list_datasets(limit=10) == [{"id": "d1", "name": "iris"}]
    assert client.list_bundles(limit=10) == [{"id": "b1"}]


def test_client_not_found_carries_detail(server):
    handler, url = server
    handler.routes["/v1/runs/r9"] = lambda n: (
        404,
        {"detail": "run r9 not found", "code": "not_found"},
    )

    with pytest.raises(NotFound, match=r"run r9 not found \(HTTP 404\)"):
        Client(url).get_run("r9")


def test_client_unreachable_raises_server_unavailable():
    client = Client("http://127.0.0.1:9", session=make_session(retries=0))

    with pytest.raises(ServerUnavailable, match="connection refused"):
        client.get_quota()


def test_download_checks_sha256_and_leaves_nothing(server, tmp_path):
    handler, url = server
    handler.routes["/blob"] = lambda n: (200, b"model bytes")
    target = tmp_path / "model.tar.gz"

    with pytest.raises(TransferError, match="sha256"):
        transfer.download_file(f"{url}/blob?signature=s", target, "0" * 64)

    assert list(tmp_path.iterdir()) == []


def test_download_writes_verified_file(server, tmp_path):
    handler, url = server
    handler.routes["/blob"] = lambda n: (200, b"model bytes")
    digest = hashlib.sha256(b"model bytes").hexdigest()
    target = tmp_path / "model.tar.gz"

    transfer.download_file(f"{url}/blob", target, digest, 11)

    assert target.read_bytes() == b"model bytes"
