"""The grader's HTTP API and the formgrader behind a real JupyterHub: who may do what, uploads,
durability.

Why this hub and not the whole studio (``tests/support/studio.py``): the grader meets the hub
only through the hub's REST API (``/hub/api/user`` for a token, ``/hub/api/oauth2/*`` for a
browser) and its proxy; the LMS, OIDC and Docker add nothing to these checks and minutes to
each run. So this module starts a real ``jupyterhub`` (with its real configurable-http-proxy)
with the DummyAuthenticator, the course groups the LMS would mirror, and ``grader`` as an
external service whose process the tests start and kill themselves. nbgrader's side
(``grading.release``) is a fake that writes plain files, and no workers run: grading
itself is tested in ``test_queue_*`` and, with nbgrader, by its own tests.

The formgrader (``python -m grading formgrader python-101``) is the hub's managed service
``formgrader-python-101``, as with ``HUB_GRADER=managed``, on a GRADER_ROOT of its own where the
tests release ps1-basics and autograde with nbgrader's real pipeline (a sandbox that runs no
code: ``tests.support.sandboxes``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import os
import shutil
import signal
import socket
import subprocess
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from grading.queue import GRADER_FAULT, claim
from grading.settings import Settings
from grading.store import Database, Job, Release, Submission

pytestmark = [pytest.mark.slow]

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
PYTHON = ROOT / ".venv" / "bin" / "python"
START_SECONDS = 60
GRADER_TOKEN = "grader-service-token-for-tests-0123456789"
ADMIN_TOKEN = "tests-admin-service-token-0123456789"
LMS_TOKEN = "tests-lms-service-token-0123456789"  # the hub service `lms`, trusted by the grader
OTHER_SERVICE_TOKEN = "tests-other-service-token-0123456789"  # allowed in, trusted for nothing
MAX_BYTES = 50_000
LMS_PUBLIC_URL = "https://lms.example.org"  # where the grading status links to feedback
GROUPS = {
    "nbgrader-python-101": ["grace", "linus"],
    "formgrade-python-101": ["ada"],
    "nbgrader-data-201": ["katherine"],
    "formgrade-data-201": ["barbara"],
    "visitors": ["outsider"],  # a hub user the hub gives no access to the grader
}
NOTEBOOK = b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{process.args} exited ({process.returncode}):\n"
                        + log.read_text(errors="replace")[-4000:])
        with contextlib.suppress(requests.RequestException):
            if requests.get(url, timeout=3, allow_redirects=False).status_code == 200:
                return
        time.sleep(0.2)
    pytest.fail(f"{url} did not answer within {START_SECONDS} s:\n"
                + log.read_text(errors="replace")[-4000:])


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# -- the hub --------------------------------------------------------------------------------------

HUB_CONFIG = """
c = get_config()  # noqa
c.JupyterHub.bind_url = "http://127.0.0.1:{proxy}"
c.JupyterHub.hub_bind_url = "http://127.0.0.1:{hub_api}"
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{proxy_api}"
c.ConfigurableHTTPProxy.pid_file = "{folder}/proxy.pid"
c.JupyterHub.db_url = "sqlite:///{folder}/hub.sqlite"
c.JupyterHub.cookie_secret_file = "{folder}/cookie-secret"
c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.admin_users = {{"root"}}
# The tests start the grader after the hub: the hub must not wait for it (timeout, seconds).
c.JupyterHub.services = [
    {{"name": "grader", "url": "http://127.0.0.1:{grader}", "api_token": "{grader_token}",
      "oauth_no_confirm": True, "timeout": 1}},
    {{"name": "tests", "api_token": "{admin_token}"}},
    {{"name": "lms", "api_token": "{lms_token}"}},
    {{"name": "other", "api_token": "{other_token}"}},
    {{"name": "formgrader-python-101", "url": "http://127.0.0.1:{formgrader}",
      "oauth_no_confirm": True, "command": {formgrader_command}, "cwd": "{root}",
      "environment": {formgrader_environment}}},
]
c.JupyterHub.load_groups = {groups}
c.JupyterHub.load_roles = [
    {{"name": "grader-users", "scopes": ["access:services!service=grader"],
      "groups": {granted}}},
    {{"name": "admin", "services": ["tests"]}},
    {{"name": "grader-callers", "scopes": ["access:services!service=grader"],
      "services": ["lms", "other"]}},
    {{"name": "formgrader-python-101",
      "scopes": ["access:services!service=formgrader-python-101"],
      "groups": ["formgrade-python-101"]}},
]
"""


@dataclass
class Hub:
    url: str  # the proxy: what browsers and learners' servers use
    api_url: str
    grader_port: int
    folder: Path
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def formgrader_var(self) -> Path:
        """The STUDIO_VAR_DIR of the formgrader the hub runs (its GRADER_ROOT is in it)."""
        return self.folder / "formgrader-var"

    def token(self, username: str) -> str:
        """A hub API token of ``username``'s (as a learner's server has one)."""
        if username not in self.tokens:
            response = requests.post(
                f"{self.api_url}/users/{username}/tokens",
                headers={"Authorization": f"token {ADMIN_TOKEN}"},
                json={"note": "grader tests", "expires_in": 3600}, timeout=30,
            )
            assert response.status_code == 201, response.text
            self.tokens[username] = response.json()["token"]
        return self.tokens[username]


@pytest.fixture(scope="module")
def hub(tmp_path_factory) -> Hub:
    folder = tmp_path_factory.mktemp("hub")
    ports = {name: free_port()
             for name in ("proxy", "proxy_api", "hub_api", "grader", "formgrader")}
    granted = [g for g in GROUPS if g != "visitors"]
    formgrader_environment = {
        "STUDIO_VAR_DIR": str(folder / "formgrader-var"),
        "STUDIO_COURSES_DIR": str(ROOT / "courses"),
    }
    (folder / "jupyterhub_config.py").write_text(HUB_CONFIG.format(
        folder=folder, grader_token=GRADER_TOKEN, admin_token=ADMIN_TOKEN,
        lms_token=LMS_TOKEN, other_token=OTHER_SERVICE_TOKEN,
        groups=repr({name: {"users": users} for name, users in GROUPS.items()}),
        granted=repr(granted),
        formgrader_command=repr([str(PYTHON), "-m", "grading", "formgrader", "python-101"]),
        formgrader_environment=repr(formgrader_environment), root=ROOT, **ports,
    ))
    log = folder / "hub.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "jupyterhub"), "-f", "jupyterhub_config.py"],
            cwd=folder, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            env={k: v for k, v in os.environ.items() if not k.startswith("JUPYTERHUB_")},
        )
    try:
        url = f"http://127.0.0.1:{ports['proxy']}"
        wait_for(f"{url}/hub/health", process, log)
        yield Hub(url, f"http://127.0.0.1:{ports['hub_api']}/hub/api", ports["grader"], folder)
    finally:
        stop(process)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # the proxy it started


# -- the grader -----------------------------------------------------------------------------------


class FakeCourseOps:
    """``grading.release`` for these tests: "releases" by writing the student version
    where nbgrader would, in the grader's process."""

    def release(self, course_dir: Path, assignment: str) -> None:
        folder = self.released_files(course_dir, assignment)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{assignment}.ipynb").write_bytes(NOTEBOOK)

    def unrelease(self, course_dir: Path, assignment: str) -> None:
        for path in self.released_files(course_dir, assignment).glob("*"):
            path.unlink()

    def released_files(self, course_dir: Path, assignment: str) -> Path:
        return course_dir / "release" / assignment


