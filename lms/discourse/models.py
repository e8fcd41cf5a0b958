"""What the LMS keeps about the school's Discourse: each course's category and group there, the
DiscourseConnect nonces already answered (so a payload is answered once), and the queue of admin
API work still to do (so a Discourse that is down delays a membership change, never loses it)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from lms.courses.models import CoursePage


class DiscourseCourse(models.Model):
    """A course's category and group on Discourse, as Discourse numbered them when the LMS
    created (or found) them. Empty ids: not created yet."""

    course = models.OneToOneField(CoursePage, on_delete=models.CASCADE, related_name="+")
    group_name = models.CharField(max_length=60)
    group_id = models.PositiveIntegerField(null=True, blank=True)
    category_id = models.PositiveIntegerField(null=True, blank=True)
    category_slug = models.CharField(max_length=100, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Discourse of {self.course_id}: group {self.group_name}"


class UsedNonce(models.Model):
    """A DiscourseConnect nonce the LMS has answered; answering it again would replay a
    sign-in. Kept for :data:`lms.discourse.services.NONCE_MEMORY` and pruned after."""

    nonce = models.CharField(max_length=200, unique=True)
    used_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return self.nonce


class SyncKind(models.TextChoices):
    COURSE = "course", "Category, group and all members of a course"
    MEMBER = "member", "One person's membership of a course's group"


class SyncTask(models.Model):
    """Admin API work to do: bring a course (or one person's membership of it) on Discourse in
    line with the LMS. The work reads the LMS's state when it runs, so a task is the same
    however often it is queued or run (one pending row per kind, course and user)."""

    kind = models.CharField(max_length=16, choices=SyncKind.choices)
    course = models.ForeignKey(CoursePage, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)
    run_after = models.DateTimeField(default=timezone.now, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["run_after", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "course", "user"], condition=models.Q(user__isnull=False),
                name="discourse_one_task_per_member",
            ),
            models.UniqueConstraint(
                fields=["kind", "course"], condition=models.Q(user__isnull=True),
                name="discourse_one_task_per_course",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.course_id} {self.user_id or ''}".strip()
