"""A stand-in for a Discourse's admin API, for the LMS's tests: a real HTTP server (``http.server``
in a thread, 127.0.0.1, a free port) answering the calls ``lms.discourse.client`` makes, the way
Discourse does (its routes, its JSON), and recording every call.

It keeps groups (with members), categories and the users DiscourseConnect created (by
``external_id``), checks ``Api-Key`` and ``Api-Username`` (403 otherwise, as Discourse does), and
``fake.failing = True`` answers every call 500 (a Discourse that is down).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tests.support.http_servers import serve_loopback, stop_serving

API_KEY = "discourse-api-key-for-tests"
API_USERNAME = "system"
CONNECT_SECRET = "discourse-connect-secret-for-tests"  # DISCOURSE_CONNECT_SECRET


@dataclass
class Call:
    method: str
    path: str
    body: Any

    def __repr__(self) -> str:
        return f"{self.method} {self.path} {self.body!r}"


@dataclass
class FakeDiscourse:
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    categories: dict[int, dict[str, Any]] = field(default_factory=dict)
    users: dict[str, str] = field(default_factory=dict)  # external_id -> username
    calls: list[Call] = field(default_factory=list)
    failing: bool = False
    server: ThreadingHTTPServer | None = None
    next_id: int = 100

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def writes(self) -> list[Call]:
        """The calls that change something, in order."""
        return [call for call in self.calls if call.method != "GET"]

    def members(self, group: str) -> set[str]:
        return set(self.groups[group]["members"])

    def start(self) -> FakeDiscourse:
        self.server = serve_loopback(self.handle)
        return self

    def stop(self) -> None:
        if self.server is not None:
            stop_serving(self.server)

    # -- answering ------------------------------------------------------------------------------
    def handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        body = json.loads(handler.rfile.read(length)) if length else None
        self.calls.append(Call(method, parts.path, body))
        if (handler.headers.get("Api-Key"), handler.headers.get("Api-Username")) != (
            API_KEY, API_USERNAME
        ):
            return self.send(handler, 403, {"errors": ["You are not permitted to view the "
                                                       "requested resource."]})
        if self.failing:
            return self.send(handler, 500, {"errors": ["Internal Server Error"]})
        status, answer = self.route(method, unquote(parts.path), body, parse_qs(parts.query))
        self.send(handler, status, answer)

    @staticmethod
    def send(handler: BaseHTTPRequestHandler, status: int, answer: Any) -> None:
        data = json.dumps(answer).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def _id(self) -> int:
        self.next_id += 1
        return self.next_id

    def _group_by_id(self, group_id: int) -> dict[str, Any] | None:
        return next((g for g in self.groups.values() if g["id"] == group_id), None)

    def route(self, method: str, path: str, body: Any, query: dict) -> tuple[int, Any]:
        not_found = (404, {"errors": ["The requested URL or resource could not be found."]})
        if method == "POST" and path == "/admin/groups.json":
            group = body["group"]
            if group["name"] in self.groups:
                return 422, {"errors": ["Name has already been taken"]}
            self.groups[group["name"]] = {**group, "id": self._id(), "members": set()}
            return 200, {"basic_group": {"id": self.groups[group["name"]]["id"],
                                         "name": group["name"]}}
        if match := re.fullmatch(r"/groups/([^/]+)/members\.json", path):
            if method == "GET":
                group = self.groups.get(match[1])
                if group is None:
                    return not_found
                members = sorted(group["members"])
                limit, offset = int(query["limit"][0]), int(query["offset"][0])
                return 200, {"members": [{"username": m} for m in members[offset:offset + limit]],
                             "owners": [], "meta": {"total": len(members), "limit": limit,
                                                    "offset": offset}}
            group = self._group_by_id(int(match[1]))
            if group is None:
                return not_found
            usernames = [u for u in body["usernames"].split(",") if u]
            if method == "PUT":
                group["members"].update(usernames)
            else:
                group["members"].difference_update(usernames)
            return 200, {"success": "OK", "usernames": usernames}
        if match := re.fullmatch(r"/groups/([^/]+)\.json", path):
            if method == "GET":
                group = self.groups.get(match[1])
                return not_found if group is None else (200, {"group": {
                    "id": group["id"], "name": group["name"], "full_name": group["full_name"]}})
            group = self._group_by_id(int(match[1]))
            if group is None:
                return not_found
            group.update(body["group"])
            return 200, {"success": "OK"}
        if path == "/categories.json" and method == "GET":
            return 200, {"category_list": {"categories": [
                {"id": cid, "slug": c["slug"], "name": c["name"]}
                for cid, c in self.categories.items()]}}
        if path == "/categories.json" and method == "POST":
            if any(c["slug"] == body["slug"] for c in self.categories.values()):
                return 422, {"errors": ["Category Name has already been taken"]}
            cid = self._id()
            self.categories[cid] = dict(body)
            return 200, {"category": {"id": cid, "slug": body["slug"], "name": body["name"]}}
        if (match := re.fullmatch(r"/categories/(\d+)\.json", path)) and method == "PUT":
            if int(match[1]) not in self.categories:
                return not_found
            self.categories[int(match[1])].update(body)
            return 200, {"success": "OK", "category": {"id": int(match[1])}}
        if (match := re.fullmatch(r"/u/by-external/(.+)\.json", path)) and method == "GET":
            username = self.users.get(match[1])
            return not_found if username is None else (200, {"user": {"username": username}})
        return not_found
