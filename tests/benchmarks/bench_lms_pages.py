"""LMS request cost: pages and API lists a class uses most, against a named baseline.

Baselines (same process, same database, same middleware): ``GET /api/v1/me/`` for API lists (the
API stack with one trivial query) and the home page for Wagtail pages. A ratio near 1 means a
list costs little more than the stack itself; growth with the class size would show an N+1.
Run with ``make bench``.
"""

from __future__ import annotations

import pytest
from django.test import Client

from lms.courses.services import enroll, mark_lesson_completed
from tests.benchmarks.timing import percentile, timed
from tests.support.lms_factories import (
    AssignmentFactory,
    CourseFactory,
    GradeFactory,
    LessonFactory,
    UserFactory,
)

LEARNERS = 60
REPEAT = 60


@pytest.fixture
def classroom(db):
    course = CourseFactory(slug="bench-101", title="Bench 101")
    lessons = [LessonFactory(parent=course) for _ in range(8)]
    assignments = [AssignmentFactory(parent=course) for _ in range(3)]
    instructor = UserFactory(username="bench-instructor", role="instructor")
    enroll(instructor, course, "instructor")
    learners = [UserFactory() for _ in range(LEARNERS)]
    for learner in learners:
        enroll(learner, course)
        for lesson in lessons[:3]:
            mark_lesson_completed(learner, lesson)
        for assignment in assignments:
            GradeFactory(assignment=assignment, learner=learner)
    return course, instructor, learners[0]


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_lms_request_cost_against_baselines(classroom):
    course, instructor, learner = classroom
    cases = {
        "baseline: GET /api/v1/me/": (instructor, "/api/v1/me/"),
        "API courses list": (learner, "/api/v1/courses/"),
        f"API grades list ({LEARNERS * 3} rows, instructor)": (instructor, "/api/v1/grades/"),
        "API course gradebook": (instructor, f"/api/v1/courses/{course.slug}/gradebook/"),
        "baseline: home page": (learner, "/"),
        "course page": (learner, course.url),
        "dashboard": (learner, "/dashboard/"),
        f"instructor learners view ({LEARNERS} learners)": (
            instructor, f"/courses/{course.slug}/learners/"
        ),
    }
    results = {}
    for name, (user, url) in cases.items():
        client = client_for(user)
        assert client.get(url).status_code == 200, url
        samples = timed(lambda c=client, u=url: c.get(u), REPEAT)
        results[name] = (percentile(samples, 50), percentile(samples, 95))

    print(f"\nLMS request cost, {REPEAT} requests each (in-process client, PostgreSQL)")
    baseline = results["baseline: GET /api/v1/me/"][0]
    for name, (p50, p95) in results.items():
        if name == "baseline: home page":
            baseline = p50
        print(f"  {name:<48} p50 {p50 * 1000:7.1f} ms  p95 {p95 * 1000:7.1f} ms  "
              f"x{p50 / baseline:5.2f} of baseline")
    assert len(results) == len(cases)
