"""Courses, lessons, assignments, enrolling and leaving, and lesson progress through the API."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from lms.courses.models import Enrollment, LessonPage, LessonProgress, ProgressStatus
from tests.support.lms_factories import CourseFactory, UserFactory


@pytest.fixture(autouse=True)
def _fresh_throttles():
    cache.clear()  # throttle counters live in the cache
    yield
    cache.clear()


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_a_course_shows_what_the_hub_needs_and_the_callers_role(learner):
    course = client_for(learner).get("/api/v1/courses/python-101/").json()
    assert course == {
        "slug": "python-101",
        "title": "Python 101",
        "summary": "A course about Python.",
        "enrollment_open": True,
        "notebook_image": "",  # empty: the studio's default image (HUB_IMAGE)
        "resource_profile": "learner",
        "url": course["url"],
        "my_role": "learner",
    }
    assert course["url"].endswith("/python-101/")


def test_a_learner_enrolls_where_enrollment_is_open_and_joins_the_hub_group(course, db):
    newcomer = UserFactory(username="newcomer")
    client = client_for(newcomer)
    response = client.post("/api/v1/courses/python-101/enroll/")
    assert response.status_code == 201
    assert response.json()["role"] == "learner"
    assert client.get("/api/v1/me/").json()["groups"] == ["nbgrader-python-101"]
    assert client.post("/api/v1/courses/python-101/enroll/").status_code == 200
    assert Enrollment.objects.filter(user=newcomer).count() == 1


def test_enrolling_in_a_closed_course_is_refused_with_a_clear_message(db):
    CourseFactory(slug="closed-101", enrollment_open=False)
    newcomer = UserFactory(username="newcomer")
    response = client_for(newcomer).post("/api/v1/courses/closed-101/enroll/")
    assert response.status_code == 403
    assert response.json() == {
        "detail": "Enrollment in this course is closed: ask its instructors."
    }
    assert not Enrollment.objects.filter(user=newcomer).exists()


def test_leaving_removes_the_enrollment_and_is_idempotent(learner):
    client = client_for(learner)
    assert client.post("/api/v1/courses/python-101/leave/").status_code == 204
    assert not Enrollment.objects.filter(user=learner).exists()
    assert client.post("/api/v1/courses/python-101/leave/").status_code == 204


def test_enrolling_in_an_unknown_course_is_404(learner):
    assert client_for(learner).post("/api/v1/courses/nope/enroll/").status_code == 404


def test_enroll_and_leave_are_throttled(learner, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "enrollment": "3/min",
        },
    }
    client = client_for(learner)
    codes = [
        client.post(f"/api/v1/courses/python-101/{action}/").status_code
        for action in ["leave", "enroll", "leave", "enroll"]
    ]
    assert codes == [204, 201, 204, 429]
    assert client.get("/api/v1/courses/").status_code == 200  # only enroll/leave are scoped


def test_lessons_list_in_course_order_with_their_notebooks(course, learner):
    LessonPage.objects.filter(slug="basics").update(notebook_path="lessons/01-basics.ipynb")
    lessons = client_for(learner).get("/api/v1/courses/python-101/lessons/").json()["results"]
    assert [(lesson["slug"], lesson["notebook_path"]) for lesson in lessons] == [
        ("basics", "lessons/01-basics.ipynb"),
        ("functions", ""),
    ]
    assert set(lessons[0]) == {"slug", "title", "summary", "notebook_path", "position", "url"}
    one = client_for(learner).get("/api/v1/courses/python-101/lessons/functions/")
    assert one.json()["title"] == "Functions"


def test_lessons_of_an_unknown_course_are_404(learner):
    assert client_for(learner).get("/api/v1/courses/nope/lessons/").status_code == 404


def test_assignments_carry_dates_points_and_the_late_policy(learner):
    ps1 = client_for(learner).get("/api/v1/courses/python-101/assignments/").json()["results"][0]
    assert set(ps1) == {
        "nbgrader_name",
        "slug",
        "title",
        "summary",
        "points",
        "release_at",
        "due_at",
        "released",
        "late_policy",
        "late_percent_per_day",
        "late_cutoff_days",
        "tutor_policy",
        "hints",
        "url",
    }
    assert (ps1["nbgrader_name"], ps1["released"], ps1["late_policy"]) == (
        "ps1-basics",
        True,
        "reject",
    )


# --- progress -------------------------------------------------------------------------------


def record(client, method, lesson="basics", status="completed", course="python-101"):
    payload = {"course": course, "lesson": lesson, "status": status}
    return getattr(client, method)("/api/v1/progress/", payload, format="json")


def test_a_learner_marks_a_lesson_completed(learner):
    response = record(client_for(learner), "post")
    assert response.status_code == 200
    body = response.json()
    assert (body["course"], body["lesson"], body["user"], body["status"]) == (
        "python-101",
        "basics",
        "grace",
        "completed",
    )
    assert body["completed_at"] is not None


def test_posting_opened_records_a_visit_and_never_undoes_a_completion(learner):
    client = client_for(learner)
    assert record(client, "post", status="opened").json()["status"] == "opened"
    record(client, "post", status="completed")
    assert record(client, "post", status="opened").json()["status"] == "completed"
    assert LessonProgress.objects.filter(user=learner).count() == 1


def test_putting_opened_marks_a_completed_lesson_not_done_again(learner):
    client = client_for(learner)
    record(client, "put", status="completed")
    response = record(client, "put", status="opened")
    assert (response.json()["status"], response.json()["completed_at"]) == ("opened", None)
    progress = LessonProgress.objects.get(user=learner)
    assert progress.status == ProgressStatus.OPENED


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"lesson": "no-such-lesson"}, "lesson"),
        ({"course": "no-such-course"}, "lesson"),
        ({"status": "mastered"}, "status"),
    ],
)
def test_progress_for_unknown_lessons_is_refused(learner, fields, field):
    response = record(client_for(learner), "post", **fields)
    assert response.status_code == 400
    assert field in response.json()
    assert not LessonProgress.objects.exists()


def test_progress_in_a_course_one_has_not_joined_is_refused(course, db):
    stranger = UserFactory(username="stranger")
    response = record(client_for(stranger), "post")
    assert response.status_code == 403
    assert response.json()["detail"] == "Only the course's learners record lesson progress."


def test_an_instructor_filters_progress_by_course_and_learner(learner, other_learner, instructor):
    record(client_for(learner), "post", lesson="basics")
    record(client_for(other_learner), "post", lesson="functions")
    client = client_for(instructor)

    def listed(query):
        rows = client.get(f"/api/v1/progress/?{query}").json()["results"]
        return sorted((p["user"], p["lesson"]) for p in rows)

    assert listed("course=python-101") == [("grace", "basics"), ("linus", "functions")]
    assert listed("course=python-101&user=linus") == [("linus", "functions")]
    assert listed("course=unknown") == []
