"""Grade pushes from the grader service: idempotent, validated, and only from its account; and
the instructors' gradebook."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from grading.lms import ANSWER_FIELDS
from lms.courses.models import AssignmentPage
from lms.gradebook.models import Grade
from lms.gradebook.services import ensure_grader_account
from tests.support.lms_factories import AssignmentFactory, CourseFactory

GRADER_TOKEN = "grader-token-for-the-tests-0123456789"


@pytest.fixture
def grader(db):
    ensure_grader_account(GRADER_TOKEN)
    return APIClient(HTTP_AUTHORIZATION=f"Token {GRADER_TOKEN}")


@pytest.fixture
def ps1(course):
    return AssignmentPage.objects.get(nbgrader_name="ps1-basics")


def push(client, method="post", query="", **fields):
    payload = {
        "course": "python-101",
        "assignment": "ps1-basics",
        "learner": "grace",
        "submission_id": "2026-11-25T10:00:00.000000 grace",
        "score": "7.5",
        "max_score": "10",
        "status": "graded",
        "submitted_at": (timezone.now() - dt.timedelta(hours=1)).isoformat(),
        "graded_at": timezone.now().isoformat(),
        "feedback_html": "<p>Well done</p>",
        "breakdown": [
            {"id": "celsius_to_fahrenheit", "score": 4, "max_score": 4, "hidden": False},
            {"id": "initials", "score": 3.5, "max_score": 6},
        ],
    }
    payload.update(fields)
    payload = {k: v for k, v in payload.items() if v is not None}
    return getattr(client, method)(f"/api/v1/grades/{query}", payload, format="json")


def test_the_first_push_of_a_submission_creates_its_grade(grader, learner, ps1):
    response = push(grader)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["course"] == "python-101"
    assert body["assignment"] == "ps1-basics"
    assert body["learner"] == "grace"
    assert body["score"] == "7.50"
    assert body["final_score"] == "7.50"
    assert body["percent"] == 75.0
    assert body["counts"] is True
    assert body["breakdown"][0] == {
        "id": "celsius_to_fahrenheit",
        "score": 4.0,
        "max_score": 4.0,
        "hidden": False,
    }
    grade = Grade.objects.get()
    assert (grade.learner.username, grade.assignment_id, grade.feedback_html) == (
        "grace",
        ps1.pk,
        "<p>Well done</p>",
    )


@pytest.mark.parametrize("method", ["post", "put"])
def test_pushing_the_same_submission_twice_keeps_one_grade(grader, learner, ps1, method):
    submitted = (timezone.now() - dt.timedelta(hours=2)).isoformat()
    first = push(grader, method, submitted_at=submitted)
    again = push(grader, method, submitted_at=submitted)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert Grade.objects.count() == 1


def test_a_regrade_updates_the_same_row(grader, learner, ps1):
    push(grader, score="5")
    response = push(grader, score="9", feedback_html="<p>Regraded</p>")
    assert response.status_code == 200
    grade = Grade.objects.get()
    assert (grade.score, grade.feedback_html) == (9, "<p>Regraded</p>")


def test_a_new_submission_adds_a_grade_and_the_latest_on_time_one_counts(grader, learner, ps1):
    push(grader, submission_id="a", submitted_at=(timezone.now() - dt.timedelta(hours=3)))
    push(grader, submission_id="b", submitted_at=(timezone.now() - dt.timedelta(hours=1)))
    assert Grade.objects.count() == 2
    assert list(Grade.objects.filter(counts=True).values_list("submission_id", flat=True)) == ["b"]


def test_the_lms_decides_lateness_whatever_the_grader_says(grader, learner, ps1):
    response = push(grader, late=True, late_penalty="5")
    assert response.status_code == 201
    assert (response.json()["late"], response.json()["late_penalty"]) == (False, "0.00")


def test_a_learner_not_enrolled_in_the_course_is_refused(grader, course, other_course_instructor):
    from tests.support.lms_factories import UserFactory

    UserFactory(username="mallory")
    response = push(grader, learner="mallory")
    assert response.status_code == 400
    assert response.json() == {"learner": ["mallory is not enrolled in the course python-101."]}
    assert not Grade.objects.exists()


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"course": "nope-999"}, "course", "No course with the slug 'nope-999'."),
        ({"assignment": "ps7"}, "assignment", "No assignment 'ps7' in the course python-101."),
        ({"learner": "nobody"}, "learner", "No user 'nobody'."),
        ({"score": "11"}, "score", "The score is above max_score."),
        ({"status": "excellent"}, "status", None),
        ({"score": "-1"}, "score", None),
        ({"submitted_at": None}, "submitted_at", None),
        ({"breakdown": [{"score": 1, "max_score": 1}]}, "breakdown", None),
    ],
)
def test_a_push_naming_unknown_things_is_refused_with_a_message(
    grader, learner, ps1, fields, field, message
):
    response = push(grader, **fields)
    assert response.status_code == 400
    assert field in response.json()
    if message:
        assert response.json()[field] == [message]
    assert not Grade.objects.exists()


def test_an_assignment_of_another_course_is_not_found_by_its_name(grader, learner, ps1):
    other = CourseFactory(slug="python-102")
    AssignmentFactory(parent=other, slug="ps2", nbgrader_name="ps2")
    response = push(grader, assignment="ps2")
    assert response.status_code == 400
    assert response.json()["assignment"] == ["No assignment 'ps2' in the course python-101."]


def test_usernames_are_normalised_like_the_hubs(grader, learner, ps1):
    assert push(grader, learner="  Grace ").status_code == 201


def test_the_grader_reads_no_grades(grader, learner, ps1):
    push(grader)
    assert grader.get("/api/v1/grades/").json()["results"] == []
    grade = Grade.objects.get()
    assert grader.get(f"/api/v1/grades/{grade.pk}/").status_code == 404


def test_the_learner_reads_the_pushed_grade_and_its_feedback(grader, learner, ps1):
    push(grader)
    client = APIClient()
    client.force_authenticate(learner)
    grades = client.get("/api/v1/grades/").json()["results"]
    assert [(g["assignment"], g["feedback_html"]) for g in grades] == [
        ("ps1-basics", "<p>Well done</p>")
    ]


def test_a_grade_list_gives_only_the_fields_asked_for(grader, learner, ps1):
    push(grader)
    client = APIClient()
    client.force_authenticate(learner)
    grades = client.get("/api/v1/grades/?fields=submission_id,score").json()["results"]
    assert [set(g) for g in grades] == [{"submission_id", "score"}]  # no feedback page
    refused = client.get("/api/v1/grades/?fields=score,secret")
    assert refused.status_code == 400
    assert "unknown: secret" in refused.json()["fields"]


def selects_of_feedback(queries) -> list[str]:
    return [q["sql"] for q in queries
            if q["sql"].startswith("SELECT") and "feedback_html" in q["sql"]]


def test_a_list_without_the_feedback_field_does_not_read_the_feedback_pages(
    grader, learner, ps1
):
    push(grader)
    client = APIClient()
    client.force_authenticate(learner)
    with CaptureQueriesContext(connection) as queries:
        grades = client.get("/api/v1/grades/?fields=submission_id,score").json()["results"]
    assert len(grades) == 1
    assert selects_of_feedback(queries) == []
    with CaptureQueriesContext(connection) as queries:
        client.get("/api/v1/grades/?fields=submission_id,feedback_html")
    assert len(selects_of_feedback(queries)) == 1


def test_a_push_answers_with_the_fields_asked_for_and_reads_no_feedback_page(
    grader, learner, ps1
):
    push(grader, submission_id="first")
    with CaptureQueriesContext(connection) as queries:
        response = push(grader, query=f"?fields={ANSWER_FIELDS}", submission_id="second")
    assert response.status_code == 201, response.content
    assert set(response.json()) == set(ANSWER_FIELDS.split(","))  # the grader's own choice
    assert selects_of_feedback(queries) == []  # not the first grade's page, not the new one's
    assert Grade.objects.get(submission_id="second").feedback_html == "<p>Well done</p>"


def test_a_push_asking_for_an_unknown_field_is_refused_and_records_nothing(
    grader, learner, ps1
):
    response = push(grader, query="?fields=score,secret")
    assert response.status_code == 400
    assert "unknown: secret" in response.json()["fields"]
    assert not Grade.objects.exists()


def test_grade_lists_filter_by_course_assignment_learner_and_counting(
    grader, learner, other_learner, instructor, ps1
):
    push(grader, submission_id="g1", submitted_at=timezone.now() - dt.timedelta(hours=3))
    push(grader, submission_id="g2", submitted_at=timezone.now() - dt.timedelta(hours=2))
    push(grader, submission_id="l1", learner="linus")
    client = APIClient()
    client.force_authenticate(instructor)

    def listed(query):
        results = client.get(f"/api/v1/grades/?{query}").json()["results"]
        return sorted(g["submission_id"] for g in results)

    assert listed("course=python-101") == ["g1", "g2", "l1"]
    assert listed("course=no-such-course") == []
    assert listed("learner=grace") == ["g1", "g2"]
    assert listed("learner=grace&counts=true") == ["g2"]
    assert listed("assignment=ps1-basics&counts=false") == ["g1"]


def test_the_gradebook_shows_learners_by_assignments_with_the_distribution(
    grader, learner, other_learner, instructor, ps1, course
):
    AssignmentFactory(parent=course, slug="ps2", nbgrader_name="ps2", due_at=None)
    push(grader, score="8")
    push(grader, learner="linus", score="4")
    client = APIClient()
    client.force_authenticate(instructor)
    book = client.get("/api/v1/courses/python-101/gradebook/").json()
    assert book["course"] == "python-101"
    assert book["points"] == "20.00"
    assert [a["nbgrader_name"] for a in book["assignments"]] == ["ps1-basics", "ps2"]
    ps1_stats = book["assignments"][0]["distribution"]
    assert (ps1_stats["count"], ps1_stats["mean"], ps1_stats["median"]) == (2, 60.0, 60.0)
    assert (ps1_stats["minimum"], ps1_stats["maximum"]) == (40.0, 80.0)
    assert ps1_stats["histogram"] == [0, 0, 0, 0, 1, 0, 0, 0, 1, 0]
    assert book["assignments"][1]["distribution"]["count"] == 0
    rows = {row["learner"]: row for row in book["learners"]}
    assert set(rows) == {"grace", "linus"}  # learners only, not the instructor
    assert rows["grace"]["total"] == "8.00"
    assert rows["grace"]["grades"][0]["final_score"] == "8.00"
    assert rows["grace"]["grades"][1] is None
