"""A local stand-in for the GitHub REST API that records every request it gets.

It keeps just enough state to answer like GitHub for what rally-gitops uses (users, teams,
environments, branch policies, issue comments with Link pagination, deployments and statuses), and
can be told to answer the next matching requests with a given status and headers (5xx, limits).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    """What the server received: method, path (without query), query, headers and JSON body."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


@dataclass
class FakeGitHub:
    """State of the fake API; ``url`` is set once the server is listening."""

    url: str = ""
    requests: list[Request] = field(default_factory=list)
    users: dict[str, int] = field(default_factory=dict)
    teams: dict[str, int] = field(default_factory=dict)  # "org/slug" -> id
    repos: set[str] = field(default_factory=set)
    read_only: set[str] = field(default_factory=set)  # repos where the token is not admin
    environments: dict[str, dict[str, Any]] = field(default_factory=dict)
    policies: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    deployments: list[dict[str, Any]] = field(default_factory=list)
    statuses: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    scripted: list[tuple[str, str, int, dict[str, str], Any]] = field(default_factory=list)
    token: str = ""
    _next_id: int = 1000

    def script(self, method: str, path: str, status: int, headers=None, body=None) -> None:  # type: ignore[no-untyped-def]
        """Answer the next ``method path`` with this status (each scripted answer used once)."""
        self.scripted.append((method, path, status, headers or {}, body or {"message": "x"}))

    def calls(self, *methods: str) -> list[tuple[str, str]]:
        """``(method, path)`` of every recorded request (of the given methods only, if any)."""
        return [(r.method, r.path) for r in self.requests if not methods or r.method in methods]

    def new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def answer(self, req: Request) -> tuple[int, dict[str, str], Any]:
        for i, (method, path, status, headers, body) in enumerate(self.scripted):
            if method == req.method and path == req.path:
                del self.scripted[i]
                return status, headers, body
        if req.headers.get("authorization") != f"Bearer {self.token}":
            return 401, {}, {"message": "Bad credentials"}
        parts = req.path.strip("/").split("/")
        if parts[0] == "users" and len(parts) == 2 and parts[1] in self.users:
            return 200, {}, {"login": parts[1], "id": self.users[parts[1]], "type": "User"}
        if parts[0] == "orgs" and len(parts) == 4 and f"{parts[1]}/{parts[3]}" in self.teams:
            return 200, {}, {"slug": parts[3], "id": self.teams[f"{parts[1]}/{parts[3]}"]}
        if parts[0] != "repos" or "/".join(parts[1:3]) not in self.repos:
            return 404, {}, {"message": "Not Found"}
        if len(parts) == 3:
            admin = "/".join(parts[1:3]) not in self.read_only
            return 200, {}, {"full_name": "/".join(parts[1:3]), "permissions": {"admin": admin}}
        return self._repo_call(req, parts[3:])

    def _repo_call(self, req: Request, rest: list[str]) -> tuple[int, dict[str, str], Any]:
        method = req.method
        if rest[0] == "environments" and len(rest) == 2:
            name = rest[1]
            if method == "PUT":
                self.environments[name] = dict(req.body or {}, name=name)
                self.policies.setdefault(name, [])
                return 200, {}, self.environments[name]
            if name in self.environments:
                return 200, {}, self.environments[name]
        if rest[0] == "environments" and rest[2:] == ["deployment-branch-policies"]:
            if rest[1] not in self.environments:
                return 404, {}, {"message": "Not Found"}
            items = self.policies[rest[1]]
            if method == "POST":
                if any(p["name"] == req.body["name"] for p in items):
                    return 303, {}, {"message": "already exists"}
                items.append({"id": self.new_id(), **req.body})
                return 200, {}, items[-1]
            return 200, {}, {"total_count": len(items), "branch_policies": items}
        if rest[0] == "issues" and rest[2:] == ["comments"]:
            items = self.comments.setdefault(int(rest[1]), [])
            if method == "POST":
                items.append({"id": self.new_id(), "body": req.body["body"]})
                return 201, {}, items[-1]
            return self._page(req, items)
        if rest[:2] == ["issues", "comments"] and method == "PATCH":
            for items in self.comments.values():
                for item in items:
                    if item["id"] == int(rest[2]):
                        item["body"] = req.body["body"]
                        return 200, {}, item
        if rest == ["deployments"]:
            if method == "POST":
                item = {"id": self.new_id(), "sha": req.body["ref"], **req.body}
                item.update(created_at="2026-11-24T06:00:00Z", creator={"login": "bot"})
                self.deployments.insert(0, item)
                return 201, {}, item
            q = req.query
            found = [
                d
                for d in self.deployments
                if all(d.get(k) == q[k] for k in ("sha", "environment", "task") if k in q)
            ]
            return 200, {}, found[: int(q.get("per_page", 30))]
        if rest[0] == "deployments" and rest[2:] == ["statuses"]:
            items = self.statuses.setdefault(int(rest[1]), [])
            if method == "POST":
                items.insert(
                    0, {"id": self.new_id(), "created_at": "2026-11-24T06:01:00Z", **req.body}
                )
                return 201, {}, items[0]
            return 200, {}, items[: int(req.query.get("per_page", 30))]
        return 404, {}, {"message": "Not Found"}

    def _page(self, req: Request, items: list[Any]) -> tuple[int, dict[str, str], Any]:
        per_page = int(req.query.get("per_page", 30))
        page = int(req.query.get("page", 1))
        chunk = items[(page - 1) * per_page : page * per_page]
        headers = {}
        if page * per_page < len(items):
            nxt = f"{self.url}{req.path}?per_page={per_page}&page={page + 1}"
            headers["Link"] = f'<{nxt}>; rel="next", <{self.url}{req.path}?page=1>; rel="first"'
        return 200, headers, chunk


@contextmanager
def serve(fake: FakeGitHub) -> Iterator[FakeGitHub]:
    """Run ``fake`` on 127.0.0.1 (a free port) in a thread for the duration of the block."""

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            req = Request(
                self.command,
                parts.path,
                {k: v[0] for k, v in parse_qs(parts.query).items()},
                {k.lower(): v for k, v in self.headers.items()},
                json.loads(raw) if raw else None,
            )
            fake.requests.append(req)
            status, headers, body = fake.answer(req)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
