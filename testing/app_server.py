"""A tiny application stand-in for tests: an HTTP server on 127.0.0.1 in a thread.

Each route answers from a script of responses (the last one repeats), and every request is
recorded, so a test can say "503 twice, then 200 with the new commit" and check what was sent.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Reply:
    """One scripted answer: a status and a JSON (dict/list) or text body."""

    status: int = 200
    body: Any = None


@dataclass(frozen=True)
class Request:
    """One request the server received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class AppServer:
    """Routes (path without query → list of replies) and the requests received so far."""

    port: int = 0
    routes: dict[str, list[Reply]] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def script(self, path: str, *replies: Reply) -> None:
        """Answer ``path`` with these replies in turn; the last repeats."""
        with self.lock:
            self.routes[path] = list(replies)

    def received(self, path: str) -> list[Request]:
        with self.lock:
            return [r for r in self.requests if r.path.split("?")[0] == path]

    def answer(self, request: Request) -> Reply:
        with self.lock:
            self.requests.append(request)
            replies = self.routes.get(request.path.split("?")[0])
            if not replies:
                return Reply(404, {"error": "no such route"})
            return replies.pop(0) if len(replies) > 1 else replies[0]


@contextmanager
def serve() -> Iterator[AppServer]:
    """Start an ``AppServer`` on a free port of 127.0.0.1; stop it afterwards."""
    app = AppServer()

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            request = Request(
                self.command, self.path, dict(self.headers.items()), self.rfile.read(length)
            )
            reply = app.answer(request)
            if isinstance(reply.body, str):
                data, kind = reply.body.encode(), "text/plain"
            else:
                data, kind = json.dumps(reply.body).encode(), "application/json"
            self.send_response(reply.status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = _handle

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    app.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield app
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
