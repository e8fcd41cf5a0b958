"""The grader service's HTTP API, as the LMS calls it (docs/grading.md, "HTTP API").

Server to server: every request carries ``Authorization: token <LMS_HUB_SERVICE_TOKEN>`` (the hub
API token of the hub service ``lms``, which the grader trusts to act for instructors of every
course) and ``X-Studio-User: <username>`` of the instructor acting, for the grader's audit log.
The LMS alone decides who is an instructor (``lms.gradebook.selectors.may_manage_grading``); this
module only talks HTTP and turns answers into typed results and failures into three errors, each
with a sentence for a person:

- :class:`GraderNotConfigured`: no grader URL (or no token) is set;
- :class:`GraderUnavailable`: the grader cannot be reached, timed out, failed (5xx) or sent
  something unreadable;
- :class:`GraderRefused`: the grader answered 4xx; ``message`` is the grader's own.

Settings (read from the environment once, in ``lms/settings/base.py``): ``LMS_GRADER_API_URL``,
``LMS_HUB_SERVICE_TOKEN`` (or ``_FILE``) and ``LMS_GRADER_TIMEOUT``.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

import requests
from django.conf import settings

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 5.0  # seconds; at most LMS_GRADER_TIMEOUT
# A submission's status at the grader (docs/grading.md).
SUBMISSION_STATUSES = ("queued", "grading", "graded", "invalid", "failed")


class GraderError(Exception):
    """The grader could not do what was asked; ``message`` says why, for a person."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class GraderNotConfigured(GraderError):
    pass


class GraderUnavailable(GraderError):
    def __init__(self, message: str, *, timed_out: bool = False) -> None:
        super().__init__(message)
        self.timed_out = timed_out


