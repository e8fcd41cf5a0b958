"""Writes of the board. Views and the API call these; nothing else writes the board's models.

Every write checks who may do it (``selectors.Viewer``) and raises ``PermissionDenied`` or
``ValidationError`` with a sentence for a person; posting is refused past the length limit
(``LMS_COMMUNITY_MAX_POST_CHARS``), to banned members and past the rate limit
(``LMS_COMMUNITY_POST_RATE``, :class:`PostingTooFast`). What a moderator does is written to the
course's audit log. Once a write is committed, ``lms.community.signals`` tell the rest of the
LMS (the seam for notifications).
"""

from __future__ import annotations

import datetime as dt
import re

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from lms.accounts.models import User
from lms.base import versioned_cache
from lms.courses.models import CoursePage

from . import search, signals
from .markup import render_markdown
from .models import (
    AuditEntry,
    Ban,
    Follow,
    Mention,
    Post,
    PostKind,
    PostRevision,
    PostStatus,
    Report,
    Thread,
    ThreadKind,
    Vote,
)
from .selectors import THREADS, Viewer, active_ban, may_edit, may_mark_answered, member_usernames
from .solutions import matched_assignment

MENTION = re.compile(r"(?<![\w@])@([A-Za-z0-9][A-Za-z0-9._-]{0,149})")
PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
HELD_MESSAGE = (
    "Your post looks like it shows the solution of “{title}” before its due date, so it is "
    "held for the instructors' review and not shown to the class yet."
)


class PostingTooFast(Exception):
    """A member wrote more posts than ``LMS_COMMUNITY_POST_RATE`` allows (the API: 429)."""

    def __init__(self, wait: int) -> None:
        self.wait = wait
        super().__init__(
            f"You are posting too fast: wait {wait} seconds before posting again."
        )


# --- Checks every post goes through ---------------------------------------------------------


def _require_reader(v: Viewer) -> None:
    if not v.may_read:
        raise PermissionDenied("Only the course's members take part in its board.")


def _require_moderator(v: Viewer) -> None:
    if not v.is_moderator:
        raise PermissionDenied("Only the course's instructors moderate its board.")


def _check_body(body: str) -> str:
    body = (body or "").strip()
    limit = settings.LMS_COMMUNITY_MAX_POST_CHARS
    if not body:
        raise ValidationError({"body": ["Write something: the post is empty."]})
    if len(body) > limit:
        raise ValidationError(
            {"body": [f"The post is {len(body)} characters long; the board takes at most "
                      f"{limit}. Shorten it, or share a notebook instead."]}
        )
    if "\x00" in body:
        raise ValidationError({"body": ["The post holds a NUL character."]})
    return body


def rate_window() -> tuple[int, int]:
    """``LMS_COMMUNITY_POST_RATE`` as (posts, seconds)."""
    number, period = settings.LMS_COMMUNITY_POST_RATE.split("/")
    return int(number), PERIODS[period[0]]


def _check_may_post(v: Viewer) -> None:
    _require_reader(v)
    ban = active_ban(v.user, v.course)
    if ban is not None:
        until = timezone.localtime(ban.until).strftime("%d %b %Y, %H:%M")
        raise PermissionDenied(
            f"You may not post on this board until {until}"
            + (f": {ban.reason}" if ban.reason else ".")
        )
    if v.is_moderator:
        return
    allowed, seconds = rate_window()
    since = timezone.now() - dt.timedelta(seconds=seconds)
    recent = list(
        Post.objects.filter(author=v.user, created_at__gte=since)
        .order_by("-created_at")
        .values_list("created_at", flat=True)[:allowed]
    )
    if len(recent) >= allowed:
        oldest = recent[-1]
        left = oldest + dt.timedelta(seconds=seconds) - timezone.now()
        wait = max(1, int(left.total_seconds()))
        raise PostingTooFast(wait)


def _audit(v: Viewer, action: str, *, thread=None, post=None, subject=None, detail="") -> None:
    AuditEntry.objects.create(
        course=v.course, actor=v.user, action=action, thread=thread, post=post,
        subject=subject, detail=detail[:500],
    )


def _mentions(v: Viewer, post: Post) -> list[User]:
    """Resolve ``@username`` of course members in ``post`` (at most
    ``LMS_COMMUNITY_MAX_MENTIONS`` distinct names are looked at; the author never)."""
    names: list[str] = []
    for name in MENTION.findall(post.body):
        name = name.rstrip(".").lower()
        if name not in names and name != v.user.username:
            names.append(name)
        if len(names) >= settings.LMS_COMMUNITY_MAX_MENTIONS:
            break
    members = member_usernames(v.course, names)
    Mention.objects.filter(post=post).exclude(user__in=members.values()).delete()
    for user in members.values():
        Mention.objects.get_or_create(post=post, user=user)
    return list(members.values())


