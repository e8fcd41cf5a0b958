"""Peer code review: who reviews whose submission (:class:`Review`, one row per reviewer and
author of an assignment), what they wrote (rubric levels, a summary, :class:`ReviewComment` on a
cell or a line of it), and the author's answer (:class:`ReviewReply`, the helpfulness rating).

The settings (reviews per submission, when reviewing opens, anonymity, the rubric, the weight in
the grade) are course.yml's, kept with the assignment page (``AssignmentPage.peer_review_spec``);
a review records the submission it is of (the grader's id of the learner's counting submission
when it was assigned), so a later resubmission does not change what is being reviewed.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from lms.courses.models import AssignmentPage

HELPFULNESS = (1, 2, 3, 4, 5)


class ReviewStatus(models.TextChoices):
    ASSIGNED = "assigned", "To do"
    SUBMITTED = "submitted", "Submitted"
    CANCELLED = "cancelled", "Cancelled"  # reassigned, or the reviewer or author dropped out


class Review(models.Model):
    assignment = models.ForeignKey(
        AssignmentPage, on_delete=models.CASCADE, related_name="peer_reviews"
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reviews_given"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reviews_received"
    )
    submission_id = models.CharField(max_length=100, help_text="The grader's submission id.")
    status = models.CharField(
        max_length=16, choices=ReviewStatus.choices, default=ReviewStatus.ASSIGNED
    )
    assigned_at = models.DateTimeField(auto_now_add=True)
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", help_text="The instructor who reassigned it (empty: the allocation).",
    )
    scores = models.JSONField(
        default=dict, blank=True, help_text="The level chosen per rubric criterion, by name."
    )
    summary = models.TextField(blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    hidden = models.BooleanField(default=False, help_text="Hidden from the author (abusive).")
    hidden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    helpfulness = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="The author's rating, 1 (not helpful) to 5."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["assignment", "reviewer", "author"],
                condition=~models.Q(status="cancelled"),
                name="one_open_review_per_pair",
            ),
            models.CheckConstraint(
                condition=~models.Q(reviewer=models.F("author")), name="nobody_reviews_themselves"
            ),
        ]
        indexes = [models.Index(fields=["assignment", "status"])]
        ordering = ["assignment_id", "author_id", "pk"]

    def __str__(self) -> str:
        return f"{self.reviewer} reviews {self.author} ({self.assignment})"


class ReviewComment(models.Model):
    """A reviewer's comment on one cell of a submitted notebook, or on one line of it."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="comments")
    notebook = models.CharField(max_length=255)
    cell = models.PositiveIntegerField(help_text="The cell's index in the notebook, from 0.")
    line = models.PositiveIntegerField(null=True, blank=True, help_text="From 1; empty: the cell.")
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["notebook", "cell", "line", "pk"]

    def __str__(self) -> str:
        return f"comment on {self.notebook} cell {self.cell}"


class ReviewReply(models.Model):
    """The author's (or an instructor's) answer to a review."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="replies")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                               related_name="+")
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"reply to review {self.review_id}"
