"""The board's pages: a course's board (threads, search, filters, a new thread), a thread (its
posts, replies, votes and the moderators' actions), the instructors' review queue of held posts
and their audit log. Thin: who may is ``selectors``', what a write does ``services``'; a
refusal becomes a message on the page the member came from."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from lms.courses.models import CoursePage
from lms.discourse.selectors import course_forum_url

from . import drafts, selectors, services
from .markup import render_markdown
from .models import ThreadKind

PAGE_SIZE = 30
"""Threads a board page lists, as Discourse lists topics; the older ones are a link away
(``selectors.page_after``)."""


def _viewer(request: HttpRequest, slug: str) -> selectors.Viewer:
    v = selectors.viewer_of(request.user, slug)
    if not v.may_read:
        raise PermissionDenied("Only the course's members read its board: enroll first.")
    return v


def _moderator(request: HttpRequest, slug: str) -> selectors.Viewer:
    v = _viewer(request, slug)
    if not v.is_moderator:
        raise PermissionDenied("Only the course's instructors see this page.")
    return v


def _checked(value: str) -> bool:
    return value in {"1", "on", "true"}


def _refusal(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return str(error)


@require_GET
@login_required
def board(request: HttpRequest, slug: str) -> HttpResponse:
    return _board_page(request, _viewer(request, slug))


def _board_page(request: HttpRequest, v: selectors.Viewer, typed=None,
                status: int = 200) -> HttpResponse:
    """The board; ``typed``: a refused new thread's form, shown again as the member wrote it."""
    anchor = selectors.anchor_of(v.course, request.GET.get("anchor", ""))
    filters = {
        "unanswered": _checked(request.GET.get("unanswered", "")),
        "following": _checked(request.GET.get("following", "")),
        "mine": _checked(request.GET.get("mine", "")),
    }
    text = request.GET.get("q", "").replace("\x00", "").strip()[:200]
    threads, after = selectors.page_after(
        selectors.threads_for(v, anchor=anchor, text=text, **filters), PAGE_SIZE,
        request.GET.get("after", ""),
    )
    older = ""
    if after:  # the same filters, the next page
        query = request.GET.copy()
        query["after"] = after
        older = f"?{query.urlencode()}"
    newest = ""
    if "after" in request.GET:
        query = request.GET.copy()
        del query["after"]
        newest = f"?{query.urlencode()}"
    for thread in threads:
        thread.shows_author = selectors.shows_author(v, thread)
    kinds = [(k, label) for k, label in ThreadKind.choices
             if k != ThreadKind.ANNOUNCEMENT or v.is_moderator]
    return render(request, "community/board.html", {
        "course": v.course, "viewer": v, "threads": threads, "anchor": anchor,
        "anchors": selectors.anchor_pages(v.course), "filters": filters, "q": text,
        "kinds": kinds, "typed": typed or {}, "older": older, "newest": newest,
    }, status=status)


@require_POST
@login_required
def new_thread(request: HttpRequest, slug: str) -> HttpResponse:
    v = _viewer(request, slug)
    anchor = selectors.anchor_of(v.course, request.POST.get("anchor", ""))
    try:
        thread, held = services.create_thread(
            v, kind=request.POST.get("kind", ""), title=request.POST.get("title", "")[:200],
            body=request.POST.get("body", ""),
            anonymous=_checked(request.POST.get("anonymous", "")),
            private=_checked(request.POST.get("private", "")), anchor_page=anchor,
            anchor_cell=request.POST.get("cell", ""),
        )
    except (PermissionDenied, ValidationError, services.PostingTooFast) as refused:
        messages.error(request, _refusal(refused))
        return _board_page(request, v, typed=request.POST, status=400)  # nothing typed is lost
    if held:
        messages.warning(request, held)
    return redirect("community-thread", slug=slug, pk=thread.pk)


@require_GET
@login_required
def draft_thread(request: HttpRequest, slug: str) -> HttpResponse:
    """A new question prefilled from the query (the tutor panel's "Ask the class",
    ``drafts``): shown with what it is about and a preview; nothing is posted until the member
    sends the form (to ``new_thread``)."""
    v = _viewer(request, slug)
    forum = course_forum_url(v.course)
    if forum is not None:
        return redirect(forum)
    draft = drafts.draft_from(request.GET, v.course)
    return render(request, "community/draft.html", {
        "course": v.course, "viewer": v, "draft": draft,
        "preview": render_markdown(draft.body), "anchors": selectors.anchor_pages(v.course),
    })