def _hold_or_publish(v: Viewer, post: Post) -> str | None:
    """Hold ``post`` if a learner's text shows an open assignment's solution; the sentence for
    its author, or None when it is published."""
    if v.is_moderator:
        return None
    assignment = matched_assignment(v.course, post.body)
    if assignment is None:
        return None
    post.status = PostStatus.HELD
    post.held_for = assignment.nbgrader_name
    post.save(update_fields=["status", "held_for"])
    transaction.on_commit(
        lambda: signals.post_held.send(Post, post=post, assignment=assignment)
    )
    return HELD_MESSAGE.format(title=assignment.title)


def _announce(v: Viewer, post: Post, held: str | None) -> None:
    if held is not None:
        return
    users = _mentions(v, post)

    def send():
        signals.post_published.send(Post, post=post)
        if users:
            signals.members_mentioned.send(Post, post=post, users=users)

    transaction.on_commit(send)


# --- Threads and posts ----------------------------------------------------------------------


@transaction.atomic
def create_thread(
    v: Viewer,
    *,
    kind: str,
    title: str,
    body: str,
    anonymous: bool = False,
    private: bool = False,
    anchor_page=None,
    anchor_cell: str = "",
) -> tuple[Thread, str | None]:
    """A new thread on ``v``'s course board; with the sentence for its author when its opening
    post is held (it may show a solution)."""
    _check_may_post(v)
    body = _check_body(body)
    title = (title or "").strip()
    if not title:
        raise ValidationError({"title": ["Give the thread a title."]})
    if kind not in ThreadKind.values:
        raise ValidationError({"kind": [f"A thread is one of {', '.join(ThreadKind.values)}."]})
    if kind == ThreadKind.ANNOUNCEMENT and not v.is_moderator:
        raise PermissionDenied("Only the course's instructors post announcements.")
    if anchor_page is not None and anchor_page.path[: -anchor_page.steplen] != v.course.path:
        raise ValidationError({"anchor": ["That page is not part of this course."]})
    now = timezone.now()
    thread = Thread.objects.create(
        course=v.course, group=v.group, kind=kind, title=title, author=v.user,
        anonymous=anonymous, private=private, anchor_page=anchor_page,
        anchor_cell=(anchor_cell or "")[:100], created_at=now, last_activity_at=now,
    )
    post = Post.objects.create(
        thread=thread, kind=PostKind.OPENING, author=v.user, anonymous=anonymous, body=body,
        html=render_markdown(body), created_at=now,
    )
    thread.opening_post = post
    thread.save(update_fields=["opening_post"])
    search.index_post(post, title)
    Follow.objects.get_or_create(thread=thread, user=v.user)
    held = _hold_or_publish(v, post)
    _announce(v, post, held)
    return thread, held


@transaction.atomic
def reply(
    v: Viewer, thread: Thread, *, body: str, parent: Post | None = None, anonymous: bool = False
) -> tuple[Post, str | None]:
    """An answer to ``thread`` or, with ``parent`` (its opening post or an answer), a comment."""
    _check_may_post(v)
    if thread.locked and not v.is_moderator:
        raise PermissionDenied("This thread is locked: no new replies.")
    body = _check_body(body)
    if parent is not None:
        if parent.thread_id != thread.pk or parent.kind == PostKind.COMMENT:
            raise ValidationError({"parent": ["Comment on the thread's question or an answer."]})
        kind = PostKind.COMMENT
    else:
        kind = PostKind.ANSWER
    post = Post.objects.create(
        thread=thread, parent=parent, kind=kind, author=v.user, anonymous=anonymous, body=body,
        html=render_markdown(body),
    )
    search.index_post(post, thread.title)
    held = _hold_or_publish(v, post)
    if held is None:
        Thread.objects.filter(pk=thread.pk).update(last_activity_at=post.created_at)
    Follow.objects.get_or_create(thread=thread, user=v.user)
    _announce(v, post, held)
    return post, held


