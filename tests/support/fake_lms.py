"""A stand-in for the LMS's ``GET /api/v1/courses/{slug}/assignments/``, for the tutor's tests.

A real HTTP server (``http.server`` in a thread, 127.0.0.1, a free port) answering like the
LMS's API v1 for the tutor's service account: DRF's limit/offset pages (``count``, ``next``,
``results``) of ``nbgrader_name``, ``title``, ``released``, ``tutor_policy`` and ``hints``. It
checks ``Authorization: Token <TOKEN>`` (401 otherwise) and counts the requests, so tests can
see whether the tutor asked. ``fake.failing`` answers 500, ``fake.garbage`` an HTML page.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support.http_servers import serve_in_thread, stop_serving

TOKEN = "tutor-service-account-token-for-tests01"
PATH = re.compile(r"^/api/v1/courses/(?P<course>[^/]+)/assignments/$")
PAGE = 2  # small pages, so the tutor must follow `next`


@dataclass
class FakeLMS:
    courses: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    failing: bool = False
    garbage: bool = False
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def set_policy(self, course: str, name: str, policy: str, hints: list[str] | None = None,
                   released: bool = True, title: str | None = None) -> None:
        assignments = self.courses.setdefault(course, [])
        assignments[:] = [a for a in assignments if a["nbgrader_name"] != name]
        assignments.append({"nbgrader_name": name, "title": title or name, "released": released,
                            "tutor_policy": policy, "hints": hints or []})

    def start(self) -> FakeLMS:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def answer(self, status: int, body: bytes, kind: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                fake.requests.append(parts.path)
                if self.headers.get("Authorization") != f"Token {TOKEN}":
                    self.answer(401, b'{"detail": "Invalid token."}')
                    return
                if fake.failing:
                    self.answer(500, b"<h1>Server Error (500)</h1>", "text/html")
                    return
                if fake.garbage:
                    self.answer(200, b"<html>a login page</html>", "text/html")
                    return
                found = PATH.match(parts.path)
                if not found or found["course"] not in fake.courses:
                    self.answer(404, b'{"detail": "No CoursePage matches the given query."}')
                    return
                items = fake.courses[found["course"]]
                offset = int(parse_qs(parts.query).get("offset", ["0"])[0])
                rest = offset + PAGE
                more = f"{fake.url}{parts.path}?limit={PAGE}&offset={rest}"
                body = {"count": len(items), "next": more if rest < len(items) else None,
                        "previous": None, "results": items[offset:rest]}
                self.answer(200, json.dumps(body).encode())

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        serve_in_thread(self.server)
        return self

    def stop(self) -> None:
        if self.server:
            stop_serving(self.server)
