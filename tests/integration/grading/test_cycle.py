"""The whole assignment cycle on the real studio: release → fetch → submit → sandboxed autograde →
score and feedback in the LMS, through the same HTTP endpoints JupyterLab's Assignments panel
uses (the learner's server's nbgrader handlers at ``/user/<name>/assignments``), on real Docker.

The studio is :func:`tests.support.studio.own_studio` with the grader the hub manages, as
``make up`` runs it. The instructor releases through the grader's API with their own hub token
(what the LMS's buttons do for them, with its own); everything the learner does goes through
their JupyterLab server.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from grading.settings import Settings
from grading.store import Database, Submission
from tests.support.assignments import WRONG, answered
from tests.support.studio import OwnStudio, Studio, own_studio

pytestmark = [pytest.mark.docker, pytest.mark.slow]

PREFIX = "pls-cycle"
PORTS = {"lms": 18700, "hub": 18701, "proxy_api": 18702, "hub_api": 18781, "grader": 18710,
         "formgrader": 18720}
COURSE = "python-101"
ASSIGNMENT = "ps1-basics"
NOTEBOOK = f"{COURSE}/{ASSIGNMENT}/{ASSIGNMENT}.ipynb"
GRADED_SECONDS = 180  # a bound for a grading on two busy cores, not a measurement


@pytest.fixture(scope="module")
def own(tmp_path_factory) -> Iterator[OwnStudio]:
    with own_studio(
        tmp_path_factory, PREFIX, PORTS, grader=True,
        GRADER_WORKERS="2", GRADER_LEASE_SECONDS="5", GRADER_CELL_TIMEOUT="10",
        GRADER_GRADEBOOK_SCAN_SECONDS="1",
    ) as studio:
        yield studio


@pytest.fixture(scope="module")
def studio(own) -> Studio:
    return own.studio


# -- the parts a test drives ----------------------------------------------------------------


def grader_api(studio: Studio, username: str, method: str, path: str, **kwargs):
    """The grader's API through the hub's proxy with ``username``'s hub token."""
    headers = {"Authorization": f"token {studio.tokens[username]}"}
    return requests.request(method, f"{studio.hub_url}/services/grader/api/{path}",
                            headers=headers, timeout=60, **kwargs)


def release(studio: Studio) -> None:
    studio.login("instructor", spawn=False)
    released = grader_api(studio, "instructor", "POST",
                          f"courses/{COURSE}/assignments/{ASSIGNMENT}/release", json={})
    assert released.status_code in {200, 201}, released.text


def lab(studio: Studio, username: str, method: str, path: str, **kwargs) -> requests.Response:
    """The learner's own JupyterLab server (through the proxy), with their hub token: the
    endpoints nbgrader's Assignments panel and the file browser call."""
    headers = {"Authorization": f"token {studio.tokens[username]}"}
    return requests.request(method, studio.server_url(username, path), headers=headers,
                            timeout=120, **kwargs)


def panel(studio: Studio, username: str, action: str | None = None) -> list[dict]:
    """The Assignments panel's list, after ``action`` (fetch, submit, fetch_feedback)."""
    if action is None:
        response = lab(studio, username, "GET", f"assignments?course_id={COURSE}")
    else:
        response = lab(studio, username, "POST", f"assignments/{action}",
                       data={"course_id": COURSE, "assignment_id": ASSIGNMENT})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body.get("success", True), body
    return body["value"] if isinstance(body, dict) else body


def write_notebook(studio: Studio, username: str, notebook: dict) -> None:
    saved = lab(studio, username, "PUT", f"api/contents/{NOTEBOOK}",
                json={"type": "notebook", "format": "json", "content": notebook})
    assert saved.status_code in {200, 201}, saved.text


def read_notebook(studio: Studio, username: str) -> dict:
    response = lab(studio, username, "GET", f"api/contents/{NOTEBOOK}")
    assert response.status_code == 200, response.text
    return response.json()["content"]