@transaction.atomic
def edit_post(v: Viewer, post: Post, *, body: str) -> str | None:
    """Change ``post``'s text, keeping the old one as a revision; an edit is checked for
    solutions again. The sentence for the author when it is held."""
    if not may_edit(v, post):
        raise PermissionDenied("Only the author and the course's instructors edit a post.")
    body = _check_body(body)
    if body == post.body:
        return None
    PostRevision.objects.create(post=post, body=post.body, edited_by=v.user)
    post.body, post.html, post.edited_at = body, render_markdown(body), timezone.now()
    post.save(update_fields=["body", "html", "edited_at"])
    search.index_post(post, post.thread.title)
    if post.author_id != v.user.pk:
        _audit(v, "edit", thread=post.thread, post=post)
    held = None
    if post.status == PostStatus.PUBLISHED and not v.is_moderator:
        held = _hold_or_publish(v, post)
    if held is None:
        _mentions(v, post)
    return held


@transaction.atomic
def delete_post(v: Viewer, post: Post) -> None:
    """Soft delete: the text stays for the course's instructors and staff."""
    if not may_edit(v, post):
        raise PermissionDenied("Only the author and the course's instructors delete a post.")
    post.deleted_at = timezone.now()
    post.save(update_fields=["deleted_at"])
    if post.author_id != v.user.pk:
        _audit(v, "delete", thread=post.thread, post=post)


def vote(v: Viewer, post: Post, up: bool = True) -> None:
    """One upvote per member and post; ``up=False`` takes it back."""
    _require_reader(v)
    if post.author_id == v.user.pk and up:
        raise PermissionDenied("You cannot upvote your own post.")
    if up:
        Vote.objects.get_or_create(post=post, user=v.user)
    else:
        Vote.objects.filter(post=post, user=v.user).delete()


def follow(v: Viewer, thread: Thread, on: bool = True) -> None:
    _require_reader(v)
    if on:
        Follow.objects.get_or_create(thread=thread, user=v.user)
    else:
        Follow.objects.filter(thread=thread, user=v.user).delete()


def mark_answered(v: Viewer, thread: Thread, answered: bool = True) -> None:
    if not may_mark_answered(v, thread):
        raise PermissionDenied("Only the question's author and the instructors mark it answered.")
    Thread.objects.filter(pk=thread.pk).update(answered=answered)
    thread.answered = answered


@transaction.atomic
def endorse(v: Viewer, post: Post, endorsed: bool = True) -> None:
    _require_moderator(v)
    if post.kind != PostKind.ANSWER:
        raise ValidationError({"endorsed": ["Only answers are endorsed."]})
    Post.objects.filter(pk=post.pk).update(endorsed=endorsed)
    post.endorsed = endorsed
    _audit(v, "endorse" if endorsed else "unendorse", thread=post.thread, post=post)
    if endorsed:
        transaction.on_commit(lambda: signals.answer_endorsed.send(Post, post=post, by=v.user))


# --- Moderation -----------------------------------------------------------------------------


@transaction.atomic
def set_thread_flags(v: Viewer, thread: Thread, **flags: bool) -> None:
    """Pin, lock or hide (and unpin, unlock, restore) a thread: moderators only."""
    _require_moderator(v)
    changed = {k: bool(val) for k, val in flags.items() if val is not None
               and k in {"pinned", "locked", "hidden"} and getattr(thread, k) != bool(val)}
    if not changed:
        return
    Thread.objects.filter(pk=thread.pk).update(**changed)
    threads_changed()
    for key, value in changed.items():
        setattr(thread, key, value)
        action = {"pinned": ("pin", "unpin"), "locked": ("lock", "unlock"),
                  "hidden": ("hide", "restore")}[key][0 if value else 1]
        _audit(v, action, thread=thread)


@transaction.atomic
def set_post_hidden(v: Viewer, post: Post, hidden: bool) -> None:
    _require_moderator(v)
    Post.objects.filter(pk=post.pk).update(hidden=hidden)
    threads_changed()
    post.hidden = hidden
    Report.objects.filter(post=post, resolved_at__isnull=True).update(resolved_at=timezone.now())
    _audit(v, "hide" if hidden else "restore", thread=post.thread, post=post)


