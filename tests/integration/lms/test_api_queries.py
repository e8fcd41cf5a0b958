"""List endpoints run a fixed number of queries, however many rows they return (no N+1)."""

from __future__ import annotations

import itertools

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from lms.courses.models import AssignmentPage, CoursePage, LessonPage
from tests.support.lms_factories import (
    AssignmentFactory,
    CourseFactory,
    EnrollmentFactory,
    GradeFactory,
    LessonFactory,
    LessonProgressFactory,
    UserFactory,
)

_numbers = itertools.count()


def queries_for(client, url, expected_rows=None) -> int:
    client.get(url)  # warm per-process caches (Wagtail's site root paths)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, response.content
    if expected_rows is not None:
        body = response.json()
        rows = body["results"] if "results" in body else body["learners"]
        assert len(rows) == expected_rows
    return len(captured)


def add_learner_with_everything(course) -> None:
    """A learner of ``course`` with progress on each lesson and a grade on each assignment."""
    learner = UserFactory(username=f"bulk{next(_numbers)}")
    EnrollmentFactory(user=learner, course=course)
    for lesson in LessonPage.objects.child_of(course):
        LessonProgressFactory(user=learner, lesson=lesson)
    for assignment in AssignmentPage.objects.child_of(course):
        GradeFactory(assignment=assignment, learner=learner)


@pytest.fixture
def instructor_client(instructor):
    client = APIClient()
    client.force_authenticate(instructor)
    return client


@pytest.fixture
def staff_client(staff):
    client = APIClient()
    client.force_authenticate(staff)
    return client


@pytest.mark.parametrize(
    ("url", "rows_per_learner"),
    [
        ("/api/v1/enrollments/?course=python-101&role=learner", 1),
        ("/api/v1/progress/?course=python-101", 2),  # two lessons
        ("/api/v1/grades/?course=python-101", 1),  # one assignment
        ("/api/v1/courses/python-101/gradebook/", 1),
    ],
)
def test_instructor_lists_cost_the_same_queries_for_2_or_20_learners(
    course, instructor_client, url, rows_per_learner
):
    for _ in range(2):
        add_learner_with_everything(course)
    few = queries_for(instructor_client, url, 2 * rows_per_learner)
    for _ in range(18):
        add_learner_with_everything(course)
    many = queries_for(instructor_client, url, 20 * rows_per_learner)
    assert few == many


def test_the_catalogue_costs_the_same_queries_for_2_or_20_courses(db, staff_client):
    CourseFactory()
    CourseFactory()
    few = queries_for(staff_client, "/api/v1/courses/", 2)
    for _ in range(18):
        CourseFactory()
    many = queries_for(staff_client, "/api/v1/courses/", 20)
    assert few == many


@pytest.mark.parametrize(
    ("kind", "factory"), [("lessons", LessonFactory), ("assignments", AssignmentFactory)]
)
def test_course_pages_cost_the_same_queries_for_2_or_20_pages(db, staff_client, kind, factory):
    course = CourseFactory(slug="bulk-course")
    for _ in range(2):
        factory(parent=course)
    url = f"/api/v1/courses/bulk-course/{kind}/"
    few = queries_for(staff_client, url, 2)
    for _ in range(18):
        factory(parent=course)
    many = queries_for(staff_client, url, 20)
    assert few == many


def test_a_learners_grades_across_many_courses_cost_the_same_queries(db):
    learner = UserFactory(username="busy")
    client = APIClient()
    client.force_authenticate(learner)

    def add_course():
        course = CourseFactory()
        EnrollmentFactory(user=learner, course=course)
        GradeFactory(assignment=AssignmentFactory(parent=course), learner=learner)

    for _ in range(2):
        add_course()
    few = queries_for(client, "/api/v1/grades/", 2)
    for _ in range(18):
        add_course()
    many = queries_for(client, "/api/v1/grades/", 20)
    assert few == many
    assert CoursePage.objects.count() == 20


def test_a_list_that_fits_on_its_page_is_counted_without_a_count_query(course, learner):
    assignment = AssignmentPage.objects.child_of(course).first()
    for _ in range(3):
        GradeFactory(assignment=assignment, learner=learner)
    client = APIClient()
    client.force_authenticate(learner)

    with CaptureQueriesContext(connection) as captured:
        body = client.get("/api/v1/grades/").json()

    assert body["count"] == 3 and len(body["results"]) == 3
    assert not any("COUNT(" in query["sql"] for query in captured.captured_queries)


@pytest.mark.parametrize(
    ("query", "rows"),
    [("limit=2", 2), ("limit=5", 5), ("limit=2&offset=4", 1), ("limit=2&offset=9", 0),
     ("limit=9&offset=1", 4)],
)
def test_every_page_counts_all_the_results(course, learner, query, rows):
    assignment = AssignmentPage.objects.child_of(course).first()
    for _ in range(5):
        GradeFactory(assignment=assignment, learner=learner)
    client = APIClient()
    client.force_authenticate(learner)

    body = client.get(f"/api/v1/grades/?{query}").json()

    assert body["count"] == 5 and len(body["results"]) == rows
