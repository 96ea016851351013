"""An HTTP proxy on 127.0.0.1 that breaks chosen requests on purpose.

It stands between the CLI and a real orchestrator. The orchestrator
signs URLs for the host the request named, so the CLI sends its object
traffic through the proxy too. Rules pick requests by method and path
and then reset the connection, answer with a status, cut the response
body short, serve a truncated object, or delay the request.
"""

import dataclasses
import http.client
import http.server
import json
import socket
import struct
import threading
import time
import urllib.parse
from collections.abc import Callable

BLOCK = 64 * 1024


@dataclasses.dataclass
class Seen:
    """One request the proxy received and what it did with it."""

    method: str
    path: str
    query: dict
    range: str | None
    action: str


@dataclasses.dataclass
class Rule:
    """Apply action to matching requests after skipping the first `after`.

    times limits how often it applies (None: always).
    """

    match: Callable[[str, str, dict], bool]
    action: str
    after: int = 0
    times: int | None = None
    options: dict = dataclasses.field(default_factory=dict)
    matched: int = 0

    def applies(self, method, path, query) -> bool:
        if not self.match(method, path, query):
            return False
        self.matched += 1
        if self.matched <= self.after:
            return False
        applied = self.matched - self.after
        return self.times is None or applied <= self.times


def is_part_put(method, path, query) -> bool:
    return method == "PUT" and "partNumber" in query


def is_object_get(method, path, query) -> bool:
    return method == "GET" and path.startswith("/v1/objects/")


class _QuietServer(http.server.ThreadingHTTPServer):
    """Drop the tracebacks of connections that a test broke on purpose."""

    def handle_error(self, request, client_address):
        pass


class FaultyProxy:
    """Forward to upstream, applying the first rule that matches."""

    def __init__(self, upstream: str):
        parts = urllib.parse.urlsplit(upstream)
        self.upstream = (parts.hostname, parts.port)
        self.rules: list[Rule] = []
        self.seen: list[Seen] = []
        self.lock = threading.Lock()
        self.busy = 0
        handler = type("Handler", (_Handler,), {"proxy": self})
        self.server = _QuietServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, daemon=True
        )
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def add(self, match, action, after=0, times=None, **options) -> Rule:
        rule = Rule(match, action, after, times, options)
        with self.lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        with self.lock:
            self.rules.clear()
            self.seen.clear()

    def pick(self, method, path, query) -> Rule | None:
        with self.lock:
            for rule in self.rules:
                if rule.applies(method, path, query):
                    return rule
        return None

    def record(self, seen: Seen) -> None:
        with self.lock:
            self.seen.append(seen)

    def count(self, match, action=None) -> int:
        with self.lock:
            return sum(
                1
                for item in self.seen
                if match(item.method, item.path, item.query)
                and (action is None or item.action == action)
            )

    def wait_idle(self, timeout=30.0) -> None:
        """Wait until no request is in flight, delayed ones included."""
        deadline = time.monotonic() + timeout
        while self.busy:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.busy} requests still in flight")
            time.sleep(0.05)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    proxy: FaultyProxy

    def log_message(self, format, *args):
        """Keep test output clean."""

    def do_GET(self):
        self._handle()

    do_PUT = do_POST = do_DELETE = do_HEAD = do_GET

    def _handle(self):
        self.close_connection = True
        split = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(split.query))
        rule = self.proxy.pick(self.command, split.path, query)
        action = rule.action if rule else "pass"
        self.proxy.record(
            Seen(
                self.command,
                split.path,
                query,
                self.headers.get("Range"),
                action,
            )
        )
        options = rule.options if rule else {}
        with self.proxy.lock:
            self.proxy.busy += 1
        try:
            getattr(self, f"_do_{action}")(**options)
        finally:
            with self.proxy.lock:
                self.proxy.busy -= 1

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _do_reset(self):
        # Read part of the body, then drop the connection with a RST.
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(min(length, BLOCK))
        linger = struct.pack("ii", 1, 0)
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
        self.connection.close()

    def _do_status(self, status=503, detail="injected failure", headers=()):
        self._read_body()
        body = json.dumps({"detail": detail, "code": "injected"}).encode()
        self.send_response(status)
        for name, value in dict(headers).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def _do_delay(self, seconds=1.0):
        time.sleep(seconds)
        self._do_pass()

    def _do_pass(self, cut_after=None, truncate_to=None):
        upstream = http.client.HTTPConnection(*self.proxy.upstream)
        skip = {"connection"}
        if truncate_to is not None:
            skip.add("range")  # the whole object is fetched, then cut
        upstream.putrequest(
            self.command, self.path, skip_host=True, skip_accept_encoding=True
        )
        for name, value in self.headers.items():
            if name.lower() not in skip:
                upstream.putheader(name, value)
        upstream.endheaders()
        self._copy_body(upstream)
        response = upstream.getresponse()
        if truncate_to is not None:
            self._send_truncated(response, truncate_to)
        else:
            self._relay(response, cut_after)
        upstream.close()

    def _copy_body(self, upstream):
        remaining = int(self.headers.get("Content-Length") or 0)
        while remaining > 0:
            block = self.rfile.read(min(BLOCK, remaining))
            if not block:
                break
            upstream.send(block)
            remaining -= len(block)

    def _relay(self, response, cut_after):
        self.send_response(response.status)
        for name, value in response.getheaders():
            if name.lower() not in ("transfer-encoding", "connection"):
                self.send_header(name, value)
        self.send_header("Connection", "close")
        self.end_headers()
        sent = 0
        while block := response.read(BLOCK):
            if cut_after is not None and sent + len(block) > cut_after:
                self.wfile.write(block[: cut_after - sent])
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.wfile.write(block)
            sent += len(block)

    def _send_truncated(self, response, keep):
        """Act as a server whose object has only its first keep bytes."""
        data = response.read()[:keep]
        start = _range_start(self.headers.get("Range"))
        if start is not None and start >= len(data):
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{len(data)}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        status = 200 if start is None else 206
        body = data if start is None else data[start:]
        self.send_response(status)
        if start is not None:
            end = len(data) - 1
            self.send_header("Content-Range", f"bytes {start}-{end}/{keep}")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)


def _range_start(header):
    if not header or not header.startswith("bytes="):
        return None
    first = header[len("bytes=") :].split("-", 1)[0]
    return int(first) if first.isdigit() else None