@transaction.atomic
def move_thread(
    v: Viewer, thread: Thread, anchor_page=None, anchor_cell: str = "", *, to: Viewer | None = None
) -> None:
    """Anchor ``thread`` to another lesson or assignment of its course (or to none) or, with
    ``to`` (the mover as the other course sees them), move it to that course's board: staff, or
    an instructor of both courses. The anchor is then one of the other course's pages. Mentions
    of people who are not members there no longer resolve; held posts stay held, for the other
    course's instructors to review. Both courses' audit logs record the move."""
    _require_moderator(v)
    target = to or v
    if to is not None and to.course.pk != v.course.pk and not to.is_moderator:
        raise PermissionDenied(
            "Only staff, or an instructor of both courses, move a thread between them."
        )
    if anchor_page is not None and anchor_page.path[: -anchor_page.steplen] != target.course.path:
        raise ValidationError({"anchor": ["That page is not part of this course."]})
    moved = target.course.pk != v.course.pk
    Thread.objects.filter(pk=thread.pk).update(
        course=target.course, anchor_page=anchor_page, anchor_cell=(anchor_cell or "")[:100]
    )
    threads_changed()
    thread.course, thread.anchor_page, thread.anchor_cell = (
        target.course, anchor_page, (anchor_cell or "")[:100]
    )
    where = f"to {anchor_page.title}" if anchor_page is not None else "to the board"
    if moved:
        Mention.objects.filter(post__thread=thread).exclude(
            user__enrollments__course=target.course
        ).delete()
        _audit(v, "move", thread=thread, detail=f"to {target.course.title}, {where[3:]}")
        _audit(target, "move", thread=thread, detail=f"from {v.course.title}, {where[3:]}")
    else:
        _audit(v, "move", thread=thread, detail=where)


def report(v: Viewer, post: Post, reason: str) -> Report:
    _require_reader(v)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": ["Say what is wrong with the post."]})
    found, _ = Report.objects.update_or_create(
        post=post, reporter=v.user, defaults={"reason": reason[:500], "resolved_at": None}
    )
    return found


@transaction.atomic
def ban(v: Viewer, member: User, *, days: int, reason: str = "") -> Ban:
    """``member`` may not post on the course's board for ``days`` days."""
    _require_moderator(v)
    if member.pk == v.user.pk:
        raise ValidationError({"username": ["You cannot ban yourself."]})
    if not 1 <= days <= 365:
        raise ValidationError({"days": ["A ban lasts from 1 to 365 days."]})
    if not member.enrollments.filter(course=v.course).exists():
        raise ValidationError({"username": ["That person is not a member of this course."]})
    entry = Ban.objects.create(
        course=v.course, user=member, until=timezone.now() + dt.timedelta(days=days),
        reason=reason[:500], banned_by=v.user,
    )
    _audit(v, "ban", subject=member, detail=f"{days} days" + (f": {reason}" if reason else ""))
    return entry


@transaction.atomic
def lift_ban(v: Viewer, entry: Ban) -> None:
    """End ``entry`` (a ban on ``v``'s course) now: its member may post again."""
    _require_moderator(v)
    if entry.course_id != v.course.pk:
        raise ValidationError({"ban": ["That ban is not on this course's board."]})
    now = timezone.now()
    if entry.until <= now:
        raise ValidationError({"ban": ["That ban has already ended."]})
    detail = f"ban until {timezone.localtime(entry.until):%d %b %Y, %H:%M} lifted early"
    Ban.objects.filter(pk=entry.pk).update(until=now)
    entry.until = now
    _audit(v, "lift", subject=entry.user, detail=detail)


@transaction.atomic
def review(v: Viewer, post: Post, approve: bool) -> None:
    """An instructor's decision on a held post: published, or rejected (its author still sees
    it, marked as rejected)."""
    _require_moderator(v)
    if post.status != PostStatus.HELD:
        raise ValidationError({"approve": ["That post is not waiting for review."]})
    post.status = PostStatus.PUBLISHED if approve else PostStatus.REJECTED
    post.save(update_fields=["status"])
    _audit(v, "approve" if approve else "reject", thread=post.thread, post=post,
           detail=f"held for {post.held_for}")
    if approve:
        Thread.objects.filter(pk=post.thread_id).update(last_activity_at=timezone.now())
        author_view = Viewer(post.author, v.course, True, False)
        _announce(author_view, post, None)


def course_member(course: CoursePage, username: str) -> User:
    user = User.objects.filter(username=username, enrollments__course=course).first()
    if user is None:
        raise ValidationError({"username": ["That person is not a member of this course."]})
    return user


def threads_changed(sender=None, **kwargs) -> None:
    """A thread or a post was written, moved, hidden or deleted: the counts of "Discussion (N)"
    cached so far are out of date (``selectors.discussion_count``). Called where a service
    updates rows in place; the receiver of every save and deletion of both (:func:`connect`)."""
    versioned_cache.changed(THREADS)


def connect() -> None:
    """Connect :func:`threads_changed` to the saves and deletions of threads and posts (those
    of a service, of an admin, of a course or person deleted with them). Called by the app's
    ``ready``."""
    for model in (Thread, Post):
        for event, signal in (("saved", post_save), ("deleted", post_delete)):
            signal.connect(threads_changed, sender=model,
                           dispatch_uid=f"community.threads_changed.{model.__name__}.{event}")
