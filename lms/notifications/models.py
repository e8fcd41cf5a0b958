"""What a person is told: a **notification** per recipient (shown in the LMS under the bell, and
perhaps sent by email), and each person's **preference** per kind of notification for email.

A notification keeps what its page shows, decided when it was made: the text, where it links,
and the actor, or no actor when the post was anonymous to this recipient (a classmate); so
nothing read later can show who wrote an anonymous post. ``email`` says how it goes out by
email (decided from the recipient's preference when it was made) and ``emailed_at`` when it did:
a digest sends each pending item once.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from lms.courses.models import CoursePage


class Kind(models.TextChoices):
    REPLY = "reply", "Replies to threads I follow"
    MENTION = "mention", "Mentions of me"
    ENDORSEMENT = "endorsement", "Endorsements of my answers"
    ANNOUNCEMENT = "announcement", "Announcements in my courses"
    GRADE = "grade", "New grades"
    FEEDBACK = "feedback", "Released feedback"
    REVIEWS_TO_DO = "reviews_to_do", "Peer reviews to do, and their deadlines"
    WORK_REVIEWED = "work_reviewed", "Reviews of my work"
    REVIEW_REPLY = "review_reply", "Answers to my reviews"
    HELD_FOR_REVIEW = "held_for_review", "Posts held for my review"


class Delivery(models.TextChoices):
    IMMEDIATE = "immediate", "Email at once"
    DIGEST = "digest", "In a daily digest"
    OFF = "off", "No email"


DEFAULT_DELIVERY = {
    Kind.REPLY: Delivery.DIGEST,
    Kind.MENTION: Delivery.IMMEDIATE,
    Kind.ENDORSEMENT: Delivery.IMMEDIATE,
    Kind.ANNOUNCEMENT: Delivery.IMMEDIATE,
    Kind.GRADE: Delivery.IMMEDIATE,
    Kind.FEEDBACK: Delivery.IMMEDIATE,
    Kind.REVIEWS_TO_DO: Delivery.IMMEDIATE,
    Kind.WORK_REVIEWED: Delivery.IMMEDIATE,
    Kind.REVIEW_REPLY: Delivery.DIGEST,
    Kind.HELD_FOR_REVIEW: Delivery.IMMEDIATE,
}
"""Email for a kind nobody chose for: replies to followed threads, the chattiest kind, in the
daily digest; everything else at once."""


class Notification(models.Model):
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    course = models.ForeignKey(
        CoursePage, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", help_text="Empty when the post was anonymous to the recipient.",
    )
    actor_name = models.CharField(
        max_length=200, blank=True, help_text="The name shown: 'An anonymous classmate' or the "
        "actor's name when the notification was made."
    )
    text = models.CharField(
        max_length=300, help_text="What happened, plain text, after the actor's name if any."
    )
    url = models.CharField(max_length=500, help_text="Where it happened: a path in the LMS.")
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    email = models.CharField(
        max_length=16, choices=Delivery.choices, default=Delivery.OFF,
        help_text="How it goes out by email (the recipient's preference when it was made).",
    )
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["recipient", "-created_at"]),
            models.Index(
                fields=["recipient"], condition=models.Q(read_at__isnull=True),
                name="notification_unread",
            ),
            models.Index(
                fields=["recipient", "created_at"],
                condition=models.Q(email="digest", emailed_at__isnull=True),
                name="notification_digest_pending",
            ),
        ]
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.kind} for {self.recipient_id}: {self.text}"

    @property
    def sentence(self) -> str:
        """The actor's name (if any) and what they did: "Ada answered in “Loops”"."""
        if self.actor_name:
            return f"{self.actor_name} {self.text}"
        return self.text[:1].upper() + self.text[1:]

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class Preference(models.Model):
    """How ``user`` gets ``kind`` by email; no row: :data:`DEFAULT_DELIVERY`."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    delivery = models.CharField(max_length=16, choices=Delivery.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="one_preference_per_kind")
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.kind} {self.delivery}"
