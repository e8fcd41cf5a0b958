"""The instructors' learners view of a course: who may see it, what it shows, how it scales."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from lms.courses.models import AssignmentPage, LessonPage, LessonProgress
from lms.courses.services import mark_lesson_completed, mark_lesson_opened
from tests.support.lms_factories import (
    AssignmentFactory,
    EnrollmentFactory,
    GradeFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
URL = "/courses/python-101/learners/"


def test_instructor_sees_each_learners_progress_activity_and_counting_grades(
    client, course, instructor, learner, other_learner
):
    basics, functions = LessonPage.objects.child_of(course).order_by("position")
    ps1 = course.get_children().get(slug="ps1-basics").specific
    mark_lesson_completed(learner, basics)
    mark_lesson_completed(learner, functions)
    mark_lesson_opened(other_learner, basics)
    submitted = timezone.now() + dt.timedelta(hours=1)
    GradeFactory(assignment=ps1, learner=learner, score=4, counts=False, submitted_at=submitted)
    GradeFactory(assignment=ps1, learner=learner, score=9, counts=True)
    client.force_login(instructor)

    response = client.get(URL)

    assert response.status_code == 200
    report = response.context["report"]
    assert report.assignments == [ps1] and report.lesson_count == 2
    grace, linus = report.rows
    assert (grace.learner, grace.progress.completed, grace.progress.total) == (learner, 2, 2)
    assert [g.score for g in grace.grades] == [9]
    assert grace.last_activity == submitted  # a submission is activity too
    assert (linus.learner, linus.progress.completed, linus.grades) == (other_learner, 0, [None])
    opened = LessonProgress.objects.get(user=other_learner).opened_at
    assert linus.last_activity == opened
    html = response.content.decode()
    assert "2 / 2" in html and "0 / 2" in html and "9 / 10" in html
    assert "ada" not in [row.learner.username for row in report.rows]  # instructors aren't rows


def test_staff_may_see_every_courses_learners(client, course, staff, learner):
    client.force_login(staff)

    assert client.get(URL).status_code == 200


def test_learners_and_other_instructors_are_refused(
    client, course, learner, other_course_instructor
):
    client.force_login(learner)
    assert client.get(URL).status_code == 403
    client.force_login(other_course_instructor)
    assert client.get(URL).status_code == 403
    client.force_login(UserFactory(username="stranger"))
    assert client.get(URL).status_code == 403


def test_anonymous_visitors_are_sent_to_sign_in(client, course):
    response = client.get(URL)

    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_unknown_course_is_404(client, staff):
    client.force_login(staff)

    assert client.get("/courses/no-such-course/learners/").status_code == 404


def test_learners_view_query_count_does_not_grow_with_learners(client, course, instructor):
    AssignmentFactory(parent=course, slug="ps2")
    lessons = list(LessonPage.objects.child_of(course))
    assignments = list(AssignmentPage.objects.child_of(course))

    def add_learners(count: int, start: int) -> None:
        for n in range(start, start + count):
            user = UserFactory(username=f"learner-{n}")
            EnrollmentFactory(user=user, course=course)
            for lesson in lessons:
                mark_lesson_completed(user, lesson)
            for assignment in assignments:
                GradeFactory(assignment=assignment, learner=user)

    def count_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(URL)
        assert response.status_code == 200
        return len(queries)

    client.force_login(instructor)
    add_learners(2, 0)
    count_queries()  # warm the per-process caches (Wagtail's site root paths)
    with_two = count_queries()
    add_learners(8, 2)
    with_ten = count_queries()

    assert with_ten == with_two
    assert len(client.get(URL).context["report"].rows) == 10
