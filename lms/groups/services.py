"""Writes of study groups. Views call these; nothing else writes the groups' models.

Every write checks who may do it (``selectors.GroupsViewer``) and raises ``PermissionDenied`` or
``ValidationError`` with a sentence for a person. Membership changes are told to the hub once
committed (``lms.groups.workspace``): a member gets the group workspace's share, a member who
leaves or is removed loses it at once.
"""

from __future__ import annotations

import datetime as dt
import secrets

from django.conf import settings
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.db.models import F

from lms.accounts.models import User
from lms.courses.models import Enrollment, EnrollmentRole

from . import workspace
from .models import Admission, CalendarFeed, Membership, StudyGroup, StudySession
from .selectors import GroupsViewer, may_open

INVITE_SALT = "lms.groups.invite"
MAX_SIZE_LIMIT = 50


def _require_course_member(v: GroupsViewer) -> None:
    if not v.may_see:
        raise PermissionDenied("Only the course's learners and instructors use its study groups.")


def _require_instructor(v: GroupsViewer) -> None:
    if not v.is_instructor:
        raise PermissionDenied("Only the course's instructors manage its study groups.")


def _check_group_fields(name: str, size_limit, admission: str) -> tuple[str, int, str]:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": ["Give the group a name."]})
    if len(name) > 80:
        raise ValidationError({"name": ["A group's name is at most 80 characters."]})
    try:
        size = int(size_limit)
    except (TypeError, ValueError):
        raise ValidationError({"size_limit": ["The size limit is a whole number."]}) from None
    if not 2 <= size <= MAX_SIZE_LIMIT:
        raise ValidationError(
            {"size_limit": [f"A group has room for 2 to {MAX_SIZE_LIMIT} members."]}
        )
    if admission not in Admission.values:
        raise ValidationError({"admission": ["A group is open or by invitation."]})
    return name, size, admission


def _add(group: StudyGroup, user: User, added_by: User) -> Membership:
    """``user`` into ``group``: a learner of its course, not yet in, while there is room. The
    group's row is locked so two joins never overfill it."""
    locked = StudyGroup.objects.select_for_update().get(pk=group.pk)
    if not Enrollment.objects.filter(
        user=user, course_id=locked.course_id, role=EnrollmentRole.LEARNER
    ).exists():
        raise ValidationError(f"{user.username} is not a learner of this course.")
    if Membership.objects.filter(group=locked, user=user).exists():
        raise ValidationError(f"{user.username} is already in “{locked.name}”.")
    if Membership.objects.filter(group=locked).count() >= locked.size_limit:
        raise ValidationError(
            f"“{locked.name}” is full: it has room for {locked.size_limit} members."
        )
    membership = Membership.objects.create(group=locked, user=user, added_by=added_by)
    transaction.on_commit(lambda: workspace.grant(locked.pk, user.username))
    return membership


def _remove(group: StudyGroup, user: User) -> None:
    deleted, _ = Membership.objects.filter(group=group, user=user).delete()
    if not deleted:
        raise ValidationError(f"{user.username} is not in “{group.name}”.")
    group_id = group.pk
    transaction.on_commit(lambda: workspace.revoke(group_id, user.username))


@transaction.atomic
def create_group(
    v: GroupsViewer, *, name: str, size_limit=6, admission: str = Admission.OPEN
) -> StudyGroup:
    """A new group of ``v``'s course; a learner who creates one is its first member."""
    _require_course_member(v)
    name, size, admission = _check_group_fields(name, size_limit, admission)
    try:
        with transaction.atomic():
            group = StudyGroup.objects.create(
                course=v.course, name=name, size_limit=size, admission=admission,
                created_by=v.user,
            )
    except IntegrityError:
        raise ValidationError(
            {"name": [f"This course already has a group called “{name}”."]}
        ) from None
    if v.is_learner and not v.is_instructor:
        _add(group, v.user, v.user)
    return group


@transaction.atomic
def join(v: GroupsViewer, group: StudyGroup) -> Membership:
    """``v`` joins an open group of their course."""
    if not v.is_learner or group.course_id != v.course.pk:
        raise PermissionDenied("Only the course's learners join its study groups.")
    if group.admission != Admission.OPEN:
        raise PermissionDenied(f"“{group.name}” takes members by invitation: ask for a link.")
    return _add(group, v.user, v.user)


def invite_token(v: GroupsViewer, group: StudyGroup) -> str:
    """A signed invite to ``group`` (its members and the course's instructors give them out); it
    expires after ``LMS_GROUPS_INVITE_MAX_AGE`` seconds, or when the group's links are voided."""
    if not may_open(v, group):
        raise PermissionDenied("Only the group's members and the course's instructors invite.")
    return signing.dumps({"g": group.pk, "v": group.invite_version}, salt=INVITE_SALT)