@require_GET
@login_required
def thread(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    v = _viewer(request, slug)
    return _thread_page(request, v, selectors.thread_for(v, pk))


def _thread_page(request: HttpRequest, v: selectors.Viewer, found, typed_reply=None,
                 status: int = 200) -> HttpResponse:
    """The thread; ``typed_reply``: a refused reply (``post``: the post it comments on, or
    None; ``body``), shown again in its form as the member wrote it."""
    posts = selectors.posts_of(v, found)
    for post in posts:
        for shown in [post, *post.comment_list]:
            shown.shows_author = selectors.shows_author(v, shown)
            shown.shown_html = selectors.shown_html(v, shown)
            shown.may_edit = selectors.may_edit(v, shown)
    return render(request, "community/thread.html", {
        "course": v.course, "viewer": v, "thread": found, "posts": posts,
        # the moderators' "Move" form is the only use of the anchors on this page
        "anchors": selectors.anchor_pages(v.course) if v.is_moderator else [],
        "move_targets": list(selectors.move_targets(v)),
        "may_mark_answered": selectors.may_mark_answered(v, found),
        "thread_shows_author": selectors.shows_author(v, found),
        "typed_reply": typed_reply,
    }, status=status)


def _thread_url(v, pk) -> str:
    return reverse("community-thread", args=[v.course.slug, pk])


@require_POST
@login_required
def post_action(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Every POST of a thread's page, by ``action``: reply, edit, delete, vote, unvote, report,
    follow, unfollow, answered, endorse, pin, lock, hide-thread, hide-post, move (with
    ``course``: to another course's board)."""
    v = _viewer(request, slug)
    found = selectors.thread_for(v, pk)
    action = request.POST.get("action", "")
    post = None
    if request.POST.get("post"):
        try:
            post = selectors.post_for(v, int(request.POST["post"]))
        except ValueError:
            post = None
        if post is None or post.thread_id != found.pk:
            messages.error(request, "No such post in this thread.")
            return redirect(_thread_url(v, pk))
    flag = _checked(request.POST.get("on", "1"))
    try:
        held = _do(v, found, post, action, request.POST, flag)
    except (PermissionDenied, ValidationError, services.PostingTooFast) as refused:
        messages.error(request, _refusal(refused))
        if action == "reply":  # nothing typed is lost
            typed = {"post": post.pk if post else None, "body": request.POST.get("body", "")}
            return _thread_page(request, v, found, typed_reply=typed, status=400)
    else:
        if found.course.pk != v.course.pk:  # moved to another course's board
            messages.success(request, f"The thread is now on the board of {found.course.title}.")
            return redirect("community-thread", slug=found.course.slug, pk=pk)
        if held:
            messages.warning(request, held)
    return redirect(_thread_url(v, pk))


def _do(v, found, post, action, data, flag):
    if action == "reply":
        return services.reply(v, found, body=data.get("body", ""), parent=post,
                              anonymous=_checked(data.get("anonymous", "")))[1]
    if post is None and action in {"edit", "delete", "vote", "report", "endorse", "hide-post"}:
        raise ValidationError("Say which post.")
    match action:
        case "edit":
            return services.edit_post(v, post, body=data.get("body", ""))
        case "delete":
            services.delete_post(v, post)
        case "vote":
            services.vote(v, post, flag)
        case "report":
            services.report(v, post, data.get("reason", ""))
        case "endorse":
            services.endorse(v, post, flag)
        case "hide-post":
            services.set_post_hidden(v, post, flag)
        case "follow":
            services.follow(v, found, flag)
        case "answered":
            services.mark_answered(v, found, flag)
        case "pin":
            services.set_thread_flags(v, found, pinned=flag)
        case "lock":
            services.set_thread_flags(v, found, locked=flag)
        case "hide-thread":
            services.set_thread_flags(v, found, hidden=flag)
        case "move":
            to = v
            if data.get("course"):
                other = CoursePage.objects.live().filter(slug=data["course"]).first()
                if other is None:
                    raise ValidationError("No such course.")
                to = selectors.viewer(v.user, other)
            services.move_thread(v, found, selectors.anchor_of(to.course, data.get("anchor", "")),
                                 to=to)
        case _:
            raise ValidationError("No such action.")
    return None


@require_GET
@login_required
def review_queue(request: HttpRequest, slug: str) -> HttpResponse:
    v = _moderator(request, slug)
    return render(request, "community/review_queue.html", {
        "course": v.course, "held": list(selectors.review_queue(v.course)),
        "reports": list(selectors.open_reports(v.course)),
    })


@require_POST
@login_required
def review(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    v = _moderator(request, slug)
    post = selectors.post_for(v, pk)
    try:
        services.review(v, post, approve=request.POST.get("decision") == "approve")
    except ValidationError as refused:
        messages.error(request, _refusal(refused))
    else:
        messages.success(request, "The post is published." if post.status == "published"
                         else "The post is rejected: only its author sees it.")
    return redirect("community-review", slug=slug)


@require_GET
@login_required
def audit_log(request: HttpRequest, slug: str) -> HttpResponse:
    v = _moderator(request, slug)
    return render(request, "community/audit_log.html", {
        "course": v.course, "entries": list(selectors.audit_log(v.course)[:200]),
        "bans": list(selectors.active_bans(v.course)),
    })


@require_POST
@login_required
def ban(request: HttpRequest, slug: str) -> HttpResponse:
    v = _moderator(request, slug)
    try:
        member = services.course_member(v.course, request.POST.get("username", ""))
        days = int(request.POST.get("days", "0") or 0)
        services.ban(v, member, days=days, reason=request.POST.get("reason", ""))
    except (ValidationError, ValueError) as refused:
        messages.error(request, _refusal(refused) if isinstance(refused, ValidationError)
                       else "Give the ban's length in days.")
    else:
        messages.success(request, f"{member.username} may not post for {days} days.")
    return redirect("community-audit", slug=slug)


@require_POST
@login_required
def lift_ban(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    v = _moderator(request, slug)
    found = selectors.ban_for(v, pk)
    try:
        services.lift_ban(v, found)
    except ValidationError as refused:
        messages.error(request, _refusal(refused))
    else:
        messages.success(request, f"{found.user.username} may post again.")
    return redirect("community-audit", slug=slug)
