"""The study groups' parts of other pages (``lms.courses.page_context``): a link to the course's
groups on the course page (its learners and instructors), and the upcoming sessions of a
learner's groups on their dashboard."""

from __future__ import annotations

from django.urls import reverse
from wagtail import hooks

from lms.courses import page_context

from . import selectors

DASHBOARD_SESSIONS = 5


@hooks.register(page_context.COURSE_PAGE)
def groups_on_the_course_page(course, request, context) -> dict:
    if not selectors.groups_viewer(request.user, course).may_see:
        return {}
    return {"groups_url": reverse("groups-course", args=[course.slug])}


@hooks.register(page_context.DASHBOARD)
def sessions_on_the_dashboard(page, request, context) -> dict:
    sessions = list(selectors.sessions_of(request.user)[:DASHBOARD_SESSIONS])
    if not sessions:
        return {}
    panel = {"template": "groups/includes/dashboard_sessions.html", "sessions": sessions}
    return {"panels": [*context.get("panels", []), panel]}