def lms_grades(studio: Studio, username: str) -> list[dict]:
    return studio.lms_grades(username, COURSE)


def wait_for_grades(studio: Studio, username: str, count: int) -> list[dict]:
    return studio.wait_for_grades(username, COURSE, count, GRADED_SECONDS)


# -- the cycle ------------------------------------------------------------------------------


def test_a_learner_fetches_submits_and_sees_score_and_feedback_in_the_lms(studio):
    release(studio)
    studio.login("learner1")
    listed = panel(studio, "learner1")
    (entry,) = [a for a in listed if a["assignment_id"] == ASSIGNMENT]
    if entry["status"] == "released":  # the hub may already have placed it at the spawn
        listed = panel(studio, "learner1", "fetch")
    assert [a["status"] for a in listed if a["assignment_id"] == ASSIGNMENT] == ["fetched"]

    write_notebook(studio, "learner1", answered(read_notebook(studio, "learner1"),
                                                 instead={"ps1-grade-answer": WRONG}))
    listed = panel(studio, "learner1", "submit")
    (submitted,) = [a for a in listed if a["status"] == "submitted"]
    assert submitted["student_id"] == "learner1"

    (grade,) = wait_for_grades(studio, "learner1", 1)
    assert (grade["status"], float(grade["score"]), float(grade["max_score"])) == (
        "graded", 6.0, 10.0
    )  # celsius 3 + initials 3; letter_grade's 4 lost
    scores = {item["id"]: item["score"] for item in grade["breakdown"]}
    assert scores == {"ps1-celsius-tests": 3.0, "ps1-initials-tests": 3.0,
                      "ps1-grade-tests": 0.0}
    assert "letter_grade maps each band" in grade["feedback_html"]  # the test cell, shown
    assert "letter_grade(100)" not in grade["feedback_html"]  # its hidden tests, not shown

    # Feedback is released on grading (the default): the panel fetches it into the folder.
    panel(studio, "learner1", "fetch_feedback")
    listed = panel(studio, "learner1")
    (submitted,) = [a for a in listed if a["status"] == "submitted"]
    assert submitted["submissions"][-1]["has_local_feedback"] is True


def test_a_learner_cannot_fetch_another_learners_feedback_or_submit_as_them(studio):
    studio.login("learner1", spawn=False)
    studio.login("learner2", spawn=False)
    mine = grader_api(studio, "learner1", "GET",
                      f"courses/{COURSE}/assignments/{ASSIGNMENT}/submissions").json()
    assert mine["submissions"], "the first test's submission"
    theirs = mine["submissions"][0]["id"]
    path = f"courses/{COURSE}/assignments/{ASSIGNMENT}/submissions/{theirs}/feedback"
    assert grader_api(studio, "learner2", "GET", path).status_code == 404
    listing = grader_api(studio, "learner2", "GET",
                         f"courses/{COURSE}/assignments/{ASSIGNMENT}/submissions?learner=learner1")
    assert listing.status_code == 403


def formgrader(studio: Studio, username: str, method: str, path: str, **kwargs):
    """python-101's formgrader (the hub service, on its own host) with ``username``'s hub
    token."""
    headers = {"Authorization": f"token {studio.tokens[username]}"}
    return requests.request(
        method, studio.service_url(f"formgrader-{COURSE}", f"formgrader/{path}"),
        headers=headers, timeout=60, **kwargs)


