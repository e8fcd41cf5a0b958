"""Discourse's part of the course page (``lms.courses.page_context``): the link to the course's
category, for the people who may read it."""

from __future__ import annotations

from wagtail import hooks

from lms.courses import page_context

from . import selectors


@hooks.register(page_context.COURSE_PAGE)
def course_forum_on_the_course_page(course, request, context) -> dict:
    """``course_forum_url``: the course's Discourse category for its members and staff; None
    when the school runs no Discourse or the viewer is not one of them."""
    if not selectors.sees_course_forum(request.user, course):
        return {"course_forum_url": None}
    return {"course_forum_url": selectors.course_forum_url(course)}
