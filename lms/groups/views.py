"""The study groups' pages: a course's groups (create, join), a group's page (members, sessions,
invite link, the instructors' assign and remove, the workspace), its own board (the community
board's threads scoped to the group), the invite link's landing page, and a learner's calendar
feed. Thin: who may is ``selectors``', what a write does ``services``'; a refusal becomes a
message on the page the person came from."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_GET, require_POST

from lms.accounts.models import User
from lms.community import selectors as board_selectors
from lms.community import services as board_services
from lms.community.models import ThreadKind
from lms.courses.models import CoursePage

from . import calendar, selectors, services, workspace
from .models import Admission, StudySession

PAGE_SIZE = 50


def _viewer(request: HttpRequest, slug: str) -> selectors.GroupsViewer:
    course = get_object_or_404(CoursePage.objects.live(), slug=slug)
    v = selectors.groups_viewer(request.user, course)
    if not v.may_see:
        raise PermissionDenied("Only the course's learners and instructors see its study groups.")
    return v


def _refusal(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return str(error)


def _group_url(group) -> str:
    return reverse("groups-group", args=[group.course.slug, group.pk])


def _moment(value: str) -> dt.datetime | None:
    parsed = parse_datetime((value or "").strip())
    if parsed is not None and timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    return parsed


@require_GET
@login_required
def course_groups(request: HttpRequest, slug: str) -> HttpResponse:
    v = _viewer(request, slug)
    groups = list(selectors.groups_of_course(v)[:PAGE_SIZE])
    return render(request, "groups/course_groups.html", {
        "course": v.course, "viewer": v, "groups": groups, "admissions": Admission.choices,
    })


@require_POST
@login_required
def create_group(request: HttpRequest, slug: str) -> HttpResponse:
    v = _viewer(request, slug)
    try:
        group = services.create_group(
            v, name=request.POST.get("name", ""), size_limit=request.POST.get("size_limit", 6),
            admission=request.POST.get("admission", Admission.OPEN),
        )
    except (PermissionDenied, ValidationError) as refused:
        messages.error(request, _refusal(refused))
        return redirect("groups-course", slug=slug)
    return redirect(_group_url(group))


@require_POST
@login_required
def join(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    v = _viewer(request, slug)
    group = get_object_or_404(v.course.study_groups, pk=pk)
    try:
        services.join(v, group)
    except (PermissionDenied, ValidationError) as refused:
        messages.error(request, _refusal(refused))
        return redirect("groups-course", slug=slug)
    return redirect(_group_url(group))


@require_GET
@login_required
def group(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    v = _viewer(request, slug)
    found = selectors.group_for(v, pk)
    members = list(selectors.members_of(found))
    invite = request.build_absolute_uri(
        reverse("groups-invite", args=[services.invite_token(v, found)])
    )
    learners = []
    if v.is_instructor:
        learners = list(
            User.objects.filter(enrollments__course=v.course, enrollments__role="learner")
            .exclude(study_memberships__group=found).order_by("username")
        )
    return render(request, "groups/group.html", {
        "course": v.course, "viewer": v, "group": found, "members": members,
        "is_member": any(m.user_id == request.user.pk for m in members),
        "sessions": list(selectors.upcoming_sessions(found)), "invite_url": invite,
        "learners": learners, "workspace": workspace.enabled(),
    })


@require_POST
@login_required
def act(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """The group page's forms: leave, assign, remove, void invites, plan or cancel a session,
    delete the group."""
    v = _viewer(request, slug)
    found = selectors.group_for(v, pk)
    action = request.POST.get("action", "")
    try:
        if action == "leave":
            services.leave(v, found)
            messages.success(request, f"You left “{found.name}”.")
            return redirect("groups-course", slug=slug)
        if action in {"assign", "remove"}:
            if not v.is_instructor:  # no lookup of people for anyone else
                raise PermissionDenied("Only the course's instructors manage its study groups.")
            person = get_object_or_404(User, username=request.POST.get("username", ""))
            (services.assign if action == "assign" else services.remove)(v, found, person)
        elif action == "void_invites":
            services.void_invites(v, found)
            messages.success(request, "The invite links given out so far no longer work.")
        elif action == "add_session":
            services.add_session(
                v, found, title=request.POST.get("title", ""),
                starts_at=_moment(request.POST.get("starts_at", "")),
                ends_at=_moment(request.POST.get("ends_at", "")),
                place=request.POST.get("place", ""), link=request.POST.get("link", ""),
            )
        elif action == "cancel_session":
            session = get_object_or_404(StudySession, group=found,
                                        pk=request.POST.get("session") or 0)
            services.cancel_session(v, session)
        elif action == "delete":
            services.delete_group(v, found)
            return redirect("groups-course", slug=slug)
        else:
            raise ValidationError("Unknown action.")
    except (PermissionDenied, ValidationError) as refused:
        messages.error(request, _refusal(refused))
    return redirect(_group_url(found))


@require_GET
@login_required
def invite(request: HttpRequest, token: str) -> HttpResponse:
    try:
        found = services.invited_group(token)
    except ValidationError as refused:
        return render(request, "groups/invite.html", {"error": _refusal(refused)}, status=400)
    return render(request, "groups/invite.html", {"group": found, "token": token})


@require_POST
@login_required
def accept_invite(request: HttpRequest, token: str) -> HttpResponse:
    try:
        found = services.invited_group(token)
        v = selectors.groups_viewer(request.user, found.course)
        services.join_by_invite(v, token)
    except (PermissionDenied, ValidationError) as refused:
        return render(request, "groups/invite.html", {"error": _refusal(refused)}, status=403)
    return redirect(_group_url(found))


@require_POST
@login_required
def open_workspace(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """A member's way into the group's workspace: the hub starts it if need be. Once it is
    ready, a page that moves on to it (a refresh, and a link), not a redirect: the workspace is
    on a host of its own below the hub's (``hub.origins``), and the page policy's
    ``form-action``, which browsers hold a form's redirects to as well, lets the LMS's forms
    end only at the LMS and the hub (a learner's server is no place for a form of the LMS)."""
    v = _viewer(request, slug)
    found = selectors.group_for(v, pk)
    if not selectors.is_member(request.user, found):
        raise PermissionDenied("Only the group's members work in its workspace.")
    try:
        url = workspace.open_url(found, request.user.username)
    except workspace.WorkspaceError as error:
        messages.error(request, error.message)
        return redirect(_group_url(found))
    if url is None:
        messages.info(request, "The group's workspace is starting: open it again in a few "
                               "seconds.")
        return redirect(_group_url(found))
    return render(request, "groups/workspace_open.html",
                  {"course": v.course, "group": found, "url": url, "current": "Workspace"})


# --- The group's own board ------------------------------------------------------------------


def _board_viewer(request: HttpRequest, slug: str, pk: int):
    v = _viewer(request, slug)
    found = selectors.group_for(v, pk)
    return found, selectors.board_viewer(v, found)


@require_GET
@login_required
def board(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    found, bv = _board_viewer(request, slug, pk)
    threads = list(board_selectors.threads_for(bv)[:PAGE_SIZE])
    for thread in threads:
        thread.shows_author = board_selectors.shows_author(bv, thread)
    return render(request, "groups/board.html", {
        "course": bv.course, "group": found, "viewer": bv, "threads": threads,
    })


@require_POST
@login_required
def new_thread(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    _, bv = _board_viewer(request, slug, pk)
    try:
        thread, held = board_services.create_thread(
            bv, kind=ThreadKind.DISCUSSION, title=request.POST.get("title", "")[:200],
            body=request.POST.get("body", ""),
        )
    except (PermissionDenied, ValidationError, board_services.PostingTooFast) as refused:
        messages.error(request, _refusal(refused))
        return redirect("groups-board", slug=slug, pk=pk)
    if held:
        messages.warning(request, held)
    return redirect("groups-thread", slug=slug, pk=pk, thread=thread.pk)


@login_required
def thread(request: HttpRequest, slug: str, pk: int, thread: int) -> HttpResponse:
    found, bv = _board_viewer(request, slug, pk)
    shown = board_selectors.thread_for(bv, thread)
    if request.method == "POST":
        try:
            _, held = board_services.reply(bv, shown, body=request.POST.get("body", ""))
            if held:
                messages.warning(request, held)
        except (PermissionDenied, ValidationError, board_services.PostingTooFast) as refused:
            messages.error(request, _refusal(refused))
        return redirect("groups-thread", slug=slug, pk=pk, thread=shown.pk)
    if request.method != "GET":
        raise Http404
    posts = board_selectors.posts_of(bv, shown)
    for post in posts:
        post.shown_html = board_selectors.shown_html(bv, post)
        post.shows_author = board_selectors.shows_author(bv, post)
    return render(request, "groups/thread.html", {
        "course": bv.course, "group": found, "viewer": bv, "thread": shown, "posts": posts,
    })


# --- Calendar -------------------------------------------------------------------------------


@login_required
def my_calendar(request: HttpRequest) -> HttpResponse:
    """The learner's feed URL (and a new one on POST, voiding the old)."""
    secret = services.calendar_secret(request.user, renew=request.method == "POST")
    if request.method == "POST":
        messages.success(request, "Your calendar has a new address; the old one no longer works.")
        return redirect("groups-calendar")
    url = request.build_absolute_uri(reverse("groups-calendar-feed", args=[secret]))
    return render(request, "groups/calendar.html", {
        "feed_url": url, "sessions": list(selectors.sessions_of(request.user)),
    })


@require_GET
def calendar_feed(request: HttpRequest, secret: str) -> HttpResponse:
    """The iCalendar feed at a learner's secret URL: no sign-in (calendar programs fetch it)."""
    owner = selectors.feed_owner(secret)
    if owner is None:
        raise Http404("No such calendar.")
    body = calendar.feed(
        selectors.sessions_of(owner, upcoming_only=False), host=request.get_host().split(":")[0]
    )
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Cache-Control"] = "private, max-age=300"
    response["X-Robots-Tag"] = "noindex"
    return response