class GraderRefused(GraderError):
    """A 4xx answer: ``status``, the grader's ``code`` (``error``) and its ``message``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


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
    late: bool
    score: Decimal | None
    max_score: Decimal | None
    message: str = ""


@dataclass(frozen=True)
class GradesCSV:
    filename: str
    content: bytes


@dataclass(frozen=True)
class LatePolicy:
    mode: str  # reject, accept, penalty
    percent_per_day: float | int = 0
    cutoff_days: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "percent_per_day": self.percent_per_day,
            "cutoff_days": self.cutoff_days,
        }


@dataclass(frozen=True)
class ReleaseOptions:
    """The body of a release: what the LMS assignment page says."""

    due_at: dt.datetime | None
    late_policy: LatePolicy
    feedback: str = "auto"

    def as_json(self) -> dict[str, Any]:
        return {
            "due_at": self.due_at.isoformat() if self.due_at else None,
            "late_policy": self.late_policy.as_json(),
            "feedback": self.feedback,
        }


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
        late=bool(data.get("late", False)),
        score=_decimal(data.get("score")),
        max_score=_decimal(data.get("max_score")),
        message=str(data.get("message") or ""),
    )


# --- The client ------------------------------------------------------------------------------


def is_configured() -> bool:
    return bool(settings.LMS_GRADER_API_URL)


class GraderClient:
    """One instructor's calls to the grader. ``acting_for`` is sent as ``X-Studio-User``."""

    def __init__(
        self,
        base_url: str,
        token: str,
        acting_for: str,
        *,
        timeout: float = 30.0,
        session: requests.Session | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.acting_for = acting_for
        self.timeout = (min(CONNECT_TIMEOUT, timeout), timeout)
        self.session = session or requests.Session()

    @classmethod
    def for_user(cls, username: str) -> GraderClient:
        """A client from the settings; :class:`GraderNotConfigured` when they are missing."""
        if not settings.LMS_GRADER_API_URL:
            raise GraderNotConfigured(
                "No grader service is configured for this LMS (LMS_GRADER_API_URL is empty), "
                "so releasing, regrading and grade exports are unavailable."
            )
        if not settings.LMS_HUB_SERVICE_TOKEN:
            raise GraderNotConfigured(
                "The grader service is configured but the LMS has no hub service token "
                "(LMS_HUB_SERVICE_TOKEN), so it cannot call the grader."
            )
        return cls(
            settings.LMS_GRADER_API_URL,
            settings.LMS_HUB_SERVICE_TOKEN,
            username,
            timeout=settings.LMS_GRADER_TIMEOUT,
        )

    # -- one method per action -----------------------------------------------------------------

    def released_assignments(self, course: str) -> dict[str, ReleasedAssignment]:
        """``GET courses/{course}/assignments``: what is released, by nbgrader name."""
        body = self._json("GET", f"courses/{_seg(course)}/assignments")
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
        response = self._request("POST", _on(course, assignment, "release"), options.as_json())
        body = _body(response)
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
        self._request("DELETE", _on(course, assignment, "release"))

    def submissions(
        self, course: str, assignment: str, learner: str | None = None
    ) -> list[Submission]:
        """``GET …/submissions``: every learner's submissions (or one learner's)."""
        params = {"learner": learner} if learner else None
        body = self._json("GET", _on(course, assignment, "submissions"), params=params)
        return [_submission(s) for s in _list(body, "submissions")]

    def regrade(
        self, course: str, assignment: str, submission_ids: list[str] | None = None
    ) -> list[str]:
        """``POST …/regrade``: queue all (or the named) submissions again; the ids queued."""
        payload = {} if submission_ids is None else {"submissions": list(submission_ids)}
        body = self._json("POST", _on(course, assignment, "regrade"), payload)
        return [str(i) for i in _list(body, "submissions")]

    def release_feedback(self, course: str, assignment: str) -> list[str]:
        """``POST …/feedback``: release the feedback of graded submissions; the ids released."""
        body = self._json("POST", _on(course, assignment, "feedback"), {})
        return [str(i) for i in _list(body, "released")]

    def grades_csv(self, course: str) -> GradesCSV:
        """``GET courses/{course}/grades.csv``: the counting grade of each learner x assignment."""
        response = self._request("GET", f"courses/{_seg(course)}/grades.csv", accept="text/csv")
        return GradesCSV(filename=f"{course}-grades.csv", content=response.content)

    # -- HTTP ------------------------------------------------------------------------------------

    def _json(self, method: str, path: str, payload: Any = None, **kwargs: Any) -> Any:
        return _body(self._request(method, path, payload, **kwargs))

    def _request(
        self,
        method: str,
        path: str,
        payload: Any = None,
        *,
        params: dict[str, str] | None = None,
        accept: str = "application/json",
    ) -> requests.Response:
        url = f"{self.base_url}/{path}"
        headers = {
            "Authorization": f"token {self.token}",
            "X-Studio-User": self.acting_for,
            "Accept": accept,
        }
        try:
            response = self.session.request(
                method,
                url,
                json=payload,
                params=params,
                headers=headers,
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.Timeout:
            log.warning("grader %s %s: no answer within %ss", method, url, self.timeout[1])
            seconds = self.timeout[1]
            raise GraderUnavailable(
                f"The grader service did not answer within {seconds:g} "
                f"second{'' if seconds == 1 else 's'}. "
                "Try again in a minute; if you asked for a change, reload the page first to see "
                "whether it went through.",
                timed_out=True,
            ) from None
        except requests.RequestException as exc:
            log.warning("grader %s %s: %s", method, url, exc)
            raise GraderUnavailable(
                "The grader service cannot be reached at the moment; nothing was changed. "
                "Try again in a minute, or ask the studio's administrators to check it."
            ) from None
        if not 200 <= response.status_code < 300:
            raise _error(method, url, response)
        return response


def _seg(value: str) -> str:
    return quote(value, safe="")


def _on(course: str, assignment: str, what: str) -> str:
    return f"courses/{_seg(course)}/assignments/{_seg(assignment)}/{what}"


def _body(response: requests.Response) -> Any:
    if response.status_code == 204 or not response.content:
        return {}
    try:
        return response.json()
    except ValueError:
        raise GraderUnavailable(
            "The grader service sent an answer the LMS cannot read; nothing is shown from it."
        ) from None


def _list(body: Any, key: str) -> list:
    items = body.get(key) if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise GraderUnavailable(
            "The grader service sent an answer the LMS cannot read; nothing is shown from it."
        )
    return items


def _error(method: str, url: str, response: requests.Response) -> GraderError:
    """The grader's ``{"error", "message"}`` as an exception; 5xx (and answers that are not
    the grader's, such as the hub proxy's 503 page) as unavailable."""
    status = response.status_code
    code, message = "", ""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        code = str(body.get("error") or "")
        message = str(body.get("message") or "")
    log.warning("grader %s %s: %s %s %s", method, url, status, code, message)
    if status >= 500 or status < 400:
        return GraderUnavailable(
            f"The grader service failed to answer (HTTP {status})"
            + (f": {message}" if message else ".")
            + " Try again later."
        )
    if status in {401, 403} and not message:
        message = "The grader refused the LMS's credentials (LMS_HUB_SERVICE_TOKEN)."
    message = message or f"The grader refused this (HTTP {status})."
    return GraderRefused(status, code or "refused", message)
