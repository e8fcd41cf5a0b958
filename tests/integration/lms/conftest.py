"""LMS tests run against the real PostgreSQL named by DATABASE_URL (``make test`` starts it)."""

from __future__ import annotations

import pytest

from lms.accounts.factories import InstructorFactory, StaffFactory, UserFactory
from lms.courses.factories import (
    AssignmentFactory,
    CourseFactory,
    EnrollmentFactory,
    LessonFactory,
)
from lms.courses.models import EnrollmentRole


@pytest.fixture(autouse=True)
def _real_postgresql(settings):
    """Refuse to run the LMS suite on anything but PostgreSQL: production runs on it."""
    assert settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql", (
        "LMS tests need PostgreSQL: run them with `make test` (it sets DATABASE_URL)"
    )


@pytest.fixture
def course(db):
    """A course with two lessons and one assignment, an instructor and one learner."""
    course = CourseFactory(slug="python-101", title="Python 101")
    LessonFactory(parent=course, slug="basics", title="Basics")
    LessonFactory(parent=course, slug="functions", title="Functions")
    AssignmentFactory(parent=course, slug="ps1-basics", nbgrader_name="ps1-basics")
    return course


@pytest.fixture
def instructor(course):
    user = InstructorFactory(username="ada")
    EnrollmentFactory(user=user, course=course, role=EnrollmentRole.INSTRUCTOR)
    return user


@pytest.fixture
def learner(course):
    user = UserFactory(username="grace")
    EnrollmentFactory(user=user, course=course)
    return user


@pytest.fixture
def other_learner(course):
    user = UserFactory(username="linus")
    EnrollmentFactory(user=user, course=course)
    return user


@pytest.fixture
def other_course_instructor(db):
    other = CourseFactory(slug="data-201", title="Data 201")
    user = InstructorFactory(username="barbara")
    EnrollmentFactory(user=user, course=other, role=EnrollmentRole.INSTRUCTOR)
    return user


@pytest.fixture
def staff(db):
    return StaffFactory(username="root-admin")