def serve_with_fakes() -> None:
    """The grader process's entry point: the real app, fake nbgrader side, no workers."""
    import logging

    from grading.app import serve

    logging.basicConfig(level=logging.INFO)
    serve(Settings.from_env(), course_ops=FakeCourseOps, with_workers=False)


@dataclass
class Grader:
    process: subprocess.Popen
    url: str  # the API as learners reach it (through the proxy, or directly)
    var_dir: Path
    log: Path

    def settings(self) -> Settings:
        return Settings.from_env({"STUDIO_VAR_DIR": str(self.var_dir)})

    def rows(self, model) -> list:
        db = Database(self.settings().db_url, create=False)
        try:
            with db.transaction() as session:
                return list(session.scalars(select(model)))
        finally:
            db.dispose()


def start_grader(hub: Hub, folder: Path, port: int) -> Grader:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTERHUB_", "GRADER_"))}
    env.update(
        JUPYTERHUB_API_TOKEN=GRADER_TOKEN,
        JUPYTERHUB_API_URL=hub.api_url,
        JUPYTERHUB_SERVICE_NAME="grader",
        JUPYTERHUB_SERVICE_PREFIX="/services/grader/",
        JUPYTERHUB_SERVICE_URL=f"http://127.0.0.1:{port}",
        JUPYTERHUB_CLIENT_ID="service-grader",
        JUPYTERHUB_OAUTH_CALLBACK_URL="/services/grader/oauth_callback",
        STUDIO_VAR_DIR=str(folder),
        STUDIO_COURSES_DIR=str(ROOT / "courses"),
        GRADER_WORKERS="0",
        GRADER_GRADEBOOK_SCAN_SECONDS="0",  # nbgrader's side is a fake here
        GRADER_MAX_SUBMISSION_BYTES=str(MAX_BYTES),
        GRADER_MAX_SUBMISSION_FILES="20",
        LMS_PUBLIC_URL=LMS_PUBLIC_URL,
    )
    code = f"import sys; sys.path.insert(0, {str(HERE)!r}); " \
           "import test_service_api; test_service_api.serve_with_fakes()"
    log = folder / "grader.log"
    with log.open("wb") as out:
        process = subprocess.Popen([str(PYTHON), "-c", code], cwd=ROOT, env=env, stdout=out,
                                   stderr=subprocess.STDOUT)
    direct = f"http://127.0.0.1:{port}/services/grader/api"
    wait_for(f"{direct}/health", process, log)
    return Grader(process, direct, folder, log)


@pytest.fixture(scope="module")
def grader(hub, tmp_path_factory) -> Grader:
    """The grader the hub routes ``/services/grader/`` to; requests go through the proxy."""
    started = start_grader(hub, tmp_path_factory.mktemp("grader"), hub.grader_port)
    started.url = f"{hub.url}/services/grader/api"
    yield started
    stop(started.process)


@pytest.fixture(autouse=True)
def empty_grader(request):
    """Each test starts from a grader with nothing released and no submissions."""
    if "grader" not in request.fixturenames:
        return
    grader = request.getfixturevalue("grader")
    db = Database(grader.settings().db_url)
    with db.transaction() as session:
        for model in (Job, Submission, Release):
            for row in session.scalars(select(model)):
                session.delete(row)
            session.flush()
    db.dispose()
    shutil.rmtree(grader.settings().submissions_dir, ignore_errors=True)


# -- helpers ----------------------------------------------------------------------------------


def call(hub: Hub, grader: Grader, user: str, method: str, path: str, **kwargs):
    headers = kwargs.pop("headers", {})
    if "Authorization" not in headers:  # a user's own token unless the test sends another
        headers["Authorization"] = f"token {hub.token(user)}"
    return requests.request(method, f"{grader.url}/{path}", headers=headers, timeout=30,
                            allow_redirects=False, **kwargs)


