"""nbgrader's exchange over HTTP (``pls_grading.exchange``), driven the way JupyterLab drives it:
through nbgrader's own Assignments-panel server code (``AssignmentList``), against a small local
server that answers like the grader's API (docs/grading.md). The learner's work folder is a
temporary folder whose ``nbgrader_config.json`` selects the HTTP exchange, as the learner image's
does."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import tarfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from nbgrader.server_extensions.assignment_list.handlers import AssignmentList

from tests.support.http_servers import serve_in_thread, stop_serving

TOKEN = "learners-own-hub-token"
COURSE = "python-101"
RELEASED = {"ps1-basics.ipynb": b'{"released": true}', "data/points.csv": b"x,y\n1,2\n"}
EXCHANGE = "pls_grading.exchange.HttpExchange"


def tar_of(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def files_of(data: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        return {m.name: archive.extractfile(m).read() for m in archive if m.isfile()}


class FakeGrader:
    """One released assignment of python-101; submissions kept in memory; ``refuse`` makes
    every submission answer 413 with the grader's kind of message."""

    def __init__(self) -> None:
        self.submissions: list[dict] = []
        self.uploads: list[dict[str, bytes]] = []
        self.feedback_released: set[str] = set()
        self.refuse = False
        self.auth: list[str] = []
        grader = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def answer(self, status: int, body, content_type="application/json") -> None:
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                grader.auth.append(self.headers.get("Authorization", ""))
                path = self.path.removeprefix("/api/")
                if path == "courses":
                    return self.answer(200, {"courses": [{"course": COURSE, "role": "learner"}]})
                if path == f"courses/{COURSE}/assignments":
                    return self.answer(200, {"assignments": [grader.listing()]})
                if path == f"courses/{COURSE}/assignments/ps1-basics/release":
                    return self.answer(200, tar_of(RELEASED), "application/gzip")
                feedback = re.fullmatch(
                    rf"courses/{COURSE}/assignments/ps1-basics/submissions/(\w+)/feedback", path
                )
                if feedback and feedback.group(1) in grader.feedback_released:
                    html = f"<p>feedback of {feedback.group(1)}</p>".encode()
                    return self.answer(200, tar_of({"ps1-basics.html": html}), "application/gzip")
                return self.answer(404, {"error": "not-found", "message": "No such thing."})

            def do_POST(self) -> None:
                grader.auth.append(self.headers.get("Authorization", ""))
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if grader.refuse:
                    return self.answer(413, {"error": "too-large", "message":
                                             "The upload is larger than 100 bytes."})
                grader.uploads.append(files_of(body))
                submitted_at = dt.datetime(2026, 12, 1, 12, len(grader.submissions), tzinfo=dt.UTC)
                submission = {
                    "id": f"{len(grader.submissions):032x}", "course": COURSE,
                    "assignment": "ps1-basics", "learner": "grace",
                    "submitted_at": submitted_at.isoformat(), "status": "queued",
                    "late": False, "score": None, "max_score": None, "message": "",
                }
                grader.submissions.append(submission)
                return self.answer(202, submission)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api"
        serve_in_thread(self.server)

    def listing(self) -> dict:
        return {
            "assignment": "ps1-basics", "released_at": "2026-11-01T00:00:00+00:00",
            "due_at": None, "notebooks": ["ps1-basics.ipynb"],
            "submissions": self.submissions, "feedback": sorted(self.feedback_released),
        }


@pytest.fixture
def grader():
    fake = FakeGrader()
    yield fake
    stop_serving(fake.server)


@pytest.fixture
def panel(grader, tmp_path, monkeypatch):
    """nbgrader's Assignments-panel manager in a learner's work folder."""
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", TOKEN)
    monkeypatch.setenv("PLS_GRADER_URL", grader.url)
    work = tmp_path / "work"
    work.mkdir()
    steps = {
        "exchange": "", "list": "List", "fetch_assignment": "FetchAssignment",
        "submit": "Submit", "fetch_feedback": "FetchFeedback",
        "release_assignment": "ReleaseAssignment", "collect": "Collect",
        "release_feedback": "ReleaseFeedback",
    }
    config = {"ExchangeFactory": {step: f"{EXCHANGE}{name}" for step, name in steps.items()}}
    (work / "nbgrader_config.json").write_text(json.dumps(config))
    manager = AssignmentList()
    manager.root_dir = str(work)
    monkeypatch.chdir(work)
    return manager


def test_the_panel_lists_the_learners_courses_and_released_assignments(panel, grader):
    assert panel.list_courses() == {"success": True, "value": [COURSE]}
    listed = panel.list_assignments(course_id=COURSE)
    assert listed["success"], listed
    (released,) = listed["value"]
    assert (released["assignment_id"], released["status"]) == ("ps1-basics", "released")
    assert [nb["notebook_id"] for nb in released["notebooks"]] == ["ps1-basics"]
    assert set(grader.auth) == {f"token {TOKEN}"}  # the learner's own token, every time


def test_fetching_puts_the_release_in_the_courses_folder_and_then_it_shows_fetched(
    panel, tmp_path
):
    assert panel.fetch_assignment(COURSE, "ps1-basics") == {"success": True}
    folder = tmp_path / "work" / COURSE / "ps1-basics"
    assert (folder / "ps1-basics.ipynb").read_bytes() == RELEASED["ps1-basics.ipynb"]
    assert (folder / "data" / "points.csv").read_bytes() == RELEASED["data/points.csv"]
    (fetched,) = panel.list_assignments(course_id=COURSE)["value"]
    assert fetched["status"] == "fetched"
    assert fetched["path"] == f"{COURSE}/ps1-basics"  # relative to the work folder


