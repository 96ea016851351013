"""A proxy that makes a real orchestrator look like it validates later.

The reference orchestrator validates a bundle inside finalize, but the
published contract lets a server answer `validating` and finish later.
ValidatingProxy forwards every request to a real orchestrator and
rewrites only the bundle's validation_status: `validating` in the
finalize answer and the first read, then the real answer, or `failed`
with a given reason.
"""

import http.client
import http.server
import json
import re
import threading
import urllib.parse

BUNDLE_PATH = re.compile(r"/v1/bundles/([^/?]+)$")
HOP_HEADERS = {"connection", "transfer-encoding", "keep-alive", "host"}


class ValidatingProxy:
    """Forward to upstream; delay and optionally fail bundle validation."""

    def __init__(self, upstream: str, failed_with: str | None = None):
        self.upstream = urllib.parse.urlsplit(upstream)
        self.failed_with = failed_with
        self.bundle_reads = 0
        self._pending = set()
        self._server = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), self._handler()
        )
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, daemon=True
        )
        self._thread.start()

    def close(self):
        self._server.shutdown()
        self._server.server_close()

    def rewrite(self, method: str, path: str, body: dict) -> dict:
        """Return the response body the CLI receives for one request."""
        if method == "POST" and path.startswith("/v1/bundles/finalize"):
            self._pending.add(body["id"])
            return dict(body, validation_status="validating")
        match = BUNDLE_PATH.match(path)
        if method != "GET" or not match or match[1] not in self._pending:
            return body
        self.bundle_reads += 1
        if self.bundle_reads == 1:
            return dict(body, validation_status="validating")
        if self.failed_with:
            return dict(
                body,
                validation_status="failed",
                validation_errors=[self.failed_with],
            )
        return body

    def _handler(self):
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _forward(self):
                length = int(self.headers.get("Content-Length") or 0)
                data = self.rfile.read(length) if length else None
                headers = {
                    k: v
                    for k, v in self.headers.items()
                    if k.lower() not in HOP_HEADERS
                }
                upstream = http.client.HTTPConnection(
                    proxy.upstream.hostname, proxy.upstream.port, timeout=60
                )
                upstream.request(self.command, self.path, data, headers)
                answer = upstream.getresponse()
                payload = answer.read()
                if answer.status == 200 and "json" in (
                    answer.getheader("Content-Type") or ""
                ):
                    path = urllib.parse.urlsplit(self.path).path
                    rewritten = proxy.rewrite(
                        self.command, path, json.loads(payload)
                    )
                    payload = json.dumps(rewritten).encode()
                self.send_response(answer.status)
                for key, value in answer.getheaders():
                    if key.lower() not in HOP_HEADERS | {"content-length"}:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                upstream.close()

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward

        return Handler