def tar_of(files: dict[str, bytes], links: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            archive.addfile(info)
    return buffer.getvalue()


PS1 = "courses/python-101/assignments/ps1-basics"


@pytest.fixture
def released(hub, grader) -> None:
    response = call(hub, grader, "ada", "POST", f"{PS1}/release")
    assert response.status_code in {200, 201}, response.text


def submit(hub, grader, user: str, data: bytes, **kwargs):
    return call(hub, grader, user, "POST", f"{PS1}/submissions", data=data,
                headers={"Content-Type": "application/gzip"}, **kwargs)


def graded_with_feedback(grader: Grader, submission_id: str) -> None:
    """What a worker leaves behind: the grade and a feedback folder (not released)."""
    folder = grader.settings().submissions_dir / submission_id / "feedback-1-1"
    folder.mkdir(parents=True)
    (folder / "ps1-basics.html").write_text(f"<p>feedback {submission_id}</p>")
    db = Database(grader.settings().db_url, create=False)
    with db.transaction() as session:
        row = session.get(Submission, submission_id)
        row.status, row.score, row.max_score = "graded", 7.0, 10.0
        row.feedback_path, row.graded_at = str(folder), dt.datetime.now(dt.UTC)
    db.dispose()


# -- signing in -------------------------------------------------------------------------------


def test_the_services_root_answers_the_hubs_check_without_a_sign_in(hub, grader):
    response = requests.get(f"{hub.url}/services/grader/", timeout=30, allow_redirects=False)
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_a_request_without_a_token_is_401_with_a_message(grader):
    response = requests.post(f"{grader.url}/{PS1}/submissions", data=b"x", timeout=30)
    assert response.status_code == 401
    assert response.json()["error"] == "unauthenticated"
    assert "hub" in response.json()["message"]


def test_a_token_the_hub_does_not_know_is_401(grader):
    response = requests.get(f"{grader.url}/courses/python-101/assignments", timeout=30,
                            headers={"Authorization": "token not-a-real-token"})
    assert response.status_code == 401


def test_a_hub_user_without_access_to_the_grader_is_refused(hub, grader):
    response = call(hub, grader, "outsider", "GET", "courses/python-101/assignments")
    assert response.status_code == 403
    assert "may not use the grader" in response.json()["message"]


def test_a_browser_signs_in_through_hub_oauth_and_uses_the_cookie(hub, grader, released):
    browser = requests.Session()
    login = browser.get(f"{hub.url}/hub/login", timeout=30)
    assert login.status_code == 200
    signed_in = browser.post(
        f"{hub.url}/hub/login?next=/hub/home", timeout=30,
        data={"username": "grace", "password": "any", "_xsrf": browser.cookies.get("_xsrf")},
    )
    assert signed_in.status_code == 200, signed_in.url
    answer = browser.get(f"{grader.url}/courses/python-101/assignments", timeout=30)
    assert answer.status_code == 200, (answer.url, answer.text[:300])
    assert answer.history and "/hub/api/oauth2/authorize" in answer.history[0].headers["Location"]
    assert [a["assignment"] for a in answer.json()["assignments"]] == ["ps1-basics"]
    assert browser.cookies.get("service-grader", path="/services/grader/")


# -- learners ---------------------------------------------------------------------------------


def test_learners_see_released_assignments_with_their_own_submissions(hub, grader, released):
    mine = submit(hub, grader, "grace", tar_of({"ps1-basics.ipynb": NOTEBOOK})).json()
    submit(hub, grader, "linus", tar_of({"ps1-basics.ipynb": NOTEBOOK}))
    response = call(hub, grader, "grace", "GET", "courses/python-101/assignments")
    assert response.status_code == 200
    (assignment,) = response.json()["assignments"]
    assert assignment["assignment"] == "ps1-basics"
    assert assignment["due_at"] == "2027-01-31T23:59:00+00:00"
    assert assignment["notebooks"] == ["ps1-basics.ipynb"]
    assert [s["id"] for s in assignment["submissions"]] == [mine["id"]]
    assert assignment["feedback"] == []


def test_nothing_is_listed_before_a_release(hub, grader):
    response = call(hub, grader, "grace", "GET", "courses/python-101/assignments")
    assert response.json() == {"assignments": []}
    fetch = call(hub, grader, "grace", "GET", f"{PS1}/release")
    assert fetch.status_code == 404
    assert fetch.json()["error"] == "not-found"


def test_a_learner_fetches_the_released_files(hub, grader, released):
    response = call(hub, grader, "grace", "GET", f"{PS1}/release")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/gzip"
    with tarfile.open(fileobj=io.BytesIO(response.content)) as archive:
        assert archive.getnames() == ["ps1-basics.ipynb"]
        assert archive.extractfile("ps1-basics.ipynb").read() == NOTEBOOK


def test_a_submission_is_answered_202_once_it_is_committed(hub, grader, released):
    response = submit(hub, grader, "grace", tar_of({"ps1-basics.ipynb": NOTEBOOK}))
    assert response.status_code == 202, response.text
    body = response.json()
    assert set(body) == {"id", "course", "assignment", "learner", "submitted_at", "status",
                         "late", "score", "max_score", "message", "recorded"}
    assert (body["learner"], body["status"], body["late"], body["score"], body["recorded"]) == (
        "grace", "queued", None, None, None
    )
    (row,) = grader.rows(Submission)
    assert row.id == body["id"]
    assert dt.datetime.fromisoformat(body["submitted_at"]) == row.submitted_at
    (job,) = grader.rows(Job)
    assert (job.submission_id, job.kind) == (body["id"], "autograde")
    files = grader.settings().submissions_dir / body["id"] / "files"
    assert (files / "ps1-basics.ipynb").read_bytes() == NOTEBOOK


def test_a_learner_cannot_submit_as_someone_else(hub, grader, released):
    response = call(
        hub, grader, "grace", "POST", f"{PS1}/submissions?learner=linus",
        data=tar_of({"ps1-basics.ipynb": NOTEBOOK}),
        headers={"Content-Type": "application/gzip", "X-Learner": "linus"},
    )
    assert response.status_code == 202
    assert response.json()["learner"] == "grace"
    assert [row.learner for row in grader.rows(Submission)] == ["grace"]


def test_instructors_and_other_courses_learners_cannot_submit(hub, grader, released):
    for user in ("ada", "katherine"):
        response = submit(hub, grader, user, tar_of({"ps1-basics.ipynb": NOTEBOOK}))
        assert response.status_code == 403, user
    assert grader.rows(Submission) == []


def test_a_learner_cannot_read_another_learners_submissions(hub, grader, released):
    submit(hub, grader, "grace", tar_of({"ps1-basics.ipynb": NOTEBOOK}))
    linus = submit(hub, grader, "linus", tar_of({"ps1-basics.ipynb": NOTEBOOK})).json()
    own = call(hub, grader, "grace", "GET", f"{PS1}/submissions").json()["submissions"]
    assert [s["learner"] for s in own] == ["grace"]
    other = call(hub, grader, "grace", "GET", f"{PS1}/submissions?learner=linus")
    assert other.status_code == 403
    assert linus["id"] not in other.text


def test_a_learner_cannot_fetch_another_learners_feedback(hub, grader, released):
    linus = submit(hub, grader, "linus", tar_of({"ps1-basics.ipynb": NOTEBOOK})).json()["id"]
    graded_with_feedback(grader, linus)
    released_feedback = call(hub, grader, "ada", "POST", f"{PS1}/feedback", json={})
    assert released_feedback.json() == {"released": [linus]}
    response = call(hub, grader, "grace", "GET", f"{PS1}/submissions/{linus}/feedback")
    assert response.status_code == 404
    assert "feedback" not in response.text.lower() or "no submission" in response.text


def test_feedback_is_fetched_once_released(hub, grader, released):
    mine = submit(hub, grader, "grace", tar_of({"ps1-basics.ipynb": NOTEBOOK})).json()["id"]
    graded_with_feedback(grader, mine)
    path = f"{PS1}/submissions/{mine}/feedback"
    assert call(hub, grader, "grace", "GET", path).status_code == 404
    assert call(hub, grader, "ada", "GET", path).status_code == 200  # instructors: any time
    call(hub, grader, "ada", "POST", f"{PS1}/feedback", json={"submissions": [mine]})
    response = call(hub, grader, "grace", "GET", path)
    assert response.status_code == 200
    with tarfile.open(fileobj=io.BytesIO(response.content)) as archive:
        assert archive.extractfile("ps1-basics.html").read().decode() == f"<p>feedback {mine}</p>"
    listed = call(hub, grader, "grace", "GET", "courses/python-101/assignments").json()
    assert listed["assignments"][0]["feedback"] == [mine]


# -- grading status ---------------------------------------------------------------------------


def set_row(grader: Grader, submission_id: str, **fields) -> None:
    db = Database(grader.settings().db_url, create=False)
    with db.transaction() as session:
        row = session.get(Submission, submission_id)
        for name, value in fields.items():
            setattr(row, name, value)
    db.dispose()


def test_a_learner_follows_a_submission_from_queued_to_graded(hub, grader, released):
    submit(hub, grader, "linus", tar_of({"ps1-basics.ipynb": NOTEBOOK}))
    mine = submit(hub, grader, "grace", tar_of({"ps1-basics.ipynb": NOTEBOOK})).json()["id"]
    path = f"{PS1}/submissions/{mine}/status"
    queued = call(hub, grader, "grace", "GET", path)
    assert queued.status_code == 200, queued.text
    assert (queued.json()["state"], queued.json()["ahead"]) == ("queued", 1)
    db = Database(grader.settings().db_url, create=False)
    for worker in ("worker-1", "worker-2"):  # linus's job first, then grace's
        claim(db, worker, lease_seconds=300, max_attempts=3)
    db.dispose()
    set_row(grader, mine, status="grading")
    assert call(hub, grader, "grace", "GET", path).json()["state"] == "grading"
    graded_with_feedback(grader, mine)
    status = call(hub, grader, "grace", "GET", path).json()
    assert (status["state"], status["score"], status["max_score"]) == ("graded", 7.0, 10.0)
    assert status["feedback_url"] == f"{LMS_PUBLIC_URL}/courses/python-101/ps1-basics/"
    latest = call(hub, grader, "grace", "GET", f"{PS1}/submissions/latest/status")
    assert latest.json() == status


def test_a_learner_who_could_not_be_graded_reads_a_sentence_not_the_error(hub, grader, released):
    mine = submit(hub, grader, "grace", tar_of({"ps1-basics.ipynb": NOTEBOOK})).json()["id"]
    set_row(grader, mine, status="failed", message=(
        'Traceback (most recent call last):\n  File "/srv/studio/grading/sandbox.py", line 9\n'
        "ImageNotFound: pls-notebook:latest"))
    response = call(hub, grader, "grace", "GET", f"{PS1}/submissions/{mine}/status")
    body = response.json()
    assert body["state"] == "could-not-be-graded"
    assert "Traceback" not in response.text and "/srv/" not in response.text
    assert body["message"] == GRADER_FAULT  # the grader's fault, in the learner's words


def test_a_learner_cannot_follow_another_learners_submission(hub, grader, released):
    linus = submit(hub, grader, "linus", tar_of({"ps1-basics.ipynb": NOTEBOOK})).json()["id"]
    other = call(hub, grader, "grace", "GET", f"{PS1}/submissions/{linus}/status")
    assert other.status_code == 404
    assert "state" not in other.json()
    newest = call(hub, grader, "grace", "GET", f"{PS1}/submissions/latest/status?learner=linus")
    assert newest.status_code == 403
    none_yet = call(hub, grader, "grace", "GET", f"{PS1}/submissions/latest/status")
    assert none_yet.status_code == 404


def test_the_lms_reads_a_learners_newest_status_and_instructors_any(hub, grader, released):
    submit(hub, grader, "grace", tar_of({"ps1-basics.ipynb": NOTEBOOK}))
    newest = submit(hub, grader, "grace", tar_of({"ps1-basics.ipynb": NOTEBOOK})).json()["id"]
    headers = {"Authorization": f"token {LMS_TOKEN}", "X-Studio-User": "grace"}
    path = f"{PS1}/submissions/latest/status?learner=grace"
    by_lms = call(hub, grader, "-", "GET", path, headers=headers)
    assert by_lms.status_code == 200, by_lms.text
    assert (by_lms.json()["id"], by_lms.json()["state"]) == (newest, "queued")
    by_instructor = call(hub, grader, "ada", "GET", f"{PS1}/submissions/{newest}/status")
    assert by_instructor.json()["id"] == newest
    other_course = call(hub, grader, "barbara", "GET", f"{PS1}/submissions/{newest}/status")
    assert other_course.status_code == 403


# -- uploads that are refused ----------------------------------------------------------------


def test_an_upload_over_the_limit_is_413_and_nothing_is_kept(hub, grader, released):
    big = os.urandom(MAX_BYTES + 1)
    response = submit(hub, grader, "grace", big)
    assert response.status_code == 413
    assert response.json()["error"] == "too-large"
    assert str(MAX_BYTES) in response.json()["message"]
    assert grader.rows(Submission) == [] and grader.rows(Job) == []


def test_a_streamed_upload_without_length_is_cut_off_at_the_limit(hub, grader, released):
    def chunks():
        for _ in range(10):
            yield os.urandom(MAX_BYTES // 5)

    response = submit(hub, grader, "grace", chunks())
    assert response.status_code == 413
    assert grader.rows(Submission) == []


def test_a_much_larger_upload_still_gets_a_clear_answer(hub, grader, released):
    response = submit(hub, grader, "grace", os.urandom(MAX_BYTES * 30))
    assert response.status_code == 413
    assert "larger than" in response.json()["message"]


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"this is not a tar", "not a tar archive"),
        (tar_of({"ps1-basics.ipynb": NOTEBOOK, "../../../escape.py": b"x"}), "'..'"),
        (tar_of({"/etc/evil": b"x"}), "absolute paths"),
        (tar_of({"ps1-basics.ipynb": NOTEBOOK}, links={"secret": "/etc/shadow"}), "links"),
        (tar_of({f"f{i}.txt": b"x" for i in range(21)}), "more than 20 files"),
        (tar_of({"zeros.txt": b"\0" * (MAX_BYTES + 1)}), "add up to more than"),
    ],
)
def test_a_malformed_or_unsafe_upload_is_400_and_nothing_is_kept(
    hub, grader, released, data, problem
):
    response = submit(hub, grader, "grace", data)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid"
    assert problem in response.json()["message"]
    assert grader.rows(Submission) == [] and grader.rows(Job) == []
    submissions = grader.settings().submissions_dir
    assert not [p for p in submissions.rglob("*") if p.is_file()]
    assert not (grader.var_dir.parent / "escape.py").exists()


