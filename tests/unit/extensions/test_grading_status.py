"""The grading status extension's server side (extensions/pls_grading_status): a submission made
through nbgrader's Assignments panel is announced on the server's event bus by the studio's
exchange, followed by the extension and relayed from the grader's status endpoint
(docs/grading.md, "Grading status") with the server's own hub token.

The server is a real jupyter_server (pytest-jupyter) with nbgrader's assignment_list server
extension and this one loaded, as in the learner image; the grader is a small HTTP server in a
thread (nbgrader's submit blocks the server's event loop while it uploads).
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from pls_grading.exchange import SUBMITTED_EVENT as EMITTED
from pls_grading_status.followed import KEEP
from pls_grading_status.followed import SUBMITTED_EVENT as FOLLOWED

SERVER_TOKEN = "learner-server-hub-token"
WAIT_SECONDS = 30
COURSE, ASSIGNMENT = "python-101", "ps1-basics"
FRONTEND = (Path(__file__).resolve().parents[3] / "extensions" / "pls_grading_status" / "src"
            / "status.ts")
STATUS = re.compile(
    rf"/api/courses/{COURSE}/assignments/{ASSIGNMENT}/submissions/(\w+)/status"
)


@dataclass
class FakeGrader:
    """The grader's API for one released assignment: submissions answered 202 and kept,
    ``statuses[id]`` answered by the status endpoint (default: queued, 2 ahead)."""

    statuses: dict[str, Any] = field(default_factory=dict)
    requests: list[tuple[str, str, str]] = field(default_factory=list)
    submitted: list[str] = field(default_factory=list)
    url: str = ""

    def start(self) -> ThreadingHTTPServer:
        grader = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def answer(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def record(self) -> None:
                grader.requests.append(
                    (self.command, self.path, self.headers.get("Authorization", ""))
                )

            def do_GET(self) -> None:
                self.record()
                if self.path == f"/api/courses/{COURSE}/assignments":
                    return self.answer(200, {"assignments": [{
                        "assignment": ASSIGNMENT, "notebooks": [f"{ASSIGNMENT}.ipynb"],
                        "released_at": None, "due_at": None, "submissions": [], "feedback": [],
                    }]})
                match = STATUS.fullmatch(self.path)
                if match:
                    answer = grader.statuses.get(match[1], {"state": "queued", "ahead": 2})
                    if isinstance(answer, tuple):
                        return self.answer(*answer)
                    return self.answer(200, {"id": match[1], **answer})
                return self.answer(404, {"error": "not-found", "message": "No such thing."})

            def do_POST(self) -> None:
                self.record()
                self.rfile.read(int(self.headers["Content-Length"]))
                submission_id = f"{len(grader.submitted) + 1:032x}"
                grader.submitted.append(submission_id)
                return self.answer(202, {
                    "id": submission_id, "course": COURSE, "assignment": ASSIGNMENT,
                    "learner": "grace", "submitted_at": "2030-01-01T10:00:00+00:00",
                    "status": "queued", "late": False, "score": None, "max_score": None,
                    "message": "",
                })

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{server.server_address[1]}/api"
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server

    def status_requests(self) -> list[tuple[str, str, str]]:
        return [r for r in self.requests if r[1].endswith("/status")]


@pytest.fixture
def grader(monkeypatch):
    fake = FakeGrader()
    server = fake.start()
    monkeypatch.setenv("PLS_GRADER_URL", fake.url)
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", SERVER_TOKEN)
    yield fake
    server.shutdown()
    server.server_close()


@pytest.fixture
def grader_down(monkeypatch) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("PLS_GRADER_URL", f"http://127.0.0.1:{port}/services/grader/api")
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", SERVER_TOKEN)


@pytest.fixture
def jp_server_config():
    """The learner image's server: nbgrader's Assignments panel and this extension."""
    return {"ServerApp": {"jpserver_extensions": {
        "nbgrader.server_extensions.assignment_list": True, "pls_grading_status": True,
    }}}


@pytest.fixture
def assignment_folder(jp_root_dir, monkeypatch) -> Path:
    """The learner's fetched assignment, and the learner image's exchange configuration; the
    server runs in its root folder, as the learner's does (nbgrader reads its config there)."""
    monkeypatch.chdir(jp_root_dir)
    steps = {"exchange": "", "list": "List", "submit": "Submit"}
    config = {"ExchangeFactory": {
        step: f"pls_grading.exchange.HttpExchange{name}" for step, name in steps.items()
    }}
    (jp_root_dir / "nbgrader_config.json").write_text(json.dumps(config))
    folder = jp_root_dir / COURSE / ASSIGNMENT
    folder.mkdir(parents=True)
    (folder / f"{ASSIGNMENT}.ipynb").write_text('{"cells": []}')
    return folder


