"""The instructors' tutor page of a course: thin; who may see it is ``selectors``' rule."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from lms.courses.models import CoursePage

from . import selectors


@require_GET
@login_required
def course_tutor(request: HttpRequest, slug: str) -> HttpResponse:
    course = get_object_or_404(CoursePage, slug=slug)
    if not selectors.may_review_tutor(request.user, course):
        raise PermissionDenied("Only the course's instructors see its tutor exchanges.")
    before = request.GET.get("before", "")
    page = selectors.tutor_page(
        request.user, course, learner=request.GET.get("learner") or None,
        before=int(before) if before.isdigit() else None,
    )
    return render(request, "tutor/course_tutor.html", {"course": course, "tutor": page})
