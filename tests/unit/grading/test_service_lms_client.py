"""The LMS client against a small local HTTP server that behaves like ``POST /api/v1/grades/``:
idempotent by submission id, sometimes failing the way servers fail."""

from __future__ import annotations

import datetime as dt
import json
import socket
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from grading.lms import ANSWER_FIELDS, GradePush, LMSClient, LMSRejected, LMSUnavailable
from tests.support.http_servers import serve_in_thread, stop_serving

TOKEN = "grader-token-0123456789"


class FakeLMS:
    """Grades by submission id (201 new, 200 again); ``script`` holds canned answers
    ``(status, body, headers)`` used first, one per request; ``drop`` closes the connection
    without an answer (the grade is recorded: the answer was lost on the way)."""

    def __init__(self) -> None:
        self.grades: dict[str, dict] = {}
        self.requests: list[dict] = []
        self.script: list[tuple[int, dict, dict] | str] = []
        lms = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                lms.requests.append({"path": self.path, "auth": self.headers["Authorization"],
                                     "body": body})
                step = lms.script.pop(0) if lms.script else None
                if step == "drop":
                    lms.grades[body["submission_id"]] = body
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if step is not None:
                    status, answer, headers = step
                else:
                    status = 200 if body["submission_id"] in lms.grades else 201
                    lms.grades[body["submission_id"]] = body
                    answer, headers = {"id": 1, **body}, {}
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = serve_in_thread(self.server)

    def close(self) -> None:
        stop_serving(self.server)


@pytest.fixture
def lms():
    server = FakeLMS()
    yield server
    server.close()


@pytest.fixture
def sleeps() -> list[float]:
    return []


def client(url: str, sleeps: list[float], retries: int = 4) -> LMSClient:
    return LMSClient(url, TOKEN, retries=retries, backoff_seconds=0.5, timeout_seconds=5,
                     sleep=sleeps.append)


def grade(submission_id: str = "a" * 32) -> GradePush:
    now = dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.UTC)
    return GradePush(
        course="python-101", assignment="ps1-basics", learner="grace",
        submission_id=submission_id, score=7.5, max_score=10, status="graded",
        submitted_at=now, graded_at=now + dt.timedelta(seconds=3),
        feedback_html="<p>ok</p>",
        breakdown=[{"id": "celsius", "score": 4, "max_score": 4}],
    )


def test_a_grade_is_posted_with_the_grader_token_and_the_lms_fields(lms, sleeps):
    answer = client(lms.url, sleeps).push(grade())
    assert answer["submission_id"] == "a" * 32
    (request,) = lms.requests
    assert request["path"] == f"/api/v1/grades/?fields={ANSWER_FIELDS.replace(',', '%2C')}"
    assert request["auth"] == f"Token {TOKEN}"
    assert request["body"] == {
        "course": "python-101", "assignment": "ps1-basics", "learner": "grace",
        "submission_id": "a" * 32, "score": 7.5, "max_score": 10, "status": "graded",
        "submitted_at": "2026-11-25T10:00:00+00:00", "graded_at": "2026-11-25T10:00:03+00:00",
        "feedback_html": "<p>ok</p>", "breakdown": [{"id": "celsius", "score": 4, "max_score": 4}],
    }
    assert sleeps == []


def test_server_errors_are_retried_with_growing_delays_and_give_one_grade(lms, sleeps):
    lms.script = [(502, {"detail": "bad gateway"}, {}), (503, {"detail": "busy"}, {})]
    client(lms.url, sleeps).push(grade())
    assert len(lms.requests) == 3
    assert len(lms.grades) == 1
    assert len(sleeps) == 2
    assert 0.25 <= sleeps[0] <= 0.5 and 0.5 <= sleeps[1] <= 1.0


def test_a_lost_answer_is_retried_and_the_lms_keeps_one_grade(lms, sleeps):
    lms.script = ["drop"]
    client(lms.url, sleeps).push(grade())
    assert [r["body"]["submission_id"] for r in lms.requests] == ["a" * 32] * 2
    assert list(lms.grades) == ["a" * 32]


def test_throttling_waits_as_long_as_the_lms_says(lms, sleeps):
    lms.script = [(429, {"detail": "slow down"}, {"Retry-After": "7"})]
    client(lms.url, sleeps).push(grade())
    assert sleeps == [7.0]


def test_a_refusal_is_not_retried_and_says_what_the_lms_said(lms, sleeps):
    lms.script = [(400, {"learner": ["grace is not enrolled in the course python-101."]}, {})]
    with pytest.raises(LMSRejected, match="not enrolled") as refused:
        client(lms.url, sleeps).push(grade())
    assert refused.value.status == 400
    assert len(lms.requests) == 1
    assert sleeps == []


def test_a_wrong_token_is_a_clear_refusal(lms, sleeps):
    lms.script = [(401, {"detail": "Invalid token."}, {})]
    with pytest.raises(LMSRejected, match=r"\(401\): Invalid token"):
        client(lms.url, sleeps).push(grade())


def test_an_lms_that_stays_down_gives_up_after_the_retries(sleeps):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens here once the socket is closed
    with pytest.raises(LMSUnavailable, match=r"after 3 tries.*ConnectionError"):
        client(f"http://127.0.0.1:{port}", sleeps, retries=2).push(grade())
    assert len(sleeps) == 2


def test_a_client_without_token_cannot_be_made():
    with pytest.raises(ValueError, match="LMS_GRADER_TOKEN"):
        LMSClient("http://127.0.0.1:8000", "")
