"""Views beside the Wagtail pages: the POST actions of the course and lesson pages (enroll,
leave, mark a lesson complete). Thin: the rules live in services and selectors. (The dashboard
and the instructors' learners view show grades too: they are the gradebook's.)"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from . import selectors, services
from .models import CoursePage, LessonPage


def _live_course(slug: str) -> CoursePage:
    return get_object_or_404(CoursePage.objects.live(), slug=slug)


@require_POST
def enroll(request: HttpRequest, slug: str) -> HttpResponse:
    course = _live_course(slug)
    if not request.user.is_authenticated:
        return redirect_to_login(course.get_url(request))
    try:
        services.self_enroll(request.user, course)
    except PermissionDenied as closed:
        messages.error(request, str(closed))
    else:
        messages.success(request, f"You are enrolled in {course.title}.")
    return redirect(course.get_url(request))


@require_POST
def leave(request: HttpRequest, slug: str) -> HttpResponse:
    course = _live_course(slug)
    if not request.user.is_authenticated:
        return redirect_to_login(course.get_url(request))
    if selectors.enrollment_of(request.user, course) is not None:
        services.leave(request.user, course)
        messages.success(request, f"You left {course.title}. Your grades are kept.")
    return redirect(course.get_url(request))


@require_POST
@login_required
def complete_lesson(request: HttpRequest, pk: int) -> HttpResponse:
    lesson = get_object_or_404(LessonPage.objects.live(), pk=pk)
    enrollment = selectors.enrollment_of(request.user, selectors.course_of(lesson))
    if not selectors.is_learner(enrollment):
        raise PermissionDenied("Only the course's learners track their progress.")
    completed = request.POST.get("completed", "1") != "0"
    services.mark_lesson_completed(request.user, lesson, completed=completed)
    messages.success(
        request,
        f"“{lesson.title}” is marked as complete."
        if completed
        else f"“{lesson.title}” is marked as not complete.",
    )
    return redirect(lesson.get_url(request))
