"""Wagtail hooks of the courses app."""

from __future__ import annotations

from wagtail import hooks

from . import selectors, services
from .models import LessonPage


@hooks.register("before_serve_page", order=100)
def record_lesson_opened(page, request, serve_args, serve_kwargs):
    """An enrolled learner reading a lesson page has opened it (recorded once).

    Runs after Wagtail's own checks (request method, view restrictions), so only a lesson that is
    actually shown counts; previews in the admin do not go through here.
    """
    if not isinstance(page, LessonPage) or request.method != "GET":
        return None
    if not request.user.is_authenticated:
        return None
    enrollment = selectors.enrollment_of(request.user, selectors.course_of(page))
    if selectors.is_learner(enrollment):
        services.mark_lesson_opened(request.user, page)
    return None
