"""Reads of the board: who may see and do what, and what each of them sees. One place decides
each rule; views, templates and the API ask here.

- **Readers** of a course's board: its enrolled members (learners and instructors) and staff.
  A study group's board (``Viewer.group``) holds only its own threads, and the course's board
  none of a group's: the groups app decides who reads a group's board.
- **Moderators**: the course's instructors and staff (``is_course_instructor``).
- A **private** thread: its author and the moderators only. A **hidden** thread or post, a
  **held** or **rejected** post: the moderators, and (held, rejected) its author.
- A **deleted** post: its place stays in the thread; its text shows to the moderators only.
- **Anonymous** posts: the author is shown to the moderators and to the author only; the API
  gives everybody else no author field at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    Func,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.http import Http404
from django.utils import timezone
from wagtail.models import Page

from lms.accounts.models import User
from lms.base import versioned_cache
from lms.courses.models import AssignmentPage, CoursePage, LessonPage
from lms.courses.selectors import (
    course_of,
    course_standing,
    live_course_standing,
    live_courses,
    taught_course_ids,
)

from . import search
from .models import (
    OPENING_NOT_PUBLIC,
    AuditEntry,
    Ban,
    Follow,
    Post,
    PostKind,
    PostStatus,
    Report,
    Thread,
    Vote,
)

DELETED = "This post was deleted."
HIDDEN = "This post was hidden by a moderator."


@dataclass(frozen=True)
class Viewer:
    """A user as the board sees them in one course."""

    user: User
    course: CoursePage
    is_member: bool
    is_moderator: bool
    group: object | None = None
    """A study group (``lms.groups``) whose own board this is; None: the course's board. The
    groups app builds such a viewer (``is_member``: a member of the group)."""

    @property
    def may_read(self) -> bool:
        return self.is_member or self.is_moderator


def viewer(user: User, course: CoursePage) -> Viewer:
    enrolled, moderator = course_standing(user, course)
    return Viewer(user, course, enrolled or moderator, moderator)


def viewer_of(user: User, slug: str) -> Viewer:
    """``user`` on the board of the live course ``slug`` (else 404), the course and the user's
    standing in it read in one query: what each of the board's pages and API calls asks
    first."""
    found = live_course_standing(user, slug)
    if found is None:
        raise Http404("No such course.")
    course, enrolled, moderator = found
    return Viewer(user, course, enrolled or moderator, moderator)


def active_ban(user: User, course: CoursePage) -> Ban | None:
    return (
        Ban.objects.filter(course=course, user=user, until__gt=timezone.now())
        .order_by("-until")
        .first()
    )


def active_bans(course: CoursePage) -> QuerySet[Ban]:
    """The bans on ``course``'s board that have not ended, soonest to end first."""
    return (
        Ban.objects.filter(course=course, until__gt=timezone.now())
        .select_related("user", "banned_by")
        .order_by("until", "pk")
    )


def ban_for(v: Viewer, pk: int) -> Ban:
    """The ban ``pk`` on ``v``'s course board that has not ended (moderators only; else 404)."""
    found = active_bans(v.course).filter(pk=pk).first()
    if found is None or not v.is_moderator:
        raise Http404("No such ban on this board.")
    return found


def member_usernames(course: CoursePage, usernames) -> dict[str, User]:
    """The course's members (enrolled) among ``usernames``, by username."""
    users = User.objects.filter(
        username__in=list(usernames), enrollments__course=course
    ).distinct()
    return {user.username: user for user in users}


def move_targets(v: Viewer) -> QuerySet[CoursePage]:
    """The other live courses ``v`` may move a thread to: those they moderate too (every
    course, for staff)."""
    if not v.is_moderator:
        return CoursePage.objects.none()
    return (
        live_courses().filter(pk__in=taught_course_ids(v.user)).exclude(pk=v.course.pk)
        .order_by("title")
    )