def test_fetching_again_never_overwrites_the_learners_work(panel, tmp_path):
    folder = tmp_path / "work" / COURSE / "ps1-basics"
    folder.mkdir(parents=True)
    (folder / "ps1-basics.ipynb").write_text("my answers")
    refused = panel.fetch_assignment(COURSE, "ps1-basics")
    assert not refused["success"]
    assert "already have a copy" in refused["value"]
    assert (folder / "ps1-basics.ipynb").read_text() == "my answers"


def test_submitting_sends_the_folder_without_checkpoints_or_feedback(panel, grader, tmp_path):
    panel.fetch_assignment(COURSE, "ps1-basics")
    folder = tmp_path / "work" / COURSE / "ps1-basics"
    (folder / "ps1-basics.ipynb").write_text("answered")
    (folder / ".ipynb_checkpoints").mkdir()
    (folder / ".ipynb_checkpoints" / "ps1-basics-checkpoint.ipynb").write_text("old")
    (folder / "feedback").mkdir()
    (folder / "feedback" / "old.html").write_text("<p>old</p>")
    (folder / "link.ipynb").symlink_to("/etc/hostname")
    result = panel.submit_assignment(COURSE, "ps1-basics")
    assert result == {"success": True}
    (upload,) = grader.uploads
    assert upload == {"ps1-basics.ipynb": b"answered", "data/points.csv": b"x,y\n1,2\n"}
    listed = panel.list_assignments(course_id=COURSE)["value"]
    submitted = [a for a in listed if a["status"] == "submitted"]
    (assignment,) = submitted
    (submission,) = assignment["submissions"]
    assert submission["timestamp"] == "2026-12-01 12:00:00.000000 UTC"  # nbgrader's format
    assert (submission["has_exchange_feedback"], submission["grader_status"]) == (False, "queued")


def test_a_refused_submission_shows_the_graders_message(panel, grader):
    panel.fetch_assignment(COURSE, "ps1-basics")
    grader.refuse = True
    result = panel.submit_assignment(COURSE, "ps1-basics")
    assert not result["success"]
    assert "The upload is larger than 100 bytes." in result["value"]


def test_submitting_a_folder_that_is_not_there_says_to_fetch_first(panel):
    result = panel.submit_assignment(COURSE, "ps1-basics")
    assert not result["success"]
    assert "fetch the assignment first" in result["value"]


def test_released_feedback_is_fetched_into_the_submissions_timestamp_folder(
    panel, grader, tmp_path
):
    panel.fetch_assignment(COURSE, "ps1-basics")
    panel.submit_assignment(COURSE, "ps1-basics")
    panel.submit_assignment(COURSE, "ps1-basics")
    _first, second = (s["id"] for s in grader.submissions)
    grader.feedback_released = {second}
    listed = panel.list_assignments(course_id=COURSE)["value"]
    (submitted,) = [a for a in listed if a["status"] == "submitted"]
    ready = [s["has_exchange_feedback"] for s in submitted["submissions"]]
    assert ready == [False, True]
    assert panel.fetch_feedback(COURSE, "ps1-basics") == {"success": True}
    feedback = tmp_path / "work" / COURSE / "ps1-basics" / "feedback"
    html = feedback / "2026-12-01 12:01:00.000000 UTC" / "ps1-basics.html"
    assert html.read_text() == f"<p>feedback of {second}</p>"
    assert not (feedback / "2026-12-01 12:00:00.000000 UTC").exists()
    listed = panel.list_assignments(course_id=COURSE)["value"]
    (submitted,) = [a for a in listed if a["status"] == "submitted"]
    assert submitted["submissions"][1]["has_local_feedback"] is True


def test_an_unreachable_grader_is_a_clear_message_and_nothing_changes(panel, grader, tmp_path):
    stop_serving(grader.server)
    result = panel.fetch_assignment(COURSE, "ps1-basics")
    assert not result["success"]
    assert "The grader does not answer" in result["value"]
    assert not (tmp_path / "work" / COURSE).exists()


def test_instructor_steps_say_where_they_are_done_instead(grader, tmp_path):
    from nbgrader.coursedir import CourseDirectory
    from pls_grading.exchange import HttpExchangeReleaseAssignment

    step = HttpExchangeReleaseAssignment(coursedir=CourseDirectory(course_id=COURSE))
    with pytest.raises(Exception, match="assignment's page in the LMS"):
        step.start()


def test_an_archive_from_the_grader_cannot_write_outside_the_folder(tmp_path):
    from pls_grading.exchange import extract

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name in ("../escape.txt", "/etc/evil", "ok.txt"):
            info = tarfile.TarInfo(name)
            info.size = 2
            archive.addfile(info, io.BytesIO(b"hi"))
        link = tarfile.TarInfo("link")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        archive.addfile(link)
    target = tmp_path / "target"
    written = extract(buffer.getvalue(), target)
    assert [str(p) for p in written] == ["ok.txt"]
    assert sorted(p.name for p in target.iterdir()) == ["ok.txt"]
    assert not (tmp_path / "escape.txt").exists()

