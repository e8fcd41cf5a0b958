"""The tutor's unit tests: no hub, no LMS, no model; the real demo course's folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from tutor.course_data import CourseData, read_course

REPO = Path(__file__).resolve().parents[3]
COURSES = REPO / "courses"


@pytest.fixture(scope="session")
def python101() -> CourseData:
    return read_course(COURSES / "python-101")


@pytest.fixture(scope="session")
def solutions(python101):
    return python101.solutions
