"""Peer review's part of the assignment page (``lms.courses.page_context``): for an assignment
with peer review, the course's people get a link to its review page, and instructors the
settings from course.yml as well."""

from __future__ import annotations

from django.urls import reverse
from wagtail import hooks

from lms.courses import page_context

from . import selectors


@hooks.register(page_context.ASSIGNMENT_PAGE)
def peer_review_on_the_assignment_page(assignment, request, context) -> dict:
    spec = assignment.peer_review_spec
    course = context["course"]
    manage = selectors.may_manage_reviews(request.user, course)
    if not spec.enabled or not (manage or selectors.is_course_learner(request.user, course)):
        return {"peer_review": None}
    url = reverse("review-assignment", args=[course.slug, assignment.nbgrader_name])
    return {"peer_review": {"spec": spec, "manage": manage, "url": url}}
