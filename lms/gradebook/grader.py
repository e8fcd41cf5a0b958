"""The grader service's HTTP API, as the LMS calls it (docs/grading.md, "HTTP API").

Server to server, as every client of a hub service (``lms.base.service_client``: the hub token,
``X-Studio-User`` of the instructor acting, for the grader's audit log). The LMS alone decides who
is an instructor (``lms.gradebook.selectors.may_manage_grading``); this module only turns the
grader's answers into typed results. Failures are three errors, each with a sentence for a
person:

- :class:`GraderNotConfigured`: no grader URL (or no token) is set;
- :class:`GraderUnavailable`: the grader cannot be reached, timed out, failed (5xx) or sent
  something unreadable;
- :class:`GraderRefused`: the grader answered 4xx; ``message`` is the grader's own.

Settings (read from the environment once, in ``lms/settings/base.py``): ``LMS_GRADER_API_URL``,
``LMS_HUB_SERVICE_TOKEN`` (or ``_FILE``) and ``LMS_GRADER_TIMEOUT``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

from courses.course_file import LatePolicy
from lms.base.service_client import (
    ServiceClient,
    ServiceError,
    ServiceNotConfigured,
    ServiceRefused,
    ServiceUnavailable,
)

# A submission's status at the grader (docs/grading.md).
SUBMISSION_STATUSES = ("queued", "grading", "graded", "invalid", "failed")
# What a learner is told of a submission (docs/grading.md, "Grading status").
GRADING_STATES = ("queued", "grading", "graded", "could-not-be-graded", "invalid")
STATUS_SECONDS = 3.0
"""The longest the assignment page waits for the grading status (a read it can do without)."""


class GraderError(ServiceError):
    """The grader could not do what was asked; ``message`` says why, for a person."""


class GraderNotConfigured(GraderError, ServiceNotConfigured):
    pass


class GraderUnavailable(GraderError, ServiceUnavailable):
    """Unreachable, failing or unreadable; ``timed_out`` when it did not answer in time."""


class GraderRefused(GraderError, ServiceRefused):
    """A 4xx answer: ``status``, the grader's ``code`` (``error``) and its ``message``."""


# --- What the grader answers ---------------------------------------------------------------


@dataclass(frozen=True)
class Release:
    assignment: str
    released_at: dt.datetime | None
    due_at: dt.datetime | None
    late_policy: dict[str, Any]
    feedback: str
    notebooks: list[str]
    created: bool  # released for the first time (201), not again (200)


@dataclass(frozen=True)
class ReleasedAssignment:
    """One entry of the grader's list of released assignments."""

    assignment: str
    released_at: dt.datetime | None
    due_at: dt.datetime | None


@dataclass(frozen=True)
class Submission:
    id: str
    learner: str
    submitted_at: dt.datetime | None
    status: str  # queued, grading, graded, invalid, failed
    late: bool | None  # as the LMS recorded it; None: no grade recorded yet
    score: Decimal | None
    max_score: Decimal | None
    message: str = ""
    error_id: str = ""  # a failure's id in the grader's log (its admins look it up)


@dataclass(frozen=True)
class GradingStatus:
    """Where a submission stands, in the learner's words (docs/grading.md, "Grading status"):
    ``state`` one of :data:`GRADING_STATES`, ``ahead`` the gradings before it while queued,
    the score once graded, ``message`` the grader's sentence for the learner."""

    id: str
    state: str
    submitted_at: dt.datetime | None
    late: bool
    ahead: int | None
    score: Decimal | None
    max_score: Decimal | None
    message: str

    @property
    def waiting(self) -> bool:
        return self.state in ("queued", "grading")


@dataclass(frozen=True)
class SubmittedNotebook:
    """One notebook of a submission as a peer reviewer may see it (hidden tests removed by the
    grader); ``notebook`` is None when it was not submitted or is unreadable (``problem``)."""

    name: str
    notebook: dict[str, Any] | None
    problem: str


@dataclass(frozen=True)
class ReviewCopy:
    """What the grader gives the LMS of a submission for peer review (docs/grading.md, "Peer
    review: the submitted notebook"): its notebooks, and the per-test results (``{"id",
    "notebook", "score", "max_score"}``) or None."""

    submission_id: str
    learner: str
    notebooks: list[SubmittedNotebook]
    tests: list[dict[str, Any]] | None


@dataclass(frozen=True)
class ReleaseOptions:
    """The body of a release: what the LMS assignment page says."""

    due_at: dt.datetime | None
    late_policy: LatePolicy
    feedback: str = "auto"

    def as_json(self) -> dict[str, Any]:
        return {
            "due_at": self.due_at.isoformat() if self.due_at else None,
            "late_policy": {
                "mode": self.late_policy.mode,
                "percent_per_day": _json_number(self.late_policy.percent_per_day),
                "cutoff_days": int(self.late_policy.cutoff_days),
            },
            "feedback": self.feedback,
        }


def _json_number(value: Decimal | float | int) -> float | int:
    """A number as JSON has it: 10 rather than 10.00, 2.5 as 2.5."""
    value = Decimal(str(value))
    return int(value) if value == value.to_integral_value() else float(value)


def _datetime(value: Any) -> dt.datetime | None:
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(str(value))
    except ValueError:
        return None


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _submission(data: dict[str, Any]) -> Submission:
    return Submission(
        id=str(data["id"]),
        learner=str(data.get("learner", "")),
        submitted_at=_datetime(data.get("submitted_at")),
        status=str(data.get("status", "")),
        late=data["late"] if isinstance(data.get("late"), bool) else None,
        score=_decimal(data.get("score")),
        max_score=_decimal(data.get("max_score")),
        message=str(data.get("message") or ""),
        error_id=str(data.get("error_id") or ""),
    )


