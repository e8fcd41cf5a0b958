"""The grade push: a submission's grade to ``POST /api/v1/grades/`` with the grader's token.

The LMS keys a grade by (course, assignment, learner, submission id): pushing the same submission
again updates its one row (201 the first time, 200 after), so a push may be repeated safely — after
a timeout whose answer was lost, or when a job runs twice after a crash. Hence the retries of
``servicekit.lms_client`` (the hub services' one client of the LMS's API): connection errors,
timeouts, 429 and 5xx are retried with exponential backoff (``Retry-After`` is honoured); any
other 4xx means the LMS refuses this grade for good (unknown learner, not enrolled, bad field)
and raises :class:`LMSRejected` with the LMS's own words.

The LMS's ``Grade`` is the record: it decides lateness, the late penalty and which of a
learner's grades counts (docs/architecture.md, "Which grade counts"). Its answer to a push says
what it recorded (:data:`ANSWER_FIELDS`); :class:`RecordedGrade` reads it, and the grader keeps
it on the submission and shows it, never a lateness of its own.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from servicekit import lms_client
from servicekit.lms_client import LMSError, LMSRejected, LMSUnavailable

__all__ = ["ANSWER_FIELDS", "GRADES_PATH", "GradePush", "LMSClient", "LMSError", "LMSRejected",
           "LMSUnavailable", "RecordedGrade", "UnreadableAnswer"]

GRADES_PATH = "/api/v1/grades/"
# What the LMS answers a push with: the grade as it recorded it, without the feedback page that
# was just sent (~0.3 MB of HTML the LMS would otherwise encode and send back).
ANSWER_FIELDS = (
    "id,submission_id,status,score,max_score,late,late_penalty,final_score,counts,updated_at"
)
RECORDED_STATUSES = ("graded", "invalid", "late-rejected")


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


class UnreadableAnswer(LMSError):
    """The LMS accepted a push but answered something that does not say what it recorded."""


@dataclass(frozen=True)
class RecordedGrade:
    """A submission's grade as the LMS recorded it, from its answer to the push."""

    status: str
    """``graded``, ``invalid``, or ``late-rejected`` (the late policy refuses it)."""
    score: float
    max_score: float
    late: bool
    late_penalty: float
    final_score: float
    counts: bool
    """Whether it is the learner's grade that counts for the assignment, when recorded."""
    updated_at: dt.datetime
    """The LMS's time of the record: of two answers, the later one is the LMS's word."""

    @classmethod
    def from_answer(cls, answer: Any, submission_id: str) -> RecordedGrade:
        """The grade in the LMS's ``answer`` to the push of ``submission_id``. An answer that
        does not say it (another submission, a field missing or of the wrong type) raises
        :class:`UnreadableAnswer`: the LMS took the grade, but what it recorded is unknown,
        and nothing is made up in its place."""

        def problem(what: str) -> UnreadableAnswer:
            return UnreadableAnswer(f"the LMS's answer to the grade of submission "
                                    f"{submission_id} {what}")

        if not isinstance(answer, dict):
            raise problem("is not a JSON object")
        if answer.get("submission_id") != submission_id:
            raise problem("names another submission")
        status = answer.get("status")
        if status not in RECORDED_STATUSES:
            raise problem(f"has the status {status!r}")

        def number(name: str) -> float:
            value = answer.get(name)
            if isinstance(value, bool) or not isinstance(value, str | int | float):
                raise problem(f"has no number {name}")
            try:
                parsed = Decimal(str(value))
            except InvalidOperation:
                raise problem(f"has no number {name}") from None
            if not parsed.is_finite():
                raise problem(f"has no number {name}")
            return float(parsed)

        def flag(name: str) -> bool:
            value = answer.get(name)
            if not isinstance(value, bool):
                raise problem(f"has no true or false {name}")
            return value

        try:
            updated_at = dt.datetime.fromisoformat(str(answer.get("updated_at")))
        except ValueError:
            raise problem("has no time updated_at") from None
        if updated_at.tzinfo is None:
            raise problem("has a time updated_at without a time zone")
        return cls(
            status=status,
            score=number("score"),
            max_score=number("max_score"),
            late=flag("late"),
            late_penalty=number("late_penalty"),
            final_score=number("final_score"),
            counts=flag("counts"),
            updated_at=updated_at.astimezone(dt.UTC),
        )