def _anchor_candidates(course: CoursePage):
    """The course's live lessons (in their order) then its live assignments (by title), as
    plain pages in one query: what a thread may be about, and all the board shows of one."""
    return (
        Page.objects.live().child_of(course).type(LessonPage, AssignmentPage)
        .order_by(F("lessonpage__position").asc(nulls_last=True), "title", "pk")
    )


def anchor_pages(course: CoursePage) -> list[Page]:
    """The pages a thread of ``course`` may be anchored to: its live lessons and assignments."""
    return list(_anchor_candidates(course).only("pk", "slug", "title"))


def anchor_of(course: CoursePage, slug: str) -> Page | None:
    """The lesson or assignment (the specific page) of ``course`` with page slug ``slug``, or
    None (no slug: no query)."""
    if not slug:
        return None
    page = _anchor_candidates(course).filter(slug=slug).first()
    return page.specific if page is not None else None


def _visible_posts(v: Viewer) -> Q:
    if v.is_moderator:
        return Q()
    return Q(hidden=False) & (Q(status=PostStatus.PUBLISHED) | Q(author=v.user))


def _visible_threads(v: Viewer) -> QuerySet[Thread]:
    return Thread.objects.filter(_visible_thread(v))


def _visible_thread(v: Viewer) -> Q:
    shown = Q(course=v.course, group=v.group)
    if v.is_moderator:
        return shown
    return shown & _seen_by_member(v.user.pk)


def _seen_by_member(reader: int) -> Q:
    """The threads a member who is not a moderator sees, ``reader`` being their pk (the pk of
    nobody, :data:`NOBODY`: the threads every member sees)."""
    # Not "join each thread to its opening post and look": the few opening posts that are not
    # public (deleted; held or rejected, shown to their author) are looked up in their
    # partial index (``OPENING_NOT_PUBLIC``), an anti-join the size of that handful.
    not_public = Post.objects.filter(
        OPENING_NOT_PUBLIC & (Q(deleted_at__isnull=False) | ~Q(author=reader)),
        pk=OuterRef("opening_post_id"),
    )
    return Q(hidden=False) & (Q(private=False) | Q(author=reader)) & ~Exists(not_public)


NOBODY = 0  # a pk no person has: who wrote none of the threads


def threads_for(
    v: Viewer,
    *,
    anchor=None,
    unanswered: bool = False,
    following: bool = False,
    mine: bool = False,
    kind: str = "",
    text: str = "",
    counted: bool = True,
) -> QuerySet[Thread]:
    """The threads of the board ``v`` sees, filtered, pinned first then most recently active,
    each with ``is_following``, ``opening_status`` (its opening post's: held or rejected ones
    show to their author and the moderators) and, ``counted``, ``reply_count`` and
    ``vote_count`` (a fixed number of queries). Built as one filter and one annotation:
    building and compiling the query is a good part of a board page's time."""
    where = _visible_thread(v)
    if anchor is not None:
        where &= Q(anchor_page=anchor)
    if unanswered:
        where &= Q(kind="question", answered=False)
    if following:
        where &= Q(follows__user=v.user)
    if mine:
        where &= Q(author=v.user)
    if kind:
        where &= Q(kind=kind)
    if text:
        # The posts are not narrowed to the course here: the threads are, and a post counts
        # only for a thread among them (no join of every matching post to its thread).
        where &= search.matching(Post.objects.filter(_visible_posts(v)), text)
    annotations = {
        # a subquery, not a join: evaluated for the page's threads only, not for every match
        # of a search before it is sorted
        "opening_status": Subquery(
            Post.objects.filter(pk=OuterRef("opening_post_id")).order_by().values("status")
        ),
        "is_following": Exists(Follow.objects.filter(thread=OuterRef("pk"), user=v.user.pk)),
    }
    if counted:
        replies = Q(thread=OuterRef("pk"), deleted_at__isnull=True) & ~Q(kind=PostKind.OPENING)
        if not v.is_moderator:
            replies &= Q(hidden=False, status=PostStatus.PUBLISHED)
        # Counted per thread in subqueries, not grouped over the whole board: the database
        # takes the first page in the index's order and counts for those threads only.
        annotations["reply_count"] = _counted(Post, replies)
        annotations["vote_count"] = _counted(Vote, Q(post=OuterRef("opening_post")))
    return (
        Thread.objects.filter(where)
        .select_related("author", "anchor_page")
        .annotate(**annotations)
        .order_by("-pinned", "-last_activity_at", "-pk")
    )