# -- instructors ------------------------------------------------------------------------------


def test_an_instructor_releases_and_unreleases(hub, grader):
    released = call(hub, grader, "ada", "POST", f"{PS1}/release",
                    json={"due_at": "2027-02-01T00:00:00+00:00", "feedback": "manual"})
    assert released.status_code == 201, released.text
    assert released.json()["due_at"] == "2027-02-01T00:00:00+00:00"
    assert released.json()["feedback"] == "manual"
    assert call(hub, grader, "ada", "POST", f"{PS1}/release").status_code == 200
    listed = call(hub, grader, "grace", "GET", "courses/python-101/assignments").json()
    assert [a["assignment"] for a in listed["assignments"]] == ["ps1-basics"]
    assert call(hub, grader, "ada", "DELETE", f"{PS1}/release").status_code == 204
    listed = call(hub, grader, "grace", "GET", "courses/python-101/assignments").json()
    assert listed == {"assignments": []}
    assert call(hub, grader, "ada", "DELETE", f"{PS1}/release").status_code == 404


def test_a_malformed_release_body_is_400(hub, grader):
    response = call(hub, grader, "ada", "POST", f"{PS1}/release", data=b"{not json",
                    headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json() == {"error": "invalid", "message": "The body is not JSON."}


def test_instructors_see_every_submission_or_one_learners(hub, grader, released):
    for user in ("grace", "linus"):
        submit(hub, grader, user, tar_of({"ps1-basics.ipynb": NOTEBOOK}))
    every = call(hub, grader, "ada", "GET", f"{PS1}/submissions").json()["submissions"]
    assert sorted(s["learner"] for s in every) == ["grace", "linus"]
    one = call(hub, grader, "ada", "GET", f"{PS1}/submissions?learner=linus").json()
    assert [s["learner"] for s in one["submissions"]] == ["linus"]


def test_an_instructor_regrades_and_grades_are_exported_by_the_lms_not_here(
    hub, grader, released
):
    mine = submit(hub, grader, "grace", tar_of({"ps1-basics.ipynb": NOTEBOOK})).json()["id"]
    graded_with_feedback(grader, mine)
    db = Database(grader.settings().db_url, create=False)
    with db.transaction() as session:
        for job in session.scalars(select(Job)):
            job.done_at = dt.datetime.now(dt.UTC)
    db.dispose()
    regrade = call(hub, grader, "ada", "POST", f"{PS1}/regrade", json={})
    assert regrade.status_code == 202
    assert regrade.json() == {"submissions": [mine]}
    csv = call(hub, grader, "ada", "GET", "courses/python-101/grades.csv")
    assert (csv.status_code, csv.json()["error"]) == (404, "not-found")


def test_a_hub_admin_is_an_instructor_of_every_course(hub, grader, released):
    response = call(hub, grader, "root", "GET", f"{PS1}/submissions")
    assert response.status_code == 200
    other = call(hub, grader, "root", "GET", "courses/data-201/assignments/ps1-basics/submissions")
    assert other.status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", f"{PS1}/release", None),
        ("DELETE", f"{PS1}/release", None),
        ("POST", f"{PS1}/regrade", {}),
        ("POST", f"{PS1}/feedback", {}),
        ("GET", f"{PS1}/submissions", None),
        ("GET", "courses/python-101/assignments", None),
    ],
)
def test_an_instructor_of_another_course_is_refused(hub, grader, released, method, path, body):
    response = call(hub, grader, "barbara", method, path, json=body)
    assert response.status_code == 403, response.text
    assert response.json()["error"] == "forbidden"
    assert grader.rows(Release)[0].assignment == "ps1-basics"  # still released


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", f"{PS1}/release"), ("DELETE", f"{PS1}/release"), ("POST", f"{PS1}/regrade"),
     ("POST", f"{PS1}/feedback")],
)
def test_learners_cannot_do_what_instructors_do(hub, grader, released, method, path):
    response = call(hub, grader, "grace", method, path, json={})
    assert response.status_code == 403
    assert "Only instructors of python-101" in response.json()["message"]


