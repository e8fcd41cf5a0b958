"""Who a caller of a hub service is in a course: hub groups, hub admins, trusted services."""

from __future__ import annotations

from servicekit.hub_auth import Caller

TRUSTED = frozenset({"lms"})


def caller(**model) -> Caller:
    return Caller.from_hub_model({"name": "x", **model}, TRUSTED)


def test_groups_make_learners_and_instructors_of_their_courses_only():
    grace = caller(groups=["nbgrader-python-101", "formgrade-data-201", "visitors"])
    assert grace.learns("python-101") and not grace.teaches("python-101")
    assert grace.teaches("data-201") and not grace.learns("data-201")
    assert grace.courses() == {"data-201": "instructor", "python-101": "learner"}


def test_an_instructor_who_is_also_in_the_learners_group_is_listed_as_instructor():
    both = caller(groups=["nbgrader-python-101", "formgrade-python-101"])
    assert both.courses() == {"python-101": "instructor"}


def test_a_trusted_service_teaches_every_course_and_learns_none():
    lms = caller(name="lms", kind="service")
    assert lms.trusted and lms.teaches("any-course") and not lms.learns("any-course")
    assert lms.courses() == {}


def test_a_service_not_trusted_and_a_user_named_like_one_get_nothing():
    other = caller(name="other", kind="service", groups=["formgrade-python-101"])
    user_named_lms = caller(name="lms", kind="user")
    assert not other.teaches("python-101") and not other.trusted
    assert not user_named_lms.trusted and not user_named_lms.teaches("python-101")