def page_after(threads: QuerySet[Thread], size: int, after: str = "") -> tuple[list[Thread], str]:
    """A page of ``threads`` (``threads_for``'s, in the board's order): up to ``size`` of them
    after the position ``after`` names (the token of the page before; empty, or not a token:
    the first page), and the token of the next page ("" when there is none).

    Keyset pagination: a token is the last thread's place in the order (pinned, last activity,
    id), so each page is read from the board's index as the first is, instead of counting and
    skipping every thread before it; a thread that becomes active meanwhile moves to the top
    and is not shown twice."""
    position = _position(after)
    if position is not None:
        pinned, at, pk = position
        threads = threads.filter(
            Q(pinned__lt=pinned)
            | Q(pinned=pinned, last_activity_at__lt=at)
            | Q(pinned=pinned, last_activity_at=at, pk__lt=pk)
        )
    page = list(threads[: size + 1])
    if len(page) <= size:
        return page, ""
    last = page[size - 1]
    micros = (last.last_activity_at - EPOCH) // timedelta(microseconds=1)
    return page[:size], f"{int(last.pinned)}.{micros}.{last.pk}"


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TOKEN = re.compile(r"([01])\.(-?[0-9]{1,20})\.([0-9]{1,18})")


def _position(token: str) -> tuple[bool, datetime, int] | None:
    """The (pinned, last activity, id) a page token names; None for anything else (a hand-made
    or truncated link shows the first page)."""
    found = _TOKEN.fullmatch(token or "")
    if found is None:
        return None
    try:
        at = EPOCH + timedelta(microseconds=int(found[2]))
    except OverflowError:
        return None
    return found[1] == "1", at, int(found[3])


def _counted(model, where: Q):
    """How many ``model`` rows match ``where`` (correlated to the outer query by
    ``OuterRef``), as a subquery (an aggregate without grouping: always one row, never null)."""
    return Subquery(
        model.objects.filter(where).order_by().values(n=Func(F("pk"), function="COUNT"))
    )


def thread_for(v: Viewer, pk: int, *, counted: bool = False) -> Thread:
    """The thread ``pk`` of the board, if ``v`` sees it (else 404); ``counted``: with its
    ``reply_count`` and ``vote_count``, as in the lists (the API's thread carries them; the
    thread's page and the actions on it do not need them)."""
    thread = threads_for(v, counted=counted).filter(pk=pk).first()
    if thread is None:
        raise Http404("No such thread on this board.")
    return thread


def posts_of(v: Viewer, thread: Thread) -> list[Post]:
    """The thread's posts ``v`` sees, oldest first, each with ``vote_count``, ``voted`` (by
    ``v``) and ``comment_list`` (its visible comments); answers first by endorsement then
    votes. Returns the opening post and the answers (comments hang on them)."""
    posts = list(
        Post.objects.filter(Q(thread=thread) & _visible_posts(v))
        .select_related("author")
        .annotate(
            vote_count=Count("votes", distinct=True),
            voted=Exists(Vote.objects.filter(post=OuterRef("pk"), user=v.user.pk)),
        )
        .order_by("created_at", "pk")
    )
    by_parent: dict[int, list[Post]] = {}
    for post in posts:
        if post.parent_id is not None:
            by_parent.setdefault(post.parent_id, []).append(post)
    tops = [p for p in posts if p.kind in (PostKind.OPENING, PostKind.ANSWER)]
    for post in tops:
        post.comment_list = by_parent.get(post.pk, [])
    opening = [p for p in tops if p.kind == PostKind.OPENING]
    answers = sorted(
        (p for p in tops if p.kind == PostKind.ANSWER),
        key=lambda p: (not p.endorsed, -p.vote_count, p.created_at),
    )
    return opening + answers


