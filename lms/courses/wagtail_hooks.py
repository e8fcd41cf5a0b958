"""Wagtail hooks of the courses app: what each course page shows of its own (the first part of
its context, ``lms.courses.page_context``), and lesson progress recorded as lessons are read."""

from __future__ import annotations

from wagtail import hooks

from . import page_context, selectors, services
from .models import LessonPage


@hooks.register(page_context.COURSE_INDEX_PAGE, order=page_context.OWN)
def catalogue(page, request, context) -> dict:
    return {"courses": selectors.catalogue_for(request.user)}


@hooks.register(page_context.COURSE_PAGE, order=page_context.OWN)
def course_page(page, request, context) -> dict:
    return selectors.course_page_context(page, request.user)


@hooks.register(page_context.LESSON_PAGE, order=page_context.OWN)
def lesson_page(page, request, context) -> dict:
    return selectors.lesson_page_context(page, request)


@hooks.register(page_context.ASSIGNMENT_PAGE, order=page_context.OWN)
def assignment_page(page, request, context) -> dict:
    """Dates and policies for everybody, and the actions open to the viewer."""
    return selectors.assignment_page_context(page, request.user)


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
    user = request.user
    enrollment = selectors.enrollment_of(user, selectors.course_of(page))
    if selectors.is_learner(enrollment) and selectors.lesson_progress_of(user, page) is None:
        services.mark_lesson_opened(user, page)
    return None