def test_the_lms_service_acts_for_instructors_of_every_course(hub, grader):
    headers = {"Authorization": f"token {LMS_TOKEN}", "X-Studio-User": "ada"}
    released = call(hub, grader, "-", "POST", f"{PS1}/release", headers=headers, json={})
    assert released.status_code == 201, released.text
    listed = call(hub, grader, "-", "GET", f"{PS1}/submissions", headers=headers)
    assert listed.status_code == 200 and listed.json() == {"submissions": []}
    other_course = call(hub, grader, "-", "GET",
                        "courses/data-201/assignments/ps1-basics/submissions", headers=headers)
    assert other_course.status_code == 200
    assert "by lms for ada" in grader.log.read_text()  # who asked, in the grader's log


def test_a_service_the_grader_does_not_trust_is_no_instructor(hub, grader):
    headers = {"Authorization": f"token {OTHER_SERVICE_TOKEN}", "X-Studio-User": "ada"}
    response = call(hub, grader, "-", "POST", f"{PS1}/release", headers=headers, json={})
    assert response.status_code == 403
    assert grader.rows(Release) == []


def test_callers_see_their_courses_and_role_in_each(hub, grader):
    def courses(user: str) -> list[dict]:
        response = call(hub, grader, user, "GET", "courses")
        assert response.status_code == 200, response.text
        return response.json()["courses"]

    assert courses("grace") == [{"course": "python-101", "role": "learner"}]
    assert courses("barbara") == [{"course": "data-201", "role": "instructor"}]
    headers = {"Authorization": f"token {LMS_TOKEN}"}
    assert call(hub, grader, "-", "GET", "courses", headers=headers).json() == {"courses": []}


