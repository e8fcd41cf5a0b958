"""A stand-in for the grader service's HTTP API (docs/grading.md), for the LMS's tests.

A real HTTP server (``http.server`` in a thread, on 127.0.0.1 and a free port) under the prefix
``/services/grader/api``, answering like the grader: JSON, ``{"error", "message"}`` on errors,
releases remembered per course and assignment, submissions as the test sets them. It checks the
``Authorization: token <TOKEN>`` header as the grader would (403 otherwise) and records every
request, so tests can assert what the LMS sent and that it sent nothing at all.

``fake.misbehave(method, path, how)`` makes one route answer otherwise: ``("json", status,
body)``, ``("raw", status, content type, bytes)``, ``"hang"`` (never answers, until the server
stops) or ``"close"`` (closes the connection without a word).
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support.http_servers import serve_in_thread, stop_serving

PREFIX = "/services/grader/api"
TOKEN = "lms-hub-service-token-for-tests"
ON = re.compile(r"^/courses/(?P<course>[^/]+)/assignments/(?P<assignment>[^/]+)/(?P<what>\w+)$")
LATEST_STATUS = re.compile(
    r"/courses/(?P<course>[^/]+)/assignments/(?P<assignment>[^/]+)/submissions/latest/status"
)


@dataclass
class Recorded:
    method: str
    path: str  # below the prefix, e.g. /courses/python-101/assignments/ps1/release
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any  # the JSON body, or None

    @property
    def acting_for(self) -> str | None:
        return self.headers.get("x-studio-user")


@dataclass
class FakeGrader:
    requests: list[Recorded] = field(default_factory=list)
    released: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    submissions: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    csv: str = "course,assignment,learner,final_score\n"
    misbehaving: dict[tuple[str, str], Any] = field(default_factory=dict)
    stopping: threading.Event = field(default_factory=threading.Event)
    server: ThreadingHTTPServer | None = None

    # -- set-up ---------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}{PREFIX}"

    def start(self) -> FakeGrader:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                fake.handle(self)

            def do_POST(self):
                fake.handle(self)

            def do_DELETE(self):
                fake.handle(self)

            def log_message(self, *args):  # keep test output quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        serve_in_thread(self.server)
        return self

    def stop(self) -> None:
        self.stopping.set()  # lets hanging handlers end
        if self.server is not None:
            stop_serving(self.server)

    def misbehave(self, method: str, path: str, how: Any) -> None:
        self.misbehaving[method.upper(), path] = how

    def add_submission(self, course: str, assignment: str, **fields: Any) -> dict[str, Any]:
        number = sum(len(s) for s in self.submissions.values()) + 1
        submission = {
            "id": f"{number:032x}",
            "course": course,
            "assignment": assignment,
            "learner": "grace",
            "submitted_at": "2030-01-01T10:00:00+00:00",
            "status": "graded",
            "late": False,
            "score": 8.0,
            "max_score": 10.0,
            "message": "",
            **fields,
        }
        self.submissions.setdefault((course, assignment), []).append(submission)
        return submission

    def calls(self, method: str | None = None) -> list[Recorded]:
        return [r for r in self.requests if method is None or r.method == method]

    # -- the server side ------------------------------------------------------------------------

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        path = parts.path.removeprefix(PREFIX)
        self.requests.append(
            Recorded(
                method=handler.command,
                path=path,
                query=parse_qs(parts.query),
                headers={k.lower(): v for k, v in handler.headers.items()},
                body=body,
            )
        )
        how = self.misbehaving.get((handler.command, path))
        if how == "hang":
            self.stopping.wait(30)
            handler.close_connection = True
            return
        if how == "close":
            handler.close_connection = True
            with contextlib.suppress(OSError):
                handler.connection.shutdown(socket.SHUT_RDWR)
            return
        if how is not None:
            self._send_scripted(handler, how)
            return
        if not parts.path.startswith(PREFIX + "/"):
            self._json(handler, 404, {"error": "not-found", "message": "No such page."})
            return
        if handler.headers.get("Authorization") != f"token {TOKEN}":
            self._json(
                handler,
                403,
                {
                    "error": "forbidden",
                    "message": "lms may not use the "
                    "grader service (the hub has not granted access to it).",
                },
            )
            return
        status, answer = self._route(handler.command, path, body, parse_qs(parts.query))
        if isinstance(answer, str):
            self._raw(handler, status, "text/csv; charset=UTF-8", answer.encode())
        else:
            self._json(handler, status, answer)

    def _route(
        self, method: str, path: str, body: Any, query: dict[str, list[str]] | None = None
    ) -> tuple[int, Any]:
        if match := LATEST_STATUS.fullmatch(path):
            learner = (query or {}).get("learner", [""])[0]
            return self._latest_status(match["course"], match["assignment"], learner)
        if match := re.fullmatch(r"/courses/([^/]+)/assignments", path):
            course = match[1]
            listed = [
                {
                    "assignment": a,
                    "notebooks": r["notebooks"],
                    "released_at": r["released_at"],
                    "due_at": r["due_at"],
                    "submissions": [],
                    "feedback": [],
                }
                for (c, a), r in sorted(self.released.items())
                if c == course
            ]
            return 200, {"assignments": listed}
        if match := re.fullmatch(r"/courses/([^/]+)/grades\.csv", path):
            return 200, self.csv
        match = ON.match(path)
        if match is None:
            return 404, {"error": "not-found", "message": f"No API at {path}."}
        key = (match["course"], match["assignment"])
        what = match["what"]
        if (method, what) == ("POST", "release"):
            created = key not in self.released
            self.released[key] = {
                "assignment": key[1],
                "released_at": "2030-01-01T09:00:00+00:00",
                "due_at": body.get("due_at"),
                "late_policy": body.get("late_policy"),
                "feedback": body.get("feedback", "auto"),
                "notebooks": ["problems.ipynb"],
            }
            return (201 if created else 200), self.released[key]
        if (method, what) == ("DELETE", "release"):
            if self.released.pop(key, None) is None:
                return 404, {
                    "error": "not-found",
                    "message": f"'{key[1]}' is not released in {key[0]}",
                }
            return 204, None
        submissions = self.submissions.get(key, [])
        if (method, what) == ("GET", "submissions"):
            return 200, {"submissions": submissions}
        if (method, what) == ("POST", "regrade"):
            wanted = (body or {}).get("submissions")
            known = {s["id"] for s in submissions}
            if wanted is not None and set(wanted) - known:
                missing = ", ".join(sorted(set(wanted) - known))
                return 400, {
                    "error": "invalid",
                    "message": f"no submissions {missing} of '{key[1]}' in {key[0]}",
                }
            ids = [s["id"] for s in submissions if wanted is None or s["id"] in wanted]
            for submission in submissions:
                if submission["id"] in ids:
                    submission["status"] = "queued"
            return 202, {"submissions": ids}
        if (method, what) == ("POST", "feedback"):
            return 200, {"released": [s["id"] for s in submissions if s["status"] == "graded"]}
        return 405, {"error": "method-not-allowed", "message": "Not here."}

    def _latest_status(self, course: str, assignment: str, learner: str) -> tuple[int, Any]:
        """The grading status of ``learner``'s newest submission, from the submission the test
        added (``failed`` is ``could-not-be-graded``; ``ahead`` as given, else 0 while queued)."""
        own = [s for s in self.submissions.get((course, assignment), [])
               if s["learner"] == learner]
        if not own:
            return 404, {"error": "not-found",
                         "message": f"{learner} has no submission of {assignment!r}."}
        newest = max(own, key=lambda s: s["submitted_at"])
        state = {"failed": "could-not-be-graded"}.get(newest["status"], newest["status"])
        graded = state == "graded"
        return 200, {
            "id": newest["id"], "course": course, "assignment": assignment, "learner": learner,
            "submitted_at": newest["submitted_at"], "late": newest["late"], "state": state,
            "ahead": newest.get("ahead", 0 if state == "queued" else None),
            "score": newest["score"] if graded else None,
            "max_score": newest["max_score"] if graded else None,
            "feedback_url": None, "message": newest["message"],
        }

    def _send_scripted(self, handler: BaseHTTPRequestHandler, how: Any) -> None:
        kind, status, *rest = how
        if kind == "json":
            self._json(handler, status, rest[0])
        else:
            content_type, data = rest
            self._raw(handler, status, content_type, data)

    def _json(self, handler: BaseHTTPRequestHandler, status: int, body: Any) -> None:
        if body is None:
            handler.send_response(status)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        self._raw(handler, status, "application/json; charset=UTF-8", json.dumps(body).encode())

    def _raw(self, handler, status: int, content_type: str, data: bytes) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)


def closed_port_url() -> str:
    """A grader URL where nothing listens (connection refused): a grader that is down."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}{PREFIX}"
