"""Peer review pages and their POST actions. Thin: who may see is ``selectors``', what happens
``services``'; a :class:`~lms.review.services.ReviewError` or the grader's error becomes a
message on the page the person came from. Anonymous visitors go to the sign-in page; anyone
the selectors refuse gets 403."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from courses.solutions import cell_source
from lms.accounts.models import User
from lms.base.notebooks import render_notebook_cells
from lms.courses.models import AssignmentPage, CoursePage
from lms.courses.selectors import course_of, in_course
from lms.gradebook.grader import GraderError

from . import selectors, services
from .models import Review
from .services import ReviewError


def _assignment(slug: str, name: str) -> AssignmentPage:
    course = get_object_or_404(CoursePage, slug=slug)
    assignment = (AssignmentPage.objects.live().filter(in_course(course))
                  .filter(nbgrader_name=name).first())
    if assignment is None or not assignment.peer_review_spec.enabled:
        raise Http404("This assignment has no peer review.")
    return assignment


def _review(pk: int) -> Review:
    return get_object_or_404(
        Review.objects.select_related("assignment", "author", "reviewer"), pk=pk)


@require_GET
@login_required
def assignment_reviews(request: HttpRequest, slug: str, name: str) -> HttpResponse:
    page = selectors.assignment_reviews(request.user, _assignment(slug, name))
    return render(request, "review/assignment_reviews.html", {"page": page})


@require_POST
@login_required
def assign(request: HttpRequest, slug: str, name: str) -> HttpResponse:
    """Instructors assign (or top up) the round; a learner of an ``after_submit`` assignment
    asks for their reviews to do (the same top-up, which adds them once their submission
    counts)."""
    assignment = _assignment(slug, name)
    course = course_of(assignment)
    manage = selectors.may_manage_reviews(request.user, course)
    if not manage and not (selectors.is_course_learner(request.user, course)
                           and assignment.peer_review_spec.opens == "after_submit"):
        raise PermissionDenied("Only the course's instructors assign reviews.")
    try:
        result = services.assign_reviews(assignment)
        messages.success(request, result.in_words() if manage else
                         "Your reviews to do are listed below." if result.assigned else
                         "No reviews to do yet: reviews are given once classmates submit.")
    except ReviewError as failed:
        messages.error(request, failed.message)
    return redirect("review-assignment", slug=slug, name=name)


@require_GET
@login_required
def review_scores_csv(request: HttpRequest, slug: str) -> HttpResponse:
    course = get_object_or_404(CoursePage, slug=slug)
    filename, content = selectors.review_scores_csv(request.user, course)
    response = HttpResponse(content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_GET
@login_required
def review(request: HttpRequest, pk: int) -> HttpResponse:
    found = _review(pk)
    page = selectors.review_page(request.user, found)
    notebooks, tests, problem = [], None, ""
    try:
        copy = selectors.submitted_notebook(request.user, found)
        tests = copy.tests
        comments = list(found.comments.all())
        for notebook in copy.notebooks:
            cells = render_notebook_cells(notebook.notebook) if notebook.notebook else []
            sources = (notebook.notebook or {}).get("cells", [])
            notebooks.append({
                "name": notebook.name, "problem": notebook.problem,
                "cells": [{
                    "index": i, "html": html,
                    "lines": _lines(sources[i] if i < len(sources)
                                    and isinstance(sources[i], dict) else {}),
                    "comments": [c for c in comments if c.notebook == notebook.name
                                 and c.cell == i],
                } for i, html in enumerate(cells)],
            })
    except GraderError as failed:
        problem = failed.message
    return render(request, "review/review.html", {
        "page": page, "notebooks": notebooks, "tests": tests, "problem": problem,
        "helpfulness": (1, 2, 3, 4, 5),
    })


def _lines(cell: dict) -> list[tuple[int, str]]:
    """The cell's lines, numbered from 1, for the reviewer to pick the one they comment on (a
    cell without any still has line 1): with their text for code (shown without numbers), by
    number alone for markdown (shown rendered, so its source lines are not what one sees)."""
    lines = cell_source(cell).splitlines() or [""]
    code = cell.get("cell_type") == "code"
    return [(n, line if code else "") for n, line in enumerate(lines, start=1)]


def _act(request: HttpRequest, pk: int, action) -> HttpResponse:
    found = _review(pk)
    try:
        note = action(found)
        if note:
            messages.success(request, note)
    except ReviewError as failed:
        messages.error(request, failed.message)
    return redirect("review", pk=found.pk) if selectors.may_view_review(request.user, found) \
        else redirect("review-assignment", slug=course_of(found.assignment).slug,
                      name=found.assignment.nbgrader_name)


def _number(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        raise ReviewError("Choose a cell (and a line) of the notebook.") from None


@require_POST
@login_required
def submit(request: HttpRequest, pk: int) -> HttpResponse:
    def action(found: Review) -> str:
        spec = found.assignment.peer_review_spec
        scores = {c.criterion: request.POST.get(f"criterion-{i}", "")
                  for i, c in enumerate(spec.rubric)}
        services.submit_review(found, request.user, scores, request.POST.get("summary", ""))
        return "Your review is submitted."
    return _act(request, pk, action)


@require_POST
@login_required
def comment(request: HttpRequest, pk: int) -> HttpResponse:
    def action(found: Review) -> str:
        cell = _number(request.POST.get("cell"))
        services.add_comment(found, request.user, request.POST.get("notebook", ""),
                             -1 if cell is None else cell, _number(request.POST.get("line")),
                             request.POST.get("body", ""))
        return "Comment added."
    return _act(request, pk, action)


@require_POST
@login_required
def reply(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(request, pk, lambda found: services.reply(
        found, request.user, request.POST.get("body", "")) and "Reply sent.")


@require_POST
@login_required
def rate(request: HttpRequest, pk: int) -> HttpResponse:
    def action(found: Review) -> str:
        services.rate(found, request.user, _number(request.POST.get("helpfulness")) or 0)
        return "Thank you for rating the review."
    return _act(request, pk, action)


@require_POST
@login_required
def hide(request: HttpRequest, pk: int) -> HttpResponse:
    def action(found: Review) -> str:
        hidden = request.POST.get("hidden", "1") == "1"
        services.hide(found, request.user, hidden)
        return "The review is hidden from its author." if hidden else "The review is shown again."
    return _act(request, pk, action)


@require_POST
@login_required
def reassign(request: HttpRequest, pk: int) -> HttpResponse:
    def action(found: Review) -> str:
        selectors.require_review_rights(request.user, course_of(found.assignment))
        to = User.objects.filter(username=request.POST.get("reviewer", "")).first()
        if to is None:
            raise ReviewError("Choose a learner of the course.")
        services.reassign(found, to, request.user)
        return f"The review is now {to.username}'s."
    found = _review(pk)
    _act(request, pk, action)
    return redirect("review-assignment", slug=course_of(found.assignment).slug,
                    name=found.assignment.nbgrader_name)