def test_an_unknown_path_is_a_json_404(hub, grader):
    response = call(hub, grader, "grace", "GET", "courses/python-101/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"] == "not-found"


# -- failures: a sentence for learners, an id for instructors, the details for admins ---------


def run_one_job(grader: Grader, grade, **settings) -> None:
    """What a worker does with the oldest job, in this process, grading with ``grade``."""
    from grading.worker import Worker

    db = Database(grader.settings().db_url, create=False)
    try:
        Worker(grader.settings().model_copy(update=settings), db, grade, None, "tests").run_once()
    finally:
        db.dispose()


def test_a_failed_grading_shows_no_error_text_or_grader_path_but_to_admins(
    hub, grader, released
):
    root = str(grader.settings().root)
    mine = submit(hub, grader, "grace", tar_of({"ps1-basics.ipynb": NOTEBOOK})).json()["id"]

    def broken(submission):
        raise OSError(f"[Errno 5] Input/output error: '{root}/courses/python-101/gradebook.db'")

    run_one_job(grader, broken, max_attempts=1)
    lms = {"Authorization": f"token {LMS_TOKEN}", "X-Studio-User": "ada"}
    answers = {
        "learner": call(hub, grader, "grace", "GET", f"{PS1}/submissions"),
        "learner's assignments": call(hub, grader, "grace", "GET",
                                      "courses/python-101/assignments"),
        "instructor": call(hub, grader, "ada", "GET", f"{PS1}/submissions"),
        "the LMS for an instructor": call(hub, grader, "-", "GET", f"{PS1}/submissions",
                                          headers=lms),
    }
    for who, answer in answers.items():
        assert answer.status_code == 200, who
        for secret in (root, "Input/output error", "OSError", "Traceback"):
            assert secret not in answer.text, (who, secret)
    (failed,) = answers["learner"].json()["submissions"]
    assert (failed["id"], failed["status"]) == (mine, "failed")
    assert "problem on the grader's side" in failed["message"]
    assert "error_id" not in failed
    (seen_by_instructor,) = answers["instructor"].json()["submissions"]
    error_id = seen_by_instructor["error_id"]
    assert "details" not in seen_by_instructor
    (seen_by_admin,) = call(hub, grader, "root", "GET", f"{PS1}/submissions").json()["submissions"]
    assert seen_by_admin["error_id"] == error_id
    assert "Input/output error" in seen_by_admin["details"] and root in seen_by_admin["details"]


def test_admins_see_why_submissions_wait_for_the_sandbox_and_nobody_else(hub, grader, released):
    from grading.sandbox import SandboxUnavailable

    mine = submit(hub, grader, "grace", tar_of({"ps1-basics.ipynb": NOTEBOOK})).json()["id"]

    def no_engine(submission):
        raise SandboxUnavailable("no Docker engine answers: connection refused")

    run_one_job(grader, no_engine, max_attempts=1)
    (waiting,) = call(hub, grader, "grace", "GET", f"{PS1}/submissions").json()["submissions"]
    assert (waiting["status"], waiting["message"]) == ("queued", "")  # not the learner's failure
    status = call(hub, grader, "root", "GET", "status")
    assert status.status_code == 200, status.text
    (job,) = status.json()["waiting_for_sandbox"]
    assert (job["submission"], job["course"], job["tries"]) == (mine, "python-101", 1)
    assert job["reason"].endswith("no Docker engine answers: connection refused")
    assert status.json()["open"] == {"autograde": 1}
    for user in ("ada", "grace"):
        refused = call(hub, grader, user, "GET", "status")
        assert refused.status_code == 403, user
        assert "Docker" not in refused.text


def test_an_upload_of_thousands_of_folders_is_refused_and_nothing_is_kept(hub, grader, released):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        archive.addfile(tarfile.TarInfo("ps1-basics.ipynb"), io.BytesIO(b""))
        for index in range(3000):
            folder = tarfile.TarInfo(f"folder-{index}")
            folder.type = tarfile.DIRTYPE
            archive.addfile(folder)
    response = submit(hub, grader, "grace", buffer.getvalue())
    assert response.status_code == 400, response.text
    assert "more than 50 folders" in response.json()["message"]
    assert grader.rows(Submission) == [] and grader.rows(Job) == []
    submissions = grader.settings().submissions_dir
    assert not submissions.exists() or not any(submissions.rglob("*"))


# -- durability -----------------------------------------------------------------------------


def test_a_submission_answered_202_survives_a_kill_right_after(hub, tmp_path, released):
    """``released`` is the shared grader's; this test's grader is its own (own folder and
    database), released through its own API."""
    own = start_grader(hub, tmp_path, free_port())
    try:
        assert call(hub, own, "ada", "POST", f"{PS1}/release").status_code == 201
        response = submit(hub, own, "grace", tar_of({"ps1-basics.ipynb": NOTEBOOK}))
        os.kill(own.process.pid, signal.SIGKILL)
        assert response.status_code == 202
        own.process.wait()
    finally:
        stop(own.process)
    submission_id = response.json()["id"]
    (row,) = own.rows(Submission)
    assert (row.id, row.status, row.learner) == (submission_id, "queued", "grace")
    (job,) = own.rows(Job)
    assert (job.submission_id, job.done_at) == (submission_id, None)
    files = own.settings().submissions_dir / submission_id / "files" / "ps1-basics.ipynb"
    assert files.read_bytes() == NOTEBOOK



# -- the formgrader (formgrader-python-101) -------------------------------------------------------

FORMGRADER = "services/formgrader-python-101"


def formgrader_call(hub: Hub, user: str, method: str, path: str, **kwargs) -> requests.Response:
    """The formgrader through the hub's proxy with ``user``'s hub token."""
    headers = {"Authorization": f"token {hub.token(user)}", **kwargs.pop("headers", {})}
    return requests.request(method, f"{hub.url}/{FORMGRADER}/{path}", headers=headers,
                            timeout=60, allow_redirects=False, **kwargs)