def invited_group(token: str) -> StudyGroup:
    """The group an invite names, if it is valid, unexpired and not voided."""
    try:
        data = signing.loads(
            token, salt=INVITE_SALT, max_age=settings.LMS_GROUPS_INVITE_MAX_AGE
        )
    except signing.SignatureExpired:
        raise ValidationError(
            "This invite link has expired: ask the group for a new one."
        ) from None
    except signing.BadSignature:
        raise ValidationError("This invite link is not valid.") from None
    group = StudyGroup.objects.filter(pk=data.get("g")).select_related("course").first()
    if group is None or data.get("v") != group.invite_version:
        raise ValidationError("This invite link is no longer valid: ask the group for a new one.")
    return group


@transaction.atomic
def join_by_invite(v: GroupsViewer, token: str) -> Membership:
    """``v`` joins the group an invite names (open or by invitation), if they learn its course."""
    group = invited_group(token)
    if group.course_id != v.course.pk or not v.is_learner:
        raise PermissionDenied("Only the course's learners join its study groups.")
    return _add(group, v.user, v.user)


@transaction.atomic
def void_invites(v: GroupsViewer, group: StudyGroup) -> None:
    if not may_open(v, group):
        raise PermissionDenied("Only the group's members and the course's instructors do this.")
    StudyGroup.objects.filter(pk=group.pk).update(invite_version=F("invite_version") + 1)


@transaction.atomic
def leave(v: GroupsViewer, group: StudyGroup) -> None:
    """``v`` leaves ``group``: its board and workspace are closed to them at once."""
    _remove(group, v.user)


@transaction.atomic
def assign(v: GroupsViewer, group: StudyGroup, learner: User) -> Membership:
    """An instructor puts a learner of the course in ``group`` (whatever its admission)."""
    _require_instructor(v)
    if group.course_id != v.course.pk:
        raise PermissionDenied("That group is not part of this course.")
    return _add(group, learner, v.user)


@transaction.atomic
def remove(v: GroupsViewer, group: StudyGroup, member: User) -> None:
    """An instructor takes a member out of ``group``."""
    _require_instructor(v)
    if group.course_id != v.course.pk:
        raise PermissionDenied("That group is not part of this course.")
    _remove(group, member)


@transaction.atomic
def delete_group(v: GroupsViewer, group: StudyGroup) -> None:
    """An instructor deletes ``group``: every member loses its workspace share."""
    _require_instructor(v)
    group_id = group.pk
    usernames = list(group.memberships.values_list("user__username", flat=True))
    for username in usernames:
        transaction.on_commit(lambda name=username: workspace.revoke(group_id, name))
    group.delete()


def _check_session(title, starts_at, ends_at, place, link) -> tuple:
    title = (title or "").strip()
    if not title:
        raise ValidationError({"title": ["Give the session a title."]})
    if not isinstance(starts_at, dt.datetime) or not isinstance(ends_at, dt.datetime):
        raise ValidationError({"starts_at": ["Give the session a start and an end."]})
    if ends_at <= starts_at:
        raise ValidationError({"ends_at": ["A session ends after it starts."]})
    place, link = (place or "").strip(), (link or "").strip()
    if not place and not link:
        raise ValidationError({"place": ["Say where the session is: a place or a link."]})
    if link:
        try:
            URLValidator(schemes=["https", "http"])(link)
        except ValidationError:
            raise ValidationError({"link": ["The link is an http(s) address."]}) from None
    return title[:120], starts_at, ends_at, place[:200], link


@transaction.atomic
def add_session(
    v: GroupsViewer, group: StudyGroup, *, title: str, starts_at, ends_at, place: str = "",
    link: str = "",
) -> StudySession:
    """A session of ``group``, planned by a member or one of the course's instructors."""
    if not may_open(v, group):
        raise PermissionDenied("Only the group's members and the course's instructors plan its "
                               "sessions.")
    title, starts_at, ends_at, place, link = _check_session(title, starts_at, ends_at, place, link)
    return StudySession.objects.create(
        group=group, title=title, starts_at=starts_at, ends_at=ends_at, place=place, link=link,
        created_by=v.user,
    )


@transaction.atomic
def cancel_session(v: GroupsViewer, session: StudySession) -> None:
    if not may_open(v, session.group):
        raise PermissionDenied("Only the group's members and the course's instructors cancel its "
                               "sessions.")
    session.delete()


def calendar_secret(user: User, *, renew: bool = False) -> str:
    """The secret of ``user``'s calendar feed URL; ``renew`` voids the old URL."""
    feed = CalendarFeed.objects.filter(user=user).first()
    if feed is not None and not renew:
        return feed.secret
    secret = secrets.token_urlsafe(32)
    CalendarFeed.objects.update_or_create(user=user, defaults={"secret": secret})
    return secret

