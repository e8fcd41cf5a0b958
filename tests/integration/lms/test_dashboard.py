"""The learner's dashboard: progress per course, upcoming deadlines and latest grades."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from lms.courses.models import LessonPage
from lms.courses.services import mark_lesson_completed, mark_lesson_opened
from lms.gradebook.selectors import dashboard_for
from tests.support.lms_factories import (
    AssignmentFactory,
    CourseFactory,
    EnrollmentFactory,
    GradeFactory,
    LessonFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def days(n: float) -> dt.datetime:
    return NOW + dt.timedelta(days=n)


def test_dashboard_needs_a_signed_in_user(client):
    response = client.get("/dashboard/")

    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/dashboard/"


def test_progress_is_completed_lessons_over_live_lessons(client, course, learner):
    lessons = list(LessonPage.objects.child_of(course))
    LessonFactory(parent=course, slug="extra")
    draft = LessonFactory(parent=course, slug="draft", live=False)
    mark_lesson_completed(learner, lessons[0])
    mark_lesson_opened(learner, lessons[1])  # opened is not completed
    mark_lesson_completed(learner, draft)  # an unpublished lesson does not count
    client.force_login(learner)

    response = client.get("/dashboard/")

    card = response.context["dashboard"].courses[0]
    assert (card.course, card.progress.completed, card.progress.total) == (course, 1, 3)
    assert card.progress.percent == 33
    assert "1 of 3 lessons completed (33%)" in response.content.decode()


def test_courses_i_left_or_teach_are_not_my_learning(course, instructor):
    other = CourseFactory(slug="other")
    user = UserFactory(username="solo")
    EnrollmentFactory(user=user, course=other)

    assert [c.course for c in dashboard_for(user).courses] == [other]
    assert dashboard_for(instructor).courses == []


def test_upcoming_deadlines_are_released_future_and_soonest_first(client, course, learner):
    course.get_children().delete()  # only the assignments below
    later = AssignmentFactory(parent=course, slug="later", release_at=days(-1), due_at=days(9))
    sooner = AssignmentFactory(parent=course, slug="sooner", release_at=None, due_at=days(2))
    AssignmentFactory(parent=course, slug="past", release_at=days(-9), due_at=days(-1))
    AssignmentFactory(parent=course, slug="unreleased", release_at=days(1), due_at=days(5))
    AssignmentFactory(parent=course, slug="undated", release_at=days(-1), due_at=None)
    AssignmentFactory(parent=course, slug="draft", due_at=days(3), live=False)
    elsewhere = CourseFactory(slug="not-mine")
    AssignmentFactory(parent=elsewhere, slug="not-mine-ps", due_at=days(1))
    client.force_login(learner)

    response = client.get("/dashboard/")

    deadlines = response.context["dashboard"].deadlines
    assert [d.assignment.slug for d in deadlines] == ["sooner", "later"]
    assert [d.course for d in deadlines] == [course, course]
    html = response.content.decode()
    assert html.index(sooner.title) < html.index(later.title)


def test_latest_grades_are_counting_grades_newest_first(client, course, learner):
    ps1 = course.get_children().get(slug="ps1-basics").specific
    ps2 = AssignmentFactory(parent=course, slug="ps2")
    GradeFactory(assignment=ps1, learner=learner, score=6, counts=True, graded_at=days(-3))
    GradeFactory(assignment=ps1, learner=learner, score=9, counts=False, graded_at=days(-1))
    GradeFactory(assignment=ps2, learner=learner, score=7.5, counts=True, graded_at=days(-2))
    GradeFactory(assignment=ps2, learner=UserFactory(username="someone-else"), counts=True)
    client.force_login(learner)

    response = client.get("/dashboard/")

    lines = response.context["dashboard"].grades
    assert [(line.grade.assignment_id, line.grade.score) for line in lines] == [
        (ps2.pk, 7.5),
        (ps1.pk, 6),
    ]
    assert all(line.course == course for line in lines)
    html = response.content.decode()
    assert "7.5 / 10" in html and "6 / 10" in html and "9 / 10" not in html


def test_grades_stay_on_the_dashboard_after_leaving_the_course(course, learner):
    ps1 = course.get_children().get(slug="ps1-basics").specific
    GradeFactory(assignment=ps1, learner=learner, counts=True)
    learner.enrollments.all().delete()

    lines = dashboard_for(learner).grades

    assert [(line.grade.assignment_id, line.course) for line in lines] == [(ps1.pk, course)]


def test_instructors_also_see_the_courses_they_teach(client, course, instructor):
    client.force_login(instructor)

    response = client.get("/dashboard/")

    assert response.context["dashboard"].taught == [course]
    html = response.content.decode()
    assert "Courses you teach" in html
    assert 'href="/courses/python-101/learners/"' in html
    assert f'href="/admin/pages/{course.pk}/edit/"' in html


def test_learners_do_not_see_a_teaching_section(client, learner):
    client.force_login(learner)

    response = client.get("/dashboard/")

    assert response.context["dashboard"].taught == []
    assert "Courses you teach" not in response.content.decode()


def test_dashboard_queries_do_not_grow_with_courses(learner, course):
    def count_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            dashboard_for(learner)
        return len(queries)

    baseline = count_queries()
    for n in range(3):
        extra = CourseFactory(slug=f"extra-{n}")
        EnrollmentFactory(user=learner, course=extra)
        lesson = LessonFactory(parent=extra)
        mark_lesson_completed(learner, lesson)
        GradeFactory(assignment=AssignmentFactory(parent=extra), learner=learner)

    assert count_queries() == baseline


def test_instructors_who_take_no_course_see_only_their_teaching(client, course, instructor):
    client.force_login(instructor)

    html = client.get("/dashboard/").content.decode()

    assert "Courses you teach" in html
    assert "Upcoming deadlines" not in html and "Latest grades" not in html


def test_late_grades_show_the_score_after_the_penalty(client, course, learner):
    ps1 = course.get_children().get(slug="ps1-basics").specific
    GradeFactory(assignment=ps1, learner=learner, score=8, late=True, late_penalty=2)
    client.force_login(learner)

    dashboard = client.get("/dashboard/").content.decode()
    page = client.get(ps1.url).content.decode()

    assert "6 / 10" in dashboard and "8 / 10" not in dashboard
    assert "6 / 10" in page and "8 points minus a late penalty of 2" in page
