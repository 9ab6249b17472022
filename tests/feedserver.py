"""A real HTTP server on 127.0.0.1 for feed tests and benchmarks.

    with FeedServer() as server:
        server.route("/feed.xml", body=rss_bytes, headers={"Content-Type": "application/rss+xml"},
                     etag='"v1"')                      # answers 304 to If-None-Match: "v1"
        server.redirect("/old", "/feed.xml", status=301)
        server.route("/slow", body=b"x" * 100, drip=0.5)   # one byte every 0.5 s
        server.route("/bomb", body=gzip_bytes, headers={"Content-Encoding": "gzip"})
        url = server.url("/feed.xml")
        ...
        server.requests_for("/feed.xml")   # what clients sent (method, path, headers)
        server.wait_for_requests("/feed.xml", 2, timeout=10)  # block until it has come twice

Routes can be replaced while the server runs (the next request sees the new one); a
``handler`` answers every path without a route (used by the benchmark for 1,000 feeds).
Runs in a background thread (``ThreadingHTTPServer``), so it serves while an asyncio test
awaits; HTTP/1.1 with keep-alive.
"""

from __future__ import annotations

import gzip
import socket
import sys
import threading
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any


@dataclass(frozen=True)
class Route:
    status: int = 200
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    etag: str | None = None  # sent as ETag; a matching If-None-Match gets 304
    last_modified: str | None = None  # sent as Last-Modified; If-Modified-Since equal: 304
    drip: float = 0.0  # seconds between single bytes of the body (0: send at once)
    gzip: bool = False  # compress the body (Content-Encoding: gzip)


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: Mapping[str, str]  # lower-cased names


Handler = Callable[[str, Mapping[str, str]], Route]


def gzip_bomb(decompressed_size: int) -> bytes:
    """Gzip bytes that inflate to ``decompressed_size`` zero bytes (built without ever
    holding the inflated data)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b"\0" * 2**20
    parts = []
    remaining = decompressed_size
    while remaining > 0:
        parts.append(compressor.compress(block[: min(remaining, len(block))]))
        remaining -= len(block)
    parts.append(compressor.flush())
    return b"".join(parts)


class QuietHTTPServer(ThreadingHTTPServer):
    """Prints no traceback when a client resets its connection mid-request: clients under
    test (timeouts, size caps, cancelled polls) hang up on purpose, and under xdist the
    request threads' tracebacks only bury real failures. Any other error still prints."""

    def handle_error(
        self, request: socket.socket | tuple[bytes, socket.socket], client_address: Any
    ) -> None:
        if isinstance(sys.exc_info()[1], ConnectionResetError):
            return
        super().handle_error(request, client_address)


class FeedServer:
    def __init__(self, handler: Handler | None = None, host: str = "127.0.0.1") -> None:
        self._routes: dict[str, Route] = {}
        self._handler = handler
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._requests: list[RecordedRequest] = []
        self._in_flight = 0
        self.max_in_flight = 0  # the most requests it was answering at one moment
        self._stopping = threading.Event()
        self._httpd = QuietHTTPServer((host, 0), self._make_handler())
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> FeedServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FeedServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- routes ---------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def route(self, path: str, body: bytes | str = b"", **options: object) -> str:
        """Serve ``body`` at ``path`` (options: the fields of `Route`); returns the URL."""
        data = body.encode() if isinstance(body, str) else body
        self.set_route(path, Route(body=data, **options))  # type: ignore[arg-type]
        return self.url(path)

    def set_route(self, path: str, route: Route) -> None:
        with self._lock:
            self._routes[path] = route

    def redirect(self, path: str, to: str, status: int = 301) -> str:
        target = to if "://" in to else self.url(to)
        return self.route(path, status=status, headers={"Location": target})

    # --- what clients sent ----------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def requests_for(self, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == path]

    def wait_for_requests(
        self, path: str, count: int, timeout: float = 10.0
    ) -> list[RecordedRequest]:
        """Block until ``path`` has been requested ``count`` times (for daemon tests: a
        condition with a deadline, never a fixed sleep); `TimeoutError` after ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while True:
                found = [r for r in self._requests if r.path == path]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{path}: {len(found)} of {count} requests in {timeout}s")
                self._arrived.wait(left)

    # --- serving --------------------------------------------------------------------------

    def _enter(self) -> None:
        with self._lock:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)

    def _leave(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def _lookup(self, path: str, headers: Mapping[str, str]) -> Route:
        with self._lock:
            self._requests.append(RecordedRequest("GET", path, headers))
            route = self._routes.get(path)
            self._arrived.notify_all()
        if route is None and self._handler is not None:
            route = self._handler(path, headers)
        return route or Route(status=404, body=b"not found")

    def _make_handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                server._enter()
                try:
                    self._answer()
                finally:
                    server._leave()

            def _answer(self) -> None:
                headers = {k.lower(): v for k, v in self.headers.items()}
                route = server._lookup(self.path, headers)
                if _not_modified(route, headers):
                    self._send(304, _validators(route), b"", 0.0)
                    return
                body = gzip.compress(route.body) if route.gzip else route.body
                extra = dict(route.headers)
                if route.gzip:
                    extra["Content-Encoding"] = "gzip"
                self._send(route.status, {**_validators(route), **extra}, body, route.drip)

            def _send(
                self, status: int, headers: Mapping[str, str], body: bytes, drip: float
            ) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    if drip <= 0:
                        self.wfile.write(body)
                        return
                    for index in range(len(body)):
                        if server._stopping.is_set():
                            return
                        if index:
                            time.sleep(drip)  # between bytes, never after the last one
                        self.wfile.write(body[index : index + 1])
                        self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

            def log_message(self, format: str, *args: object) -> None:
                pass  # quiet: tests read `requests` instead

        return _Handler


def _validators(route: Route) -> dict[str, str]:
    found = {}
    if route.etag:
        found["ETag"] = route.etag
    if route.last_modified:
        found["Last-Modified"] = route.last_modified
    return found


def _not_modified(route: Route, headers: Mapping[str, str]) -> bool:
    if route.status != 200:
        return False
    if route.etag and headers.get("if-none-match") == route.etag:
        return True
    return bool(route.last_modified and headers.get("if-modified-since") == route.last_modified)


def rss(*items: Mapping[str, str], title: str = "Test feed", ttl: int | None = None) -> bytes:
    """A small RSS 2.0 document; each item's keys (guid, link, title, description) become
    elements (values are inserted as given: escape them yourself)."""
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>\n',
        f'<rss version="2.0"><channel><title>{title}</title>',
    ]
    if ttl is not None:
        parts.append(f"<ttl>{ttl}</ttl>")
    for item in items:
        fields = "".join(f"<{k}>{v}</{k}>" for k, v in item.items())
        parts.append(f"<item>{fields}</item>")
    parts.append("</channel></rss>")
    return "".join(parts).encode()