def test_a_manual_grade_entered_in_the_formgrader_reaches_the_lms(studio):
    studio.login("instructor", spawn=False)
    (graded,) = [g for g in lms_grades(studio, "learner1") if g["status"] == "graded"]
    deadline = time.monotonic() + GRADED_SECONDS
    while formgrader(studio, "instructor", "GET", "api/status").status_code != 200:
        assert time.monotonic() < deadline, "the formgrader did not answer"
        time.sleep(1)
    notebooks = formgrader(studio, "instructor", "GET",
                           f"api/submitted_notebooks/{ASSIGNMENT}/{ASSIGNMENT}").json()
    (submitted,) = [n for n in notebooks if n["student"] == "learner1"]
    grades = formgrader(studio, "instructor", "GET",
                        f"api/grades?submission_id={submitted['id']}").json()
    (letter_grade,) = [g for g in grades if g["name"] == "ps1-grade-tests"]
    saved = formgrader(studio, "instructor", "PUT", f"api/grade/{letter_grade['id']}",
                       json={"manual_score": 4, "extra_credit": None})
    assert saved.status_code == 200, saved.text

    deadline = time.monotonic() + GRADED_SECONDS
    while True:
        (now,) = [g for g in lms_grades(studio, "learner1")
                  if g["submission_id"] == graded["submission_id"]]
        if float(now["score"]) == 10.0:
            break
        assert time.monotonic() < deadline, f"the LMS still has {now['score']}"
        time.sleep(1)
    tests = {item["id"]: item for item in now["breakdown"]}
    assert (tests["ps1-grade-tests"]["score"], tests["ps1-grade-tests"]["graded_by"]) == (
        4.0, "instructor"
    )
    assert now["feedback_html"] and now["feedback_html"] != graded["feedback_html"]  # afresh


def test_a_learner_cannot_open_the_formgrader(studio):
    studio.login("learner1", spawn=False)
    response = formgrader(studio, "learner1", "GET", "api/status", allow_redirects=False)
    assert response.status_code == 403


def test_killing_the_grader_mid_burst_grades_every_submission_exactly_once(own, studio):
    release(studio)
    studio.login("learner2")
    listed = panel(studio, "learner2")
    if [a["status"] for a in listed if a["assignment_id"] == ASSIGNMENT] == ["released"]:
        panel(studio, "learner2", "fetch")
    write_notebook(studio, "learner2", answered(read_notebook(studio, "learner2")))
    burst = 6
    for _ in range(burst):
        panel(studio, "learner2", "submit")
    kill_grader(own)
    grades = wait_for_grades(studio, "learner2", burst)
    assert len(grades) == burst
    assert len({g["submission_id"] for g in grades}) == burst  # one grade per submission
    assert {(g["status"], float(g["score"])) for g in grades} == {("graded", 10.0)}
    assert sum(g["counts"] for g in grades) == 1  # the latest one counts


def grader_processes() -> list[int]:
    """Process ids of the grader service (``python -m grading serve``) on this machine."""
    found = []
    for status in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = status.read_bytes().split(b"\0")
        except OSError:
            continue
        if b"grading" in argv and b"serve" in argv and b"-m" in argv:
            found.append(int(status.parent.name))
    return found


def grading_underway(own: OwnStudio) -> bool:
    """Whether a worker of the studio's grader is grading a submission right now."""
    db = Database(Settings.from_env({"STUDIO_VAR_DIR": str(own.studio.var_dir)}).db_url,
                  create=False)
    try:
        with db.transaction() as session:
            statuses = set(session.scalars(select(Submission.status)))
    finally:
        db.dispose()
    return "grading" in statuses


def kill_grader(own: OwnStudio) -> None:
    """SIGKILL the studio's grader and its workers once they grade (the hub restarts it)."""
    deadline = time.monotonic() + GRADED_SECONDS
    while not grading_underway(own):
        assert time.monotonic() < deadline, "no submission was being graded"
        time.sleep(0.2)
    ours = [pid for pid in grader_processes()
            if f"STUDIO_VAR_DIR={own.studio.var_dir}".encode()
            in Path(f"/proc/{pid}/environ").read_bytes()]
    assert ours, "the studio's grader is not running"
    for pid in ours:
        os.killpg(os.getpgid(pid), signal.SIGKILL)  # its own session: the grader and workers
