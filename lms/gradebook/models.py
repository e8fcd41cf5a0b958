"""Grades pushed by the grader service. One row per graded submission, keyed by the grader's
submission id, so a retried push updates the same row instead of adding another; the grade that
counts for a learner and assignment is decided by ``gradebook.services`` (``counts``)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from lms.courses.models import AssignmentPage


class GradeStatus(models.TextChoices):
    GRADED = "graded", "Graded"
    INVALID = "invalid", "Invalid submission"
    LATE_REJECTED = "late-rejected", "Rejected (late)"


class Grade(models.Model):
    """The score of one submission, with its feedback and per-test breakdown."""

    assignment = models.ForeignKey(AssignmentPage, on_delete=models.CASCADE, related_name="grades")
    learner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="grades"
    )
    submission_id = models.CharField(max_length=100)
    status = models.CharField(
        max_length=16, choices=GradeStatus.choices, default=GradeStatus.GRADED
    )
    score = models.DecimalField(max_digits=7, decimal_places=2)
    max_score = models.DecimalField(max_digits=7, decimal_places=2)
    late = models.BooleanField(default=False)
    late_penalty = models.DecimalField(max_digits=7, decimal_places=2, default=0)
    submitted_at = models.DateTimeField()
    graded_at = models.DateTimeField()
    feedback_html = models.TextField(blank=True)
    breakdown = models.JSONField(default=list, blank=True, help_text="Per-test scores.")
    counts = models.BooleanField(
        default=False, help_text="Whether this is the submission that counts for the learner."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["assignment", "learner", "submission_id"], name="one_grade_per_submission"
            )
        ]
        indexes = [models.Index(fields=["learner", "assignment", "counts"])]
        ordering = ["-submitted_at"]
        permissions = [
            ("push_grades", "Can push grades from the grader service (the grader's token only)")
        ]

    def __str__(self) -> str:
        return f"{self.learner} {self.assignment} {self.score}/{self.max_score}"

    @property
    def percent(self) -> float:
        return float(self.score) / float(self.max_score) * 100 if self.max_score else 0.0