# --- The client ------------------------------------------------------------------------------


class GraderClient(ServiceClient):
    """One instructor's calls to the grader. ``acting_for`` is sent as ``X-Studio-User``."""

    service = "grader"
    url_setting = "LMS_GRADER_API_URL"
    timeout_setting = "LMS_GRADER_TIMEOUT"
    without_service = "releasing and regrading are unavailable"
    without_credentials = "call the grader"
    NotConfigured = GraderNotConfigured
    Unavailable = GraderUnavailable
    Refused = GraderRefused

    # -- one method per action -----------------------------------------------------------------

    def released_assignments(self, course: str) -> dict[str, ReleasedAssignment]:
        """``GET courses/{course}/assignments``: what is released, by nbgrader name."""
        body = self.json("GET", f"courses/{_seg(course)}/assignments")
        return {
            str(a["assignment"]): ReleasedAssignment(
                assignment=str(a["assignment"]),
                released_at=_datetime(a.get("released_at")),
                due_at=_datetime(a.get("due_at")),
            )
            for a in _list(body, "assignments")
        }

    def release(self, course: str, assignment: str, options: ReleaseOptions) -> Release:
        """``POST …/release``: release (or release again with new dates and policy)."""
        response = self.request("POST", _on(course, assignment, "release"), options.as_json())
        body = self.body_of(response)
        if not isinstance(body, dict):
            raise self.unreadable()
        return Release(
            assignment=str(body.get("assignment", assignment)),
            released_at=_datetime(body.get("released_at")),
            due_at=_datetime(body.get("due_at")),
            late_policy=dict(body.get("late_policy") or {}),
            feedback=str(body.get("feedback", options.feedback)),
            notebooks=[str(n) for n in body.get("notebooks") or []],
            created=response.status_code == 201,
        )

    def unrelease(self, course: str, assignment: str) -> None:
        """``DELETE …/release``: withdraw from learners (their submissions are kept)."""
        self.request("DELETE", _on(course, assignment, "release"))

    def submissions(
        self, course: str, assignment: str, learner: str | None = None
    ) -> list[Submission]:
        """``GET …/submissions``: every learner's submissions (or one learner's)."""
        params = {"learner": learner} if learner else None
        body = self.json("GET", _on(course, assignment, "submissions"), params=params)
        return [_submission(s) for s in _list(body, "submissions")]

    def latest_status(self, course: str, assignment: str, learner: str) -> GradingStatus | None:
        """``GET …/submissions/latest/status?learner=``: where ``learner``'s newest submission
        stands; None when there is none (404)."""
        try:
            body = self.json("GET", _on(course, assignment, "submissions/latest/status"),
                             params={"learner": learner})
        except GraderRefused as refused:
            if refused.status == 404:
                return None
            raise
        if not isinstance(body, dict) or body.get("state") not in GRADING_STATES:
            raise self.unreadable()
        ahead = body.get("ahead")
        return GradingStatus(
            id=str(body.get("id", "")),
            state=str(body["state"]),
            submitted_at=_datetime(body.get("submitted_at")),
            late=bool(body.get("late", False)),
            ahead=ahead if isinstance(ahead, int) and not isinstance(ahead, bool) else None,
            score=_decimal(body.get("score")),
            max_score=_decimal(body.get("max_score")),
            message=str(body.get("message") or ""),
        )

    def review_copy(
        self, course: str, assignment: str, submission_id: str, learner: str, tests: bool
    ) -> ReviewCopy:
        """``GET …/submissions/{id}/notebook?learner=``: the submission as a peer reviewer may
        see it, with the per-test results when ``tests`` (and course.yml allows)."""
        params = {"learner": learner, "tests": "1" if tests else "0"}
        body = self.json("GET", _on(course, assignment, f"submissions/{_seg(submission_id)}/"
                                    "notebook"), params=params)
        if not isinstance(body, dict) or not isinstance(body.get("submission"), dict):
            raise self.unreadable()
        notebooks = [
            SubmittedNotebook(
                name=str(n.get("name", "")),
                notebook=n["notebook"] if isinstance(n.get("notebook"), dict) else None,
                problem=str(n.get("problem") or ""),
            )
            for n in _list(body, "notebooks") if isinstance(n, dict)
        ]
        tests = body.get("tests")
        return ReviewCopy(
            submission_id=str(body["submission"].get("id", submission_id)),
            learner=str(body["submission"].get("learner", "")),
            notebooks=notebooks,
            tests=[t for t in tests if isinstance(t, dict)] if isinstance(tests, list) else None,
        )

    def regrade(
        self, course: str, assignment: str, submission_ids: list[str] | None = None
    ) -> list[str]:
        """``POST …/regrade``: queue all (or the named) submissions again; the ids queued."""
        payload = {} if submission_ids is None else {"submissions": list(submission_ids)}
        body = self.json("POST", _on(course, assignment, "regrade"), payload)
        return [str(i) for i in _list(body, "submissions")]

    def release_feedback(self, course: str, assignment: str) -> list[str]:
        """``POST …/feedback``: release the feedback of graded submissions; the ids released."""
        body = self.json("POST", _on(course, assignment, "feedback"), {})
        return [str(i) for i in _list(body, "released")]


def _seg(value: str) -> str:
    return quote(value, safe="")


def _on(course: str, assignment: str, what: str) -> str:
    return f"courses/{_seg(course)}/assignments/{_seg(assignment)}/{what}"


def _list(body: Any, key: str) -> list:
    items = body.get(key) if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise GraderClient.unreadable()
    return items
