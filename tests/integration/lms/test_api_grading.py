"""API v1's grading actions on an assignment (release, unrelease, submissions, regrade, release
feedback), against a fake grader, and the course's grade export (the LMS's own grades). Who may
call them is in test_api_permissions.py; here: what they send, what they answer, and the
grader's failures."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from lms.courses.models import AssignmentPage, LatePolicyMode
from lms.gradebook.services import record_grade
from tests.support.fake_grader import closed_port_url

pytestmark = pytest.mark.django_db

PS1 = "/api/v1/courses/python-101/assignments/ps1-basics"
ON_GRADER = "/courses/python-101/assignments/ps1-basics"
DUE = dt.datetime(2031, 5, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def ps1(course):
    ps1 = AssignmentPage.objects.get(nbgrader_name="ps1-basics")
    ps1.due_at = DUE
    ps1.late_policy = LatePolicyMode.ACCEPT
    ps1.save_revision().publish()
    return ps1


@pytest.fixture
def api(instructor):
    client = APIClient()
    client.force_authenticate(instructor)
    return client


def test_release_answers_201_then_200_with_what_the_grader_got(api, fake_grader, ps1):
    first = api.post(f"{PS1}/release/")
    again = api.post(f"{PS1}/release/")

    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == {
        "assignment": "ps1-basics",
        "released_at": "2030-01-01T09:00:00Z",
        "due_at": "2031-05-01T12:00:00Z",
        "late_policy": {"mode": "accept", "percent_per_day": 0.0, "cutoff_days": 0},
        "feedback": "auto",
        "notebooks": ["problems.ipynb"],
        "created": True,
    }
    assert again.json()["created"] is False
    call = fake_grader.calls("POST")[0]
    assert call.body["due_at"] == "2031-05-01T12:00:00+00:00"
    assert call.acting_for == "ada"


def test_an_unreleased_assignment_may_be_released_by_its_instructors(api, fake_grader, course):
    from tests.support.lms_factories import AssignmentFactory

    exam = AssignmentFactory(
        parent=course,
        slug="exam",
        nbgrader_name="exam",
        release_at=dt.datetime(2031, 1, 1, tzinfo=dt.UTC),
        due_at=dt.datetime(2031, 1, 2, tzinfo=dt.UTC),
    )

    response = api.post(f"/api/v1/courses/python-101/assignments/{exam.nbgrader_name}/release/")

    assert response.status_code == 201


def test_unrelease_answers_204_and_a_graders_404_keeps_its_status_and_message(
    api, fake_grader, ps1
):
    api.post(f"{PS1}/release/")

    assert api.delete(f"{PS1}/release/").status_code == 204
    again = api.delete(f"{PS1}/release/")

    assert again.status_code == 404
    assert again.json() == {
        "detail": "'ps1-basics' is not released in python-101",
        "grader_error": "not-found",
    }


def test_instructor_lists_every_learners_submissions(api, fake_grader, ps1):
    graded = fake_grader.add_submission("python-101", "ps1-basics", learner="grace", score=7.5)
    fake_grader.add_submission(
        "python-101", "ps1-basics", learner="linus", status="queued", score=None, max_score=None
    )

    response = api.get(f"{PS1}/submissions/")

    assert response.status_code == 200
    first, second = response.json()["submissions"]
    assert first == {
        "id": graded["id"],
        "learner": "grace",
        "submitted_at": "2030-01-01T10:00:00Z",
        "status": "graded",
        "late": False,
        "score": "7.50",
        "max_score": "10.00",
        "message": "",
    }
    assert (second["status"], second["score"]) == ("queued", None)


def test_submissions_of_one_learner_are_asked_for_by_name(api, fake_grader, ps1):
    api.get(f"{PS1}/submissions/?learner=grace")

    assert fake_grader.requests[0].query == {"learner": ["grace"]}


def test_regrade_all_or_some_answers_202_with_the_queued_ids(api, fake_grader, ps1):
    one = fake_grader.add_submission("python-101", "ps1-basics")
    two = fake_grader.add_submission("python-101", "ps1-basics")

    everything = api.post(f"{PS1}/regrade/", {}, format="json")
    some = api.post(f"{PS1}/regrade/", {"submissions": [two["id"]]}, format="json")

    assert everything.status_code == 202
    assert everything.json() == {"submissions": [one["id"], two["id"]]}
    assert some.json() == {"submissions": [two["id"]]}
    assert [c.body for c in fake_grader.calls("POST")] == [{}, {"submissions": [two["id"]]}]


def test_regrading_an_unknown_submission_is_the_graders_400(api, fake_grader, ps1):
    response = api.post(f"{PS1}/regrade/", {"submissions": ["f" * 32]}, format="json")

    assert response.status_code == 400
    assert response.json()["detail"] == f"no submissions {'f' * 32} of 'ps1-basics' in python-101"
    assert response.json()["grader_error"] == "invalid"


def test_a_malformed_regrade_body_is_refused_before_the_grader(api, fake_grader, ps1):
    response = api.post(f"{PS1}/regrade/", {"submissions": "all"}, format="json")

    assert response.status_code == 400
    assert fake_grader.requests == []


def test_release_feedback_answers_the_released_ids(api, fake_grader, ps1):
    graded = fake_grader.add_submission("python-101", "ps1-basics", status="graded")
    fake_grader.add_submission("python-101", "ps1-basics", status="grading")

    response = api.post(f"{PS1}/feedback/")

    assert response.status_code == 200
    assert response.json() == {"released": [graded["id"]]}
    assert fake_grader.calls("POST")[0].path == f"{ON_GRADER}/feedback"


@pytest.mark.parametrize(
    "url", ["/api/v1/courses/python-101/grades.csv", "/api/v1/courses/python-101/grades/"]
)
def test_the_grade_export_is_the_lms_gradebook_without_asking_the_grader(
    api, fake_grader, ps1, learner, url
):
    record_grade(assignment=ps1, learner=learner, submission_id="s1", score=Decimal("9.5"),
                 max_score=Decimal(10), submitted_at=DUE + dt.timedelta(minutes=5))

    response = api.get(url)

    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="python-101-grades.csv"'
    assert response.content.decode().splitlines() == [
        "course,assignment,learner,submission_id,submitted_at,late,days_late,score,max_score,"
        "late_penalty,final_score",
        "python-101,ps1-basics,grace,s1,2031-05-01T12:05:00+00:00,yes,1,9.50,10.00,0.00,9.50",
    ]
    assert fake_grader.requests == []


def test_the_grade_exports_refusal_is_json(learner, course):
    client = APIClient()
    client.force_authenticate(learner)

    response = client.get("/api/v1/courses/python-101/grades.csv")

    assert response.status_code == 403
    assert response["Content-Type"] == "application/json"
    assert "instructors" in response.json()["detail"]


# --- the grader missing, down, slow, refusing ----------------------------------------------------


def test_without_a_grader_the_actions_answer_503_with_the_reason(api, ps1):
    response = api.post(f"{PS1}/release/")

    assert response.status_code == 503
    assert response.json()["grader_error"] == "grader-not-configured"
    assert "LMS_GRADER_API_URL is empty" in response.json()["detail"]


def test_a_grader_that_is_down_is_503(api, settings, fake_grader, ps1):
    settings.LMS_GRADER_API_URL = closed_port_url()

    response = api.get(f"{PS1}/submissions/")

    assert response.status_code == 503
    assert response.json()["detail"].startswith("The grader service cannot be reached")


def test_a_hanging_grader_is_504(api, fake_grader, ps1):
    fake_grader.misbehave("POST", f"{ON_GRADER}/regrade", "hang")

    response = api.post(f"{PS1}/regrade/", {}, format="json")

    assert response.status_code == 504
    assert response.json()["detail"].startswith("The grader service did not answer within 1")


def test_a_grader_refusing_the_lms_token_is_502_not_the_callers_403(
    api, settings, fake_grader, ps1
):
    settings.LMS_HUB_SERVICE_TOKEN = "wrong"

    response = api.post(f"{PS1}/feedback/")

    assert response.status_code == 502
    assert response.json()["grader_error"] == "forbidden"


def test_an_unreadable_answer_is_503(api, fake_grader, ps1):
    fake_grader.misbehave("GET", f"{ON_GRADER}/submissions", ("raw", 200, "text/html", b"<p>"))

    response = api.get(f"{PS1}/submissions/")

    assert response.status_code == 503
    assert "cannot read" in response.json()["detail"]