def post_for(v: Viewer, pk: int, kind: str = "") -> Post:
    """The post ``pk`` on the board (of ``kind``, if given), if ``v`` sees its thread and it
    (else 404)."""
    posts = Post.objects.filter(kind=kind) if kind else Post.objects.all()
    post = (
        posts.filter(thread__in=_visible_threads(v), pk=pk)
        .filter(_visible_posts(v))
        .select_related("thread", "author")
        .first()
    )
    if post is None:
        raise Http404("No such post on this board.")
    return post


def shows_author(v: Viewer, post) -> bool:
    """Whether ``v`` sees who wrote ``post`` (a thread or a post)."""
    return not post.anonymous or v.is_moderator or post.author_id == v.user.pk


def shown_html(v: Viewer, post: Post) -> str:
    """What ``v`` reads of ``post``: its HTML, or why it is not shown."""
    if post.is_deleted and not v.is_moderator:
        return f"<p><em>{DELETED}</em></p>"
    return post.html


def may_edit(v: Viewer, post: Post) -> bool:
    return not post.is_deleted and (post.author_id == v.user.pk or v.is_moderator)


def may_mark_answered(v: Viewer, thread: Thread) -> bool:
    return thread.kind == "question" and (thread.author_id == v.user.pk or v.is_moderator)


THREADS = "community.threads"
"""The kind of data (``lms.base.versioned_cache``) the counts of "Discussion (N)" are cached from:
its version is replaced whenever a thread or a post is written, moved, hidden or deleted
(``services.threads_changed``)."""


@dataclass(frozen=True)
class AnchoredThreads:
    """What the threads of a course's board anchored to one page are, for counting them."""

    every: int  # what the moderators see
    public: int  # what every member sees
    kept_from_others: frozenset[int]  # who wrote the others (each sees some of their own)


def discussion_count(user: User, page) -> tuple[int, CoursePage] | None:
    """How many threads anchored to ``page`` (a lesson or assignment) ``user`` sees, with the
    course; None when ``user`` may not read the course's board. Half the pages a class opens
    show it, so the threads of each page are counted once per process and version of the
    board (:class:`AnchoredThreads`); only a member who wrote one of the threads that not
    everybody sees (private, held, hidden) has theirs counted for them, by the same rule."""
    course = course_of(page)  # the courses app's, cached with the published content
    v = viewer(user, course)
    if not v.may_read:
        return None
    anchored = versioned_cache.cached(
        THREADS, "lms.community.anchored", page.pk, lambda: _anchored_threads(course, page)
    )
    if v.is_moderator:
        return anchored.every, course
    if user.pk in anchored.kept_from_others:
        return _visible_threads(v).filter(anchor_page=page).count(), course
    return anchored.public, course


def _anchored_threads(course: CoursePage, page) -> AnchoredThreads:
    rows = list(
        Thread.objects.filter(course=course, group=None, anchor_page=page)
        .annotate(public=ExpressionWrapper(_seen_by_member(NOBODY), output_field=BooleanField()))
        .values_list("author_id", "public")
    )
    return AnchoredThreads(
        every=len(rows),
        public=sum(1 for _, public in rows if public),
        kept_from_others=frozenset(author for author, public in rows if not public),
    )


def review_queue(course: CoursePage) -> QuerySet[Post]:
    """Posts held because they may show a solution, oldest first."""
    return (
        Post.objects.filter(thread__course=course, status=PostStatus.HELD, deleted_at__isnull=True)
        .select_related("thread", "author")
        .order_by("created_at", "pk")
    )


def open_reports(course: CoursePage) -> QuerySet[Report]:
    return (
        Report.objects.filter(post__thread__course=course, resolved_at__isnull=True)
        .select_related("post", "post__thread", "reporter")
    )


def audit_log(course: CoursePage) -> QuerySet[AuditEntry]:
    return AuditEntry.objects.filter(course=course).select_related("actor", "subject")
