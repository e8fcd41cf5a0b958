"""The course page links to the course's Discourse category when the school runs one, for the
people the category is open to (the course's learners and instructors, and staff), and not
otherwise; ``course_forum_url`` is the one answer the built-in board asks too."""

from __future__ import annotations

import re

import pytest

from lms.discourse.models import DiscourseCourse
from lms.discourse.selectors import course_forum_url
from tests.support.lms_factories import UserFactory

pytestmark = pytest.mark.django_db

LINK = re.compile(r'<a [^>]*id="course-forum-link" href="([^"]+)"')


def forum_link(client, course) -> str | None:
    match = LINK.search(client.get(course.url).content.decode())
    return match[1] if match else None


@pytest.mark.parametrize("who", ["learner", "instructor", "staff"])
def test_the_courses_members_and_staff_get_the_link_to_its_category(
    client, course, discourse, request, who
):
    client.force_login(request.getfixturevalue(who))

    assert forum_link(client, course) == "https://forum.school.example/c/python-101"


def test_the_link_names_the_category_once_it_was_created(client, course, discourse, learner):
    DiscourseCourse.objects.create(course=course, group_name="course-python-101", group_id=4,
                                   category_id=12, category_slug="python-101")
    client.force_login(learner)

    assert forum_link(client, course) == "https://forum.school.example/c/python-101/12"


def test_anonymous_visitors_get_no_link(client, course, discourse):
    assert forum_link(client, course) is None


def test_someone_not_in_the_course_gets_no_link(client, course, discourse,
                                                other_course_instructor):
    client.force_login(UserFactory(username="outsider"))
    assert forum_link(client, course) is None
    client.force_login(other_course_instructor)
    assert forum_link(client, course) is None


def test_without_discourse_there_is_no_link_and_the_board_is_the_lms_own(client, course, learner):
    client.force_login(learner)

    assert forum_link(client, course) is None
    assert course_forum_url(course) is None


def test_with_discourse_the_courses_discussions_are_there(course, discourse):
    assert course_forum_url(course) == "https://forum.school.example/c/python-101"
