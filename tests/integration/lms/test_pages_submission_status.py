"""The assignment page tells a learner where their newest submission stands at the grader
(queued with its place in line, being graded, graded, or why it could not be graded), asked
server-side from the grader's status endpoint; a grader that is down or slow leaves a short note
and the rest of the page as it is."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from lms.courses.models import AssignmentPage
from lms.gradebook.selectors import GRADER_SILENT
from tests.support.fake_grader import closed_port_url

pytestmark = pytest.mark.django_db

LATEST = "/courses/python-101/assignments/ps1-basics/submissions/latest/status"


@pytest.fixture
def ps1(course) -> AssignmentPage:
    return AssignmentPage.objects.get(nbgrader_name="ps1-basics")


def page_of(client, user, assignment) -> str:
    client.force_login(user)
    response = client.get(assignment.url)
    assert response.status_code == 200
    return response.content.decode()


def status_line(html: str) -> str:
    start = html.index('<div class="submission-status')
    return " ".join(html[start:html.index("</div>", start)].split())


def test_a_learner_sees_their_newest_submission_queued_with_its_place(
    client, fake_grader, ps1, learner
):
    fake_grader.add_submission("python-101", "ps1-basics", status="graded",
                               submitted_at="2030-01-01T09:00:00+00:00")
    fake_grader.add_submission("python-101", "ps1-basics", status="queued", ahead=2,
                               score=None, max_score=None)
    line = status_line(page_of(client, learner, ps1))
    assert "queued for grading (2 ahead of you)" in line
    (asked,) = [r for r in fake_grader.calls("GET") if r.path == LATEST]
    assert asked.query == {"learner": ["grace"]}


@pytest.mark.parametrize(
    ("fields", "said"),
    [
        ({"status": "grading", "score": None}, "being graded now."),
        ({"status": "graded", "score": 8.0, "max_score": 10.0}, "graded: 8 of 10 points."),
        ({"status": "graded", "score": 7.5, "late": True},
         "graded: 7.5 of 10 points (submitted late)."),
        ({"status": "invalid", "message": "ps1-basics.ipynb is not a notebook."},
         "could not be graded: ps1-basics.ipynb is not a notebook."),
        ({"status": "failed", "message": "a problem on the grader's side."},
         "could not be graded: a problem on the grader&#x27;s side."),
    ],
)
def test_the_line_says_what_the_grader_says(client, fake_grader, ps1, learner, fields, said):
    fake_grader.add_submission("python-101", "ps1-basics", **fields)
    assert said in status_line(page_of(client, learner, ps1))


def test_a_grader_that_is_down_leaves_a_short_note_and_the_page(
    client, fake_grader, settings, ps1, learner
):
    settings.LMS_GRADER_API_URL = closed_port_url()
    html = page_of(client, learner, ps1)
    assert GRADER_SILENT.replace("'", "&#x27;") in status_line(html)
    assert "Your work" in html


def test_a_grader_that_hangs_costs_the_page_its_timeout_and_no_more(
    client, fake_grader, ps1, learner
):
    fake_grader.misbehave("GET", LATEST, "hang")
    assert GRADER_SILENT.replace("'", "&#x27;") in status_line(page_of(client, learner, ps1))


def test_no_submission_no_line(client, fake_grader, ps1, learner):
    html = page_of(client, learner, ps1)
    assert "submission-status" not in html
    assert [r.path for r in fake_grader.calls("GET")] == [LATEST]


def test_only_a_learner_of_a_released_assignment_has_the_grader_asked(
    client, fake_grader, ps1, instructor, learner
):
    fake_grader.add_submission("python-101", "ps1-basics", learner="ada")
    page_of(client, instructor, ps1)
    assert LATEST not in [r.path for r in fake_grader.calls("GET")]
    ps1.release_at = timezone.now() + dt.timedelta(days=1)
    ps1.save()
    page_of(client, learner, ps1)
    assert LATEST not in [r.path for r in fake_grader.calls("GET")]


def test_the_line_costs_the_page_no_database_query(client, fake_grader, settings, ps1, learner):
    fake_grader.add_submission("python-101", "ps1-basics", status="queued", ahead=1)
    client.force_login(learner)
    client.get(ps1.url)  # warm caches (site root, page tree)
    with CaptureQueriesContext(connection) as with_status:
        assert "1 ahead of you" in client.get(ps1.url).content.decode()
    settings.LMS_GRADER_API_URL = ""
    with CaptureQueriesContext(connection) as without:
        assert "submission-status" not in client.get(ps1.url).content.decode()
    assert len(with_status) == len(without)