@pytest.fixture(scope="module")
def formgraded(hub) -> Path:
    """python-101's nbgrader course directory under the formgrader's GRADER_ROOT, with
    ps1-basics released and grace's submission autograded (6 of 10 points), once the
    formgrader answers."""
    from grading.autograde import autograde
    from grading.release import release
    from tests.support.sandboxes import ChosenOutputs

    deadline = time.monotonic() + START_SECONDS
    while formgrader_call(hub, "root", "GET", "formgrader/api/status").status_code != 200:
        assert time.monotonic() < deadline, (hub.folder / "hub.log").read_text()[-4000:]
        time.sleep(0.5)
    settings = Settings.from_env({"STUDIO_VAR_DIR": str(hub.formgrader_var),
                                  "STUDIO_COURSES_DIR": str(ROOT / "courses")})
    course_dir = settings.nbgrader_course_dir("python-101")
    release(course_dir, "ps1-basics")
    upload = hub.folder / "grace-upload"
    upload.mkdir()
    shutil.copy(course_dir / "release" / "ps1-basics" / "ps1-basics.ipynb", upload)
    sandbox = ChosenOutputs(pool_size=0)
    sandbox.failing = frozenset({"ps1-grade-tests"})
    result = autograde(course_dir, "ps1-basics", "grace", upload,
                       submitted_at=dt.datetime.now(dt.UTC), sandbox=sandbox)
    assert (result.status, result.score) == ("graded", 6.0)
    return course_dir


def test_an_instructor_of_the_course_sees_its_submissions_in_the_formgrader(hub, formgraded):
    landing = formgrader_call(hub, "ada", "GET", "")
    assert landing.status_code == 302
    assert landing.headers["Location"].startswith(f"/{FORMGRADER}/formgrader")
    page = formgrader_call(hub, "ada", "GET", "formgrader/manage_submissions/ps1-basics")
    assert page.status_code == 200
    assert "<title>nbgrader formgrade</title>" in page.text and "ps1-basics" in page.text
    listed = formgrader_call(hub, "ada", "GET", "formgrader/api/submissions/ps1-basics")
    assert listed.status_code == 200, listed.text
    (grace,) = [s for s in listed.json() if s["student"] == "grace"]
    assert (grace["score"], grace["max_score"], grace["autograded"]) == (6.0, 10.0, True)


def test_a_browser_signs_in_to_the_formgrader_through_hub_oauth(hub, formgraded):
    browser = requests.Session()
    browser.get(f"{hub.url}/hub/login", timeout=30)
    browser.post(f"{hub.url}/hub/login?next=/hub/home", timeout=30,
                 data={"username": "ada", "password": "any",
                       "_xsrf": browser.cookies.get("_xsrf")})
    page = browser.get(f"{hub.url}/{FORMGRADER}/formgrader", timeout=60)
    assert page.status_code == 200, page.url
    assert page.url.endswith("/formgrader") or "/formgrader/" in page.url


@pytest.mark.parametrize("user", ["grace", "barbara", "outsider"])
def test_learners_and_other_courses_instructors_cannot_open_the_formgrader(
    hub, formgraded, user
):
    for path in ("formgrader/api/submissions/ps1-basics", "formgrader", "api/contents"):
        response = formgrader_call(hub, user, "GET", path)
        assert response.status_code == 403, (user, path, response.status_code)


def test_a_hub_admin_may_open_every_formgrader(hub, formgraded):
    assert formgrader_call(hub, "root", "GET", "formgrader/api/assignments").status_code == 200


def test_the_formgrader_starts_no_kernel(hub, formgraded):
    kernel = formgrader_call(hub, "ada", "POST", "api/kernels", json={"name": "python3"})
    assert kernel.status_code == 403
    assert "runs no code" in kernel.text and "Regrade" in kernel.text
    session = formgrader_call(hub, "ada", "POST", "api/sessions", json={
        "path": "source/ps1-basics/ps1-basics.ipynb", "type": "notebook",
        "kernel": {"name": "python3"}})
    assert session.status_code == 500  # jupyter_server wraps the kernel manager's refusal
    assert "runs no code" in session.json()["message"]
    assert formgrader_call(hub, "ada", "GET", "api/kernels").json() == []
    assert formgrader_call(hub, "ada", "GET", "api/sessions").json() == []


def test_the_formgrader_opens_no_terminal(hub, formgraded):
    assert formgrader_call(hub, "ada", "POST", "api/terminals").status_code == 404


def test_the_formgrader_saves_no_file(hub, formgraded):
    for path in ("nbgrader_config.py", "source/ps1-basics/extra.py",
                 "source/ps1-basics/ps1-basics.ipynb"):
        saved = formgrader_call(hub, "ada", "PUT", f"api/contents/{path}",
                                json={"type": "file", "format": "text", "content": "x = 1"})
        assert saved.status_code == 403, (path, saved.text)
        assert "changes no files" in saved.text
    assert not (formgraded / "nbgrader_config.py").exists()
    assert not (formgraded / "source" / "ps1-basics" / "extra.py").exists()
    released = "api/contents/source/ps1-basics/ps1-basics.ipynb"
    renamed = formgrader_call(hub, "ada", "PATCH", released,
                              json={"path": "source/ps1-basics/moved.ipynb"})
    deleted = formgrader_call(hub, "ada", "DELETE", released)
    assert (renamed.status_code, deleted.status_code) == (403, 403)
    assert (formgraded / "source" / "ps1-basics" / "ps1-basics.ipynb").is_file()


def test_the_formgrader_shows_only_nbgraders_folders(hub, formgraded):
    root = formgrader_call(hub, "ada", "GET", "api/contents")
    assert root.status_code == 200, root.text
    assert {entry["name"] for entry in root.json()["content"]} <= {
        "source", "release", "submitted", "autograded", "feedback"}
    for private in ("nbgrader_config.json", "studio_course.json", "gradebook.db"):
        assert formgrader_call(hub, "ada", "GET", f"api/contents/{private}").status_code == 404
    source = formgrader_call(hub, "ada", "GET", "api/contents/source/ps1-basics/ps1-basics.ipynb")
    assert source.status_code == 200


