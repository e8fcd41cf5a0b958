"""The grade push: a submission's grade to ``POST /api/v1/grades/`` with the grader's token.

The LMS keys a grade by (course, assignment, learner, submission id): pushing the same submission
again updates its one row (201 the first time, 200 after), so a push may be repeated safely — after
a timeout whose answer was lost, or when a job runs twice after a crash. Hence the retries of
``servicekit.lms_client`` (the hub services' one client of the LMS's API): connection errors,
timeouts, 429 and 5xx are retried with exponential backoff (``Retry-After`` is honoured); any
other 4xx means the LMS refuses this grade for good (unknown learner, not enrolled, bad field)
and raises :class:`LMSRejected` with the LMS's own words.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from servicekit import lms_client
from servicekit.lms_client import LMSError, LMSRejected, LMSUnavailable

__all__ = ["ANSWER_FIELDS", "GRADES_PATH", "GradePush", "LMSClient", "LMSError", "LMSRejected",
           "LMSUnavailable"]

GRADES_PATH = "/api/v1/grades/"
# What the LMS answers a push with: the grade as it recorded it, without the feedback page that
# was just sent (~0.3 MB of HTML the LMS would otherwise encode and send back).
ANSWER_FIELDS = "id,submission_id,status,score,max_score,late,late_penalty,final_score,counts"


@dataclass(frozen=True)
class GradePush:
    """The fields of the LMS's grade payload (docs/architecture.md, "API v1")."""

    course: str
    assignment: str
    learner: str
    submission_id: str
    score: float
    max_score: float
    status: str
    submitted_at: dt.datetime
    graded_at: dt.datetime
    feedback_html: str = ""
    breakdown: list[dict[str, Any]] = field(default_factory=list)

    def payload(self) -> dict[str, Any]:
        return {
            "course": self.course,
            "assignment": self.assignment,
            "learner": self.learner,
            "submission_id": self.submission_id,
            "score": round(self.score, 2),
            "max_score": round(self.max_score, 2),
            "status": self.status,
            "submitted_at": self.submitted_at.isoformat(),
            "graded_at": self.graded_at.isoformat(),
            "feedback_html": self.feedback_html,
            "breakdown": self.breakdown,
        }


class LMSClient(lms_client.LMSClient):
    """The LMS's API as the grader's service account (``LMS_GRADER_TOKEN``) calls it."""

    def __init__(self, base_url: str, token: str, **options: Any) -> None:
        super().__init__(base_url, token, variable="LMS_GRADER_TOKEN", **options)

    def push(self, grade: GradePush) -> dict[str, Any]:
        """Record ``grade`` in the LMS; the LMS's grade as JSON. Raises :class:`LMSRejected`
        (4xx) or :class:`LMSUnavailable` (nothing better after ``retries`` retries)."""
        return self.request(
            "POST", GRADES_PATH, params={"fields": ANSWER_FIELDS}, json=grade.payload(),
            what=f"the grade of submission {grade.submission_id}",
        )
