"""Study groups: a few learners of one course who work together.

A **study group** belongs to one course; it has a name, a size limit and an admission: **open**
(any learner of the course joins) or **by invitation** (a learner joins with an invite link, a
signed token that expires; ``invite_version`` is in every link, so raising it voids the links
given out so far). Instructors and staff of the course create groups too, and assign and remove
learners. Each group has its own board (``lms.community``'s threads with ``group`` set), its
**sessions** (a time, a place or a link) and a shared notebook **workspace** on the hub (a hub
user of its own, ``courses.naming.study_group_workspace_user``, whose server is shared with the
members: ``lms.groups.workspace``).

A learner's **calendar feed** is an iCalendar file of the sessions of their groups at a secret
URL of their own (``CalendarFeed.secret``): calendar programs fetch it without signing in.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from lms.courses.models import CoursePage


class Admission(models.TextChoices):
    OPEN = "open", "Open: any learner of the course joins"
    INVITATION = "invitation", "By invitation: learners join with an invite link"


class StudyGroup(models.Model):
    course = models.ForeignKey(CoursePage, on_delete=models.CASCADE, related_name="study_groups")
    name = models.CharField(max_length=80)
    size_limit = models.PositiveSmallIntegerField(default=6)
    admission = models.CharField(max_length=16, choices=Admission.choices, default=Admission.OPEN)
    invite_version = models.PositiveIntegerField(
        default=1, help_text="Part of every invite link: raising it voids the links given out."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["course", "name"], name="one_group_name_per_course")
        ]
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    group = models.ForeignKey(StudyGroup, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="study_memberships"
    )
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+",
        help_text="Who put the member in: themselves, or an instructor who assigned them.",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["group", "user"], name="one_membership_per_group")
        ]
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.group_id}"


class StudySession(models.Model):
    """A meeting of a group: when, and where (a place) or how (a link)."""

    group = models.ForeignKey(StudyGroup, on_delete=models.CASCADE, related_name="sessions")
    title = models.CharField(max_length=120)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    place = models.CharField(max_length=200, blank=True)
    link = models.URLField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["group", "starts_at"])]
        ordering = ["starts_at", "pk"]

    def __str__(self) -> str:
        return self.title


class CalendarFeed(models.Model):
    """The secret that names a learner's iCalendar feed; a new one voids the old URL."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feed"
    )
    secret = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"calendar of {self.user_id}"
