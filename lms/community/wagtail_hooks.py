"""The board's parts of the course pages (``lms.courses.page_context``): a link to the course's
board on the course page, and "Discussion (N)" on lesson and assignment pages, N the threads
anchored there that the viewer sees. Members and staff only; nothing for anyone else, and
nothing when the school runs Discourse: then the course pages link to the course's category
(``lms.discourse.selectors.course_forum_url``) instead of the board."""

from __future__ import annotations

from django.urls import reverse
from wagtail import hooks

from lms.courses import page_context
from lms.discourse.selectors import course_forum_url

from . import selectors


@hooks.register(page_context.COURSE_PAGE)
def board_on_the_course_page(course, request, context) -> dict:
    if course_forum_url(course) is not None or not selectors.viewer(request.user, course).may_read:
        return {}
    return {"board_url": reverse("community-board", args=[course.slug])}


def _discussion(page, request, context) -> dict:
    counted = selectors.discussion_count(request.user, page)
    if counted is None:
        return {}
    count, course = counted
    if course_forum_url(course) is not None:
        return {}
    url = reverse("community-board", args=[course.slug]) + f"?anchor={page.slug}"
    return {"discussion": {"count": count, "url": url}}


hooks.register(page_context.LESSON_PAGE, _discussion)
hooks.register(page_context.ASSIGNMENT_PAGE, _discussion)
