"""courses.naming: the LMS page of an assignment, which the grader links to without Django."""

from __future__ import annotations

import re

from django.utils.text import slugify
from hypothesis import given
from hypothesis import strategies as st

from courses import naming
from courses.naming import ASSIGNMENT_NAME_REGEX, assignment_page_path, assignment_page_slug


@given(st.from_regex(rf"\A{ASSIGNMENT_NAME_REGEX}\Z"))
def test_an_assignments_page_slug_is_djangos_slugify_of_its_name(name):
    assert assignment_page_slug(name) == slugify(name)


def test_an_assignments_page_is_below_its_courses_page():
    assert assignment_page_path("python-101", "PS1--Basics_") == "/courses/python-101/ps1-basics/"


def test_discourse_group_names_fit_discourses_default_length_and_never_collide():
    assert naming.discourse_group("python-101") == "course-python-101"
    long_a = naming.discourse_group("introduction-to-data-science")
    long_b = naming.discourse_group("introduction-to-data-structures")
    assert len(long_a) <= naming.DISCOURSE_GROUP_MAX_LENGTH
    assert long_a.startswith("course-intro") and long_a != long_b
    assert re.fullmatch(r"[a-z0-9_.-]{3,20}", long_a)
