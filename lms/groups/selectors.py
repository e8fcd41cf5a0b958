"""Reads of study groups: who may see and do what, and what each of them sees. One place decides
each rule; views, the dashboard, the calendar feed and other apps (peer review) ask here.

- A course's **learners** (enrolled as learners) create, join and leave its groups; a learner
  sees the course's groups (their names, sizes and admission) and the pages of their own groups.
- The course's **instructors and staff** (``is_course_instructor``) see and manage every group
  of the course: create them, assign and remove learners, read and moderate their boards.
- A group's **board** and **sessions**: its members and the course's instructors and staff.
- Nobody else (learners of other courses, anonymous visitors) sees anything of a course's groups.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, QuerySet
from django.http import Http404
from django.utils import timezone

from lms.accounts.models import User
from lms.community.selectors import Viewer
from lms.courses.models import CoursePage
from lms.courses.selectors import enrollment_of, is_course_instructor, is_learner

from .models import CalendarFeed, Membership, StudyGroup, StudySession


@dataclass(frozen=True)
class GroupsViewer:
    """A user as a course's study groups see them."""

    user: User
    course: CoursePage
    is_learner: bool
    is_instructor: bool

    @property
    def may_see(self) -> bool:
        return self.is_learner or self.is_instructor


def groups_viewer(user: User, course: CoursePage) -> GroupsViewer:
    if not user.is_authenticated:
        return GroupsViewer(user, course, False, False)
    learner = is_learner(enrollment_of(user, course))
    return GroupsViewer(user, course, learner, is_course_instructor(user, course))


def is_member(user: User, group: StudyGroup) -> bool:
    return user.is_authenticated and group.memberships.filter(user=user).exists()


def may_open(v: GroupsViewer, group: StudyGroup) -> bool:
    """Whether ``v`` sees ``group``'s page, board and sessions."""
    return group.course_id == v.course.pk and (v.is_instructor or is_member(v.user, group))


def groups_of_course(v: GroupsViewer) -> QuerySet[StudyGroup]:
    """The course's groups, each with ``member_count`` and ``is_mine`` (a fixed number of
    queries however many groups)."""
    mine = Membership.objects.filter(group=OuterRef("pk"), user=v.user.pk)
    return (
        StudyGroup.objects.filter(course=v.course)
        .annotate(member_count=Count("memberships", distinct=True), is_mine=Exists(mine))
        .order_by("name", "pk")
    )


def group_for(v: GroupsViewer, pk: int) -> StudyGroup:
    """The group ``pk`` of ``v``'s course if ``v`` may open it (else 404: no leak of names)."""
    group = StudyGroup.objects.filter(course=v.course, pk=pk).first()
    if group is None or not may_open(v, group):
        raise Http404("No such study group.")
    return group


def members_of(group: StudyGroup) -> QuerySet[Membership]:
    return group.memberships.select_related("user").order_by("user__username")


def upcoming_sessions(group: StudyGroup) -> QuerySet[StudySession]:
    return group.sessions.filter(ends_at__gte=timezone.now()).order_by("starts_at", "pk")


def board_viewer(v: GroupsViewer, group: StudyGroup) -> Viewer:
    """The community board's viewer of ``group``'s own board: its members read and post, the
    course's instructors and staff moderate it."""
    return Viewer(
        v.user, v.course, is_member=is_member(v.user, group), is_moderator=v.is_instructor,
        group=group,
    )


def study_group_mates(*, course: CoursePage) -> dict[int, set[int]]:
    """User id → the ids of the other members of every study group of ``course`` they are in
    (users in no group, or alone in theirs, are absent). One query. Peer review uses it so that
    nobody reviews a member of their own group."""
    rows = Membership.objects.filter(group__course=course).values_list("group_id", "user_id")
    by_group: dict[int, set[int]] = {}
    for group_id, user_id in rows:
        by_group.setdefault(group_id, set()).add(user_id)
    mates: dict[int, set[int]] = {}
    for members in by_group.values():
        for user_id in members:
            others = members - {user_id}
            if others:
                mates.setdefault(user_id, set()).update(others)
    return mates


def sessions_of(user: User, *, upcoming_only: bool = True) -> QuerySet[StudySession]:
    """The sessions of every group ``user`` is in, soonest first, with their group and of its
    course the title and slug, what the lists show (one query, without the course page's dozens
    of other columns): the dashboard's and the calendar feed's."""
    sessions = (
        StudySession.objects.filter(group__memberships__user=user)
        .select_related("group", "group__course")
        .only(*_SESSION_AND_GROUP, "group__course__title", "group__course__slug")
    )
    if upcoming_only:
        sessions = sessions.filter(ends_at__gte=timezone.now())
    return sessions.order_by("starts_at", "pk")


_SESSION_AND_GROUP = [
    *(field.name for field in StudySession._meta.concrete_fields),
    *(f"group__{field.name}" for field in StudyGroup._meta.concrete_fields),
]


def feed_owner(secret: str) -> User | None:
    """The user whose calendar feed ``secret`` names, or None."""
    if not secret:
        return None
    feed = CalendarFeed.objects.filter(secret=secret).select_related("user").first()
    return feed.user if feed is not None and feed.user.is_active else None
