"""The gradebook's parts of the course pages (``lms.courses.page_context``): the learner's grades
on the course page, and on the assignment page a learner's grade and the instructors' grading
panel. Thin, like views: the rules are ``selectors``'."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from wagtail import hooks

from lms.accounts.models import User
from lms.accounts.usernames import normalize_username
from lms.courses import page_context

from . import selectors


@hooks.register(page_context.COURSE_PAGE)
def learner_grades_on_the_course_page(course, request, context) -> dict:
    """``counting_grades``: the enrolled viewer's counting grade of each assignment listed, by
    assignment id (the "Your grade" column; empty for anyone not enrolled)."""
    if context.get("enrollment") is None:
        return {"counting_grades": {}}
    assignments = [item.assignment for item in context["assignments"]]
    return {
        "counting_grades": selectors.counting_grades_by_assignment(request.user, assignments)
    }


@hooks.register(page_context.ASSIGNMENT_PAGE)
def grades_on_the_assignment_page(assignment, request, context) -> dict:
    """A learner's grade for themselves and the course's instructors (``?learner=<username>``:
    that learner's, for instructors; anyone else gets 403), where a learner's own newest
    submission stands at the grader, and the grading panel for instructors."""
    learner = None
    if username := normalize_username(request.GET.get("learner", "")):
        learner = get_object_or_404(User, username=username)
    return selectors.assignment_grading_context(
        assignment, context["course"], request.user, learner,
        submitting=bool(context.get("is_learner") and context.get("is_released")),
    )
