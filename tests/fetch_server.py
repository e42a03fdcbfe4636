"""A file server on 127.0.0.1 for the fetch tests: honest by default (Range, If-Range, ETag, Content-Length), with
switches for the hostile behaviours ``recgym data fetch`` must not be fooled by."""

from __future__ import annotations

import hashlib
import http.server
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class Handler(http.server.BaseHTTPRequestHandler):
    """Serves the server's ``root``; logs ``(path, Range, If-Range)`` of each request. HTTP/1.0: the connection
    closes after each response, so a body without Content-Length ends at the close."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        srv = self.server
        srv.log.append((self.path, self.headers.get("Range"), self.headers.get("If-Range")))
        if srv.raw_reply is not None:  # not HTTP at all, or HTTP that breaks the client's limits
            self.wfile.write(srv.raw_reply)
            return
        path = srv.root / self.path.lstrip("/")
        if not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        etag = f'"{hashlib.sha256(data).hexdigest()[:16]}"'
        wanted = self.headers.get("Range")
        if_range = self.headers.get("If-Range")
        start = 0
        honour = wanted and not srv.ignore_range and (srv.ignore_if_range or if_range in (None, etag))
        if honour:
            start = int(wanted.removeprefix("bytes=").split("-")[0])
            if start >= len(data) or srv.always_416:
                self.send_response(416)
                if not srv.no_range_total:
                    self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        if srv.short_length is not None:  # announce (and send) fewer bytes than the file has
            body = body[: srv.short_length]
        if not srv.no_length:
            self.send_header("Content-Length", str(len(body)))
        if not srv.no_etag:
            self.send_header("ETag", etag)
        self.end_headers()
        time.sleep(srv.delay)
        if srv.truncate_once:  # announce the whole body, send half, close: a dropped connection
            srv.truncate_once = False
            body = body[: len(body) // 2]
        if srv.trickle:
            for i in range(len(body)):
                self.wfile.write(body[i : i + 1])
                self.wfile.flush()
                time.sleep(srv.trickle)
            return
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients that hang up mid-body are the point of several tests, not news for stderr


@contextmanager
def serve(root: Path, files: dict[str, bytes]) -> Iterator[http.server.ThreadingHTTPServer]:
    """A server holding ``files`` (relative path -> bytes) under ``root``; ``.url`` is its base URL."""
    for rel, data in files.items():
        put(root, rel, data)
    srv = Server(("127.0.0.1", 0), Handler)
    srv.root, srv.log = root, []
    srv.ignore_range = srv.ignore_if_range = srv.always_416 = srv.no_range_total = False
    srv.no_length = srv.no_etag = srv.truncate_once = False
    srv.short_length, srv.raw_reply, srv.trickle, srv.delay = None, None, 0.0, 0.0
    srv.url = f"http://127.0.0.1:{srv.server_address[1]}"
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()


def put(root: Path, rel: str, data: bytes) -> None:
    (root / rel).parent.mkdir(parents=True, exist_ok=True)
    (root / rel).write_bytes(data)