@pytest.mark.parametrize(
    ("path", "pointer"),
    [
        ("formgrader/api/submission/ps1-basics/grace/autograde", "Regrade"),
        ("formgrader/api/assignment/ps1-basics/assign", "Release"),
        ("formgrader/api/assignment/ps1-basics/generate_feedback", "Release feedback"),
    ],
)
def test_formgrader_steps_that_run_code_or_write_files_point_to_the_lms(
    hub, formgraded, path, pointer
):
    before = sorted(p.relative_to(formgraded) for p in formgraded.rglob("*") if p.is_file()
                    and "gradebook.db" not in p.name)
    response = formgrader_call(hub, "ada", "POST", path)
    assert response.status_code == 403
    answer = response.json()
    assert answer["success"] is False
    assert pointer in answer["error"] and "LMS" in answer["error"]
    after = sorted(p.relative_to(formgraded) for p in formgraded.rglob("*") if p.is_file()
                   and "gradebook.db" not in p.name)
    assert after == before


@pytest.mark.parametrize(
    ("path", "pointer"),
    [
        ("formgrader/api/assignment/ps1-basics/release", "Release"),
        ("formgrader/api/assignment/ps1-basics/unrelease", "Unrelease"),
        ("formgrader/api/assignment/ps1-basics/collect", "Nothing needs collecting"),
        ("formgrader/api/assignment/ps1-basics/release_feedback", "Release feedback"),
    ],
)
def test_nbgraders_exchange_steps_refuse_with_the_lms_button_to_use(
    hub, formgraded, path, pointer
):
    response = formgrader_call(hub, "ada", "POST", path)
    assert response.status_code == 200  # nbgrader's own answer: the step's error, its log
    answer = response.json()
    assert answer["success"] is False
    assert pointer in answer["log"] + answer.get("error", "")


def test_the_formgraders_exchange_buttons_answer_without_a_traceback(hub, formgraded):
    for path in ("formgrader/api/assignment/ps1-basics/release",
                 "formgrader/api/assignment/ps1-basics/unrelease",
                 "formgrader/api/assignment/ps1-basics/collect",
                 "formgrader/api/assignment/ps1-basics/release_feedback",
                 "formgrader/api/assignment/ps1-basics/grace/release_feedback"):
        response = formgrader_call(hub, "ada", "POST", path)
        assert response.json()["success"] is False, path
        for secret in ("Traceback", "site-packages", str(formgraded)):
            assert secret not in response.text, (path, secret)


def test_a_manual_grade_entered_in_the_formgrader_is_written_to_the_gradebook(hub, formgraded):
    from nbgrader.api import Gradebook

    from grading.course_directory import open_course

    notebooks = formgrader_call(hub, "ada", "GET",
                                "formgrader/api/submitted_notebooks/ps1-basics/ps1-basics")
    (submitted,) = [n for n in notebooks.json() if n["student"] == "grace"]
    grades = formgrader_call(hub, "ada", "GET",
                             f"formgrader/api/grades?submission_id={submitted['id']}").json()
    (grade,) = [g for g in grades if g["name"] == "ps1-grade-tests"]
    saved = formgrader_call(hub, "ada", "PUT", f"formgrader/api/grade/{grade['id']}",
                            json={"manual_score": 3, "extra_credit": None})
    assert saved.status_code == 200, saved.text
    course = open_course(formgraded)
    with Gradebook(course.db_url, course.slug) as gb:
        found = gb.find_grade("ps1-grade-tests", "ps1-basics", "ps1-basics", "grace")
        assert (found.manual_score, found.score) == (3.0, 3.0)


# -- the submitted notebook, for peer review (the LMS alone) ---------------------------------------

HIDDEN_NOTEBOOK = (
    b'{"cells": [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": null,'
    b' "source": "assert f(1) == 2\\n### BEGIN HIDDEN TESTS\\nassert f(7) == 8  # hidden-secret'
    b'\\n### END HIDDEN TESTS\\n"}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'
)


def notebook_path(submission_id: str) -> str:
    return f"{PS1}/submissions/{submission_id}/notebook"


def test_the_lms_reads_a_submitted_notebook_without_its_hidden_tests(hub, grader, released):
    grace = submit(hub, grader, "grace", tar_of({"ps1-basics.ipynb": HIDDEN_NOTEBOOK})).json()
    headers = {"Authorization": f"token {LMS_TOKEN}", "X-Studio-User": "linus"}
    response = call(hub, grader, "-", "GET", f"{notebook_path(grace['id'])}?learner=grace",
                    headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["submission"]["learner"] == "grace"
    (notebook,) = body["notebooks"]
    assert notebook["notebook"]["cells"][0]["source"] == "assert f(1) == 2"
    assert "hidden-secret" not in response.text
    assert "HIDDEN TESTS" not in response.text
    # ps1-basics has no peer review in course.yml: no test results, even when asked
    asked = call(hub, grader, "-", "GET", f"{notebook_path(grace['id'])}?tests=1",
                 headers=headers)
    assert asked.json()["tests"] is None


def test_only_the_lms_reads_submitted_notebooks(hub, grader, released):
    grace = submit(hub, grader, "grace", tar_of({"ps1-basics.ipynb": HIDDEN_NOTEBOOK})).json()
    path = notebook_path(grace["id"])
    for user in ("grace", "linus", "ada", "katherine", "root"):  # author, peer, instructors, admin
        response = call(hub, grader, user, "GET", path)
        assert response.status_code == 403, user
        assert "Only the LMS" in response.json()["message"]
    other = call(hub, grader, "-", "GET", path,
                 headers={"Authorization": f"token {OTHER_SERVICE_TOKEN}"})
    assert other.status_code == 403
    anonymous = requests.get(f"{grader.url}/{path}", headers={"Authorization": "token nope"},
                             timeout=30)
    assert anonymous.status_code == 401
    assert "hidden-secret" not in other.text + anonymous.text


def test_the_lms_gets_404_for_another_learner_or_assignment_of_the_submission(
    hub, grader, released
):
    grace = submit(hub, grader, "grace", tar_of({"ps1-basics.ipynb": HIDDEN_NOTEBOOK})).json()
    headers = {"Authorization": f"token {LMS_TOKEN}"}
    wrong_learner = call(hub, grader, "-", "GET", f"{notebook_path(grace['id'])}?learner=linus",
                         headers=headers)
    assert wrong_learner.status_code == 404
    other_assignment = call(
        hub, grader, "-", "GET",
        f"courses/python-101/assignments/ps2-functions/submissions/{grace['id']}/notebook",
        headers=headers)
    assert other_assignment.status_code == 404
