"""The views that show grades: the learner's dashboard, and for instructors the course gradebook,
the learners view, the grade export and the POST actions of the assignment page (release,
unrelease, regrade, release feedback). Thin: who may is decided in ``selectors`` (and
``lms.courses.selectors.may_view_learners``), what happens in ``services``; the grader's answer
becomes a message on the page the instructor came from."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.utils import timezone
from django.utils.dateformat import format as format_date
from django.views.decorators.http import require_GET, require_POST

from lms.base.versioned_cache import find_site
from lms.courses import page_context
from lms.courses.models import AssignmentPage, CoursePage
from lms.courses.selectors import may_view_learners

from . import selectors, services
from .grader import GraderError


@require_GET
@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    find_site(request)  # the site the page links are relative to, cached with the content
    context = {"dashboard": selectors.dashboard_for(request.user), "panels": []}
    return render(
        request, "gradebook/dashboard.html",
        page_context.build(page_context.DASHBOARD, None, request, context),
    )


@require_GET
@login_required
def course_learners(request: HttpRequest, slug: str) -> HttpResponse:
    course = get_object_or_404(CoursePage, slug=slug)
    if not may_view_learners(request.user, course):
        raise PermissionDenied("Only the course's instructors see its learners.")
    return render(
        request,
        "gradebook/course_learners.html",
        {"course": course, "report": selectors.course_learners_report(course)},
    )


def _act(request: HttpRequest, pk: int, action) -> HttpResponse:
    """Run ``action(user, assignment) -> message`` and show its outcome on the assignment page."""
    assignment = get_object_or_404(AssignmentPage.objects.live(), pk=pk)
    try:
        messages.success(request, action(request.user, assignment))
    except GraderError as failed:
        messages.error(request, failed.message)
    return redirect(assignment.get_url(request))


def _when(moment) -> str:
    return format_date(timezone.localtime(moment), "j M Y, H:i T")


def _released(user, assignment: AssignmentPage) -> str:
    release = services.release_assignment(user, assignment)
    due = f"due {_when(assignment.due_at)}" if assignment.due_at else "no due date"
    again = "released to learners" if release.created else "released again"
    return f"“{assignment.title}” is {again} ({due}, with the page's late policy)."


def _unreleased(user, assignment: AssignmentPage) -> str:
    services.unrelease_assignment(user, assignment)
    return f"“{assignment.title}” is withdrawn from learners; their submissions are kept."


def _regraded(user, assignment: AssignmentPage, ids: list[str] | None) -> str:
    queued = services.regrade_submissions(user, assignment, ids)
    if not queued:
        return "No submission was queued: there are none, or they are all waiting already."
    n = len(queued)
    return f"{n} submission{pluralize(n)} of “{assignment.title}” queued for grading again."


def _feedback_released(user, assignment: AssignmentPage) -> str:
    released = services.release_feedback(user, assignment)
    if not released:
        return "No new feedback to release: none is graded yet, or all of it is released."
    n = len(released)
    return f"Feedback on {n} submission{pluralize(n)} of “{assignment.title}” is released."


@require_POST
@login_required
def release(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(request, pk, _released)


@require_POST
@login_required
def unrelease(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(request, pk, _unreleased)


@require_POST
@login_required
def regrade(request: HttpRequest, pk: int) -> HttpResponse:
    ids = request.POST.getlist("submission") or None
    return _act(request, pk, lambda user, assignment: _regraded(user, assignment, ids))


@require_POST
@login_required
def release_feedback(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(request, pk, _feedback_released)


@require_GET
@login_required
def grades_csv(request: HttpRequest, slug: str) -> HttpResponse:
    """The course's grade export (the LMS's own grades) as a download."""
    course = get_object_or_404(CoursePage, slug=slug)
    export = selectors.grades_csv(request.user, course)
    response = HttpResponse(export.content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    return response


@require_GET
@login_required
def course_gradebook(request: HttpRequest, slug: str) -> HttpResponse:
    course = get_object_or_404(CoursePage, slug=slug)
    if not selectors.may_manage_grading(request.user, course):
        raise PermissionDenied("Only the course's instructors see its gradebook.")
    return render(
        request,
        "gradebook/course_gradebook.html",
        {"course": course, "gradebook": selectors.gradebook_page(course)},
    )