def announce(serverapp, number: int) -> str:
    """What the exchange emits once the grader stored submission ``number``."""
    submission_id = f"{number:032x}"
    serverapp.event_logger.emit(schema_id=FOLLOWED, data={
        "course": COURSE, "assignment": ASSIGNMENT, "submission": submission_id,
        "submitted_at": "2030-01-01T10:00:00+00:00",
    })
    return submission_id


async def followed(jp_fetch) -> list[dict]:
    response = await jp_fetch("pls-grading-status", "submissions")
    assert response.code == 200
    return json.loads(response.body)["submissions"]


async def test_a_submission_from_the_assignments_panel_is_followed_to_its_grade(
    grader, jp_fetch, jp_ws_fetch, assignment_folder
):
    events = await jp_ws_fetch("api", "events", "subscribe")
    submitted = await jp_fetch(
        "assignments", "submit", method="POST",
        body=urlencode({"course_id": COURSE, "assignment_id": ASSIGNMENT}),
    )
    assert json.loads(submitted.body).get("success", True) is not False, submitted.body
    (submission_id,) = grader.submitted
    # What JupyterLab's event socket gets (bounded: a missing event fails, never hangs).
    message = json.loads(await asyncio.wait_for(events.read_message(), WAIT_SECONDS))
    assert (message["schema_id"], message["submission"]) == (FOLLOWED, submission_id)
    events.close()

    (queued,) = await followed(jp_fetch)
    assert (queued["id"], queued["state"], queued["ahead"]) == (submission_id, "queued", 2)
    grader.statuses[submission_id] = {"state": "graded", "score": 8.0, "max_score": 10.0,
                                      "feedback_url": "https://lms.example.org/x/"}
    (graded,) = await followed(jp_fetch)
    assert (graded["state"], graded["score"], graded["max_score"]) == ("graded", 8.0, 10.0)
    assert {auth for _, _, auth in grader.status_requests()} == {f"token {SERVER_TOKEN}"}


async def test_the_grader_is_asked_only_for_submissions_without_a_result(
    grader, jp_fetch, jp_serverapp
):
    done, waiting = announce(jp_serverapp, 1), announce(jp_serverapp, 2)
    grader.statuses[done] = {"state": "could-not-be-graded", "message": "a problem."}
    listed = await followed(jp_fetch)
    assert [(s["id"], s["state"]) for s in listed] == [
        (waiting, "queued"), (done, "could-not-be-graded")
    ]
    asked = len(grader.status_requests())
    await followed(jp_fetch)
    assert len(grader.status_requests()) == asked + 1  # the waiting one only


async def test_nothing_submitted_is_nothing_asked(grader, jp_fetch):
    assert await followed(jp_fetch) == []
    assert grader.requests == []


async def test_the_same_announcement_twice_is_one_submission_and_old_ones_are_forgotten(
    grader, jp_fetch, jp_serverapp
):
    announce(jp_serverapp, 1)
    announce(jp_serverapp, 1)
    assert len(await followed(jp_fetch)) == 1
    for number in range(2, KEEP + 3):
        announce(jp_serverapp, number)
    listed = await followed(jp_fetch)
    assert len(listed) == KEEP
    assert listed[0]["id"] == f"{KEEP + 2:032x}"  # newest first


async def test_a_refusal_keeps_the_last_state_and_says_why(grader, jp_fetch, jp_serverapp):
    submission_id = announce(jp_serverapp, 1)
    (first,) = await followed(jp_fetch)
    grader.statuses[submission_id] = (404, {"error": "not-found",
                                            "message": "no submission of 'ps1-basics'"})
    (refused,) = await followed(jp_fetch)
    assert (refused["state"], refused["ahead"]) == (first["state"], first["ahead"])
    assert refused["problem"] == "no submission of 'ps1-basics'"


async def test_a_grader_that_is_down_leaves_the_submission_submitted_with_a_problem(
    grader_down, jp_fetch, jp_serverapp
):
    announce(jp_serverapp, 1)
    (waiting,) = await followed(jp_fetch)
    assert waiting["state"] == "submitted"
    assert "does not answer" in waiting["problem"]


def test_the_exchange_the_server_and_the_page_name_the_same_event():
    assert EMITTED == FOLLOWED
    assert f"'{FOLLOWED}'" in FRONTEND.read_text()
