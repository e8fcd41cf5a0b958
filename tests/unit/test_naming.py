"""courses.naming: the LMS page of an assignment, which the grader links to without Django, and
the host of a service with an origin of its own, which the LMS links to without JupyterHub."""

from __future__ import annotations

import re

import pytest
from django.utils.text import slugify
from hypothesis import given
from hypothesis import strategies as st
from jupyterhub.utils import subdomain_hook_idna

from courses import naming
from courses.naming import (
    ASSIGNMENT_NAME_REGEX,
    COURSE_SLUG_REGEX,
    assignment_page_path,
    assignment_page_slug,
    board_draft_path,
    formgrader_service_name,
    service_host,
    service_url,
)


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


@given(st.from_regex(rf"\A{COURSE_SLUG_REGEX}\Z").filter(lambda slug: len(slug) <= 43))
def test_a_formgraders_host_is_the_one_jupyterhub_gives_a_service(slug):
    name = formgrader_service_name(slug)
    assert service_host(name, "hub.example.org") == subdomain_hook_idna(
        name, "hub.example.org", "service")


def test_a_services_url_keeps_the_hubs_scheme_and_port():
    assert service_url("https://hub.example.org", "formgrader-python-101", "formgrader") == (
        "https://formgrader-python-101--service.hub.example.org"
        "/services/formgrader-python-101/formgrader")
    assert service_url("http://localhost:8001", "formgrader-x") == (
        "http://formgrader-x--service.localhost:8001/services/formgrader-x/")


def test_a_service_name_that_makes_no_dns_label_has_no_host():
    with pytest.raises(ValueError, match="not a DNS label"):
        service_host(formgrader_service_name("x" * 44), "localhost")


def test_a_boards_draft_page_is_under_its_course_page():
    assert board_draft_path("python-101") == "/courses/python-101/board/ask/"


def test_a_study_groups_workspace_user_is_a_name_no_person_may_take():
    name = naming.study_group_workspace_user(12)
    assert name == "studygroup--12"
    assert naming.is_study_group_workspace_user(name)
    assert naming.is_reserved_username(name)
    assert not naming.is_study_group_workspace_user("studygroup--x")
    assert not naming.is_reserved_username("learner1")
