"""A stand-in for the tutor service's HTTP API (docs/tutor.md), for the LMS's tests.

A real HTTP server (``http.server`` in a thread, 127.0.0.1, a free port) under the prefix
``/services/tutor/api``, answering ``GET courses/{course}/summary`` and ``GET history`` like the
tutor: JSON, ``{"error", "message"}`` on errors, history newest first with ``learner=``,
``all=1`` and ``before=``. It checks ``Authorization: token <TOKEN>`` (403 otherwise, as the
hub-authenticated tutor would) and records every request, so tests can see what the LMS sent
and that it sent nothing at all. ``fake.misbehaving`` makes every answer ``"hang"`` (until the
server stops), ``"500"`` or ``"garbage"`` (an HTML page).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support.http_servers import serve_in_thread, stop_serving

PREFIX = "/services/tutor/api"
TOKEN = "lms-hub-service-token-for-tests"


@dataclass
class Seen:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]


@dataclass
class FakeTutor:
    exchanges: list[dict[str, Any]] = field(default_factory=list)
    summaries: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[Seen] = field(default_factory=list)
    misbehaving: str | None = None
    stopping: threading.Event = field(default_factory=threading.Event)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}{PREFIX}"

    def add_exchange(self, **fields: Any) -> dict[str, Any]:
        exchange = {
            "id": len(self.exchanges) + 1, "course": "python-101", "assignment": "ps1-basics",
            "learner": "grace", "mode": "explain", "cell_id": None, "error_type": "NameError",
            "question": None, "reply": "Python does not know that name.", "offline": False,
            "refused": False, "failed": False, "created_at": "2030-01-01T10:00:00+00:00",
            **fields,
        }
        self.exchanges.append(exchange)
        return exchange

    def start(self) -> FakeTutor:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake.handle(self)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        serve_in_thread(self.server)
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self.server is not None:
            stop_serving(self.server)

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        path = parts.path.removeprefix(PREFIX)
        query = parse_qs(parts.query)
        self.requests.append(Seen(path, query, {k.lower(): v for k, v in handler.headers.items()}))
        if self.misbehaving == "hang":
            self.stopping.wait(30)
            handler.close_connection = True
            return
        if self.misbehaving == "500":
            self._send(handler, 500, {"error": "internal", "message": "The tutor failed."})
            return
        if self.misbehaving == "garbage":
            self._send(handler, 200, b"<html>a proxy's page</html>")
            return
        if handler.headers.get("Authorization") != f"token {TOKEN}":
            self._send(handler, 403, {"error": "forbidden", "message": "lms may not use the "
                                      "tutor (the hub has not granted access to it)."})
            return
        course = (query.get("course") or [""])[0]
        if path.startswith("/courses/") and path.endswith("/summary"):
            course = path.split("/")[2]
            self._send(handler, 200, self.summaries.get(course, {
                "exchanges": 0, "learners": 0, "by_mode": {}, "error_types": [],
                "refused_leaks": 0}))
        elif path == "/history":
            learner = (query.get("learner") or [None])[0]
            before = int((query.get("before") or ["0"])[0]) or None
            found = [e for e in self.exchanges if e["course"] == course
                     and (learner is None or e["learner"] == learner)
                     and (before is None or e["id"] < before)]
            found.sort(key=lambda e: -e["id"])
            self._send(handler, 200, {"exchanges": found[:100]})
        else:
            self._send(handler, 404, {"error": "not-found", "message": f"No API at {path}."})

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, status: int, body: Any) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json" if not isinstance(body, bytes)
                            else "text/html")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)
