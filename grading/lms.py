"""The LMS client: pushes a submission's grade to ``POST /api/v1/grades/`` with the grader's token.

The LMS keys a grade by (course, assignment, learner, submission id): pushing the same submission
again updates its one row (201 the first time, 200 after), so a push may be repeated safely — after
a timeout whose answer was lost, or when a job runs twice after a crash. Hence the retries:
connection errors, timeouts, 429 and 5xx are retried with exponential backoff (``Retry-After``
is honoured); any other 4xx means the LMS refuses this grade for good (unknown learner, not
enrolled, bad field) and raises :class:`LMSRejected` with the LMS's own words.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

log = logging.getLogger(__name__)

GRADES_PATH = "/api/v1/grades/"
# What the LMS answers a push with: the grade as it recorded it, without the feedback page that
# was just sent (~0.3 MB of HTML the LMS would otherwise encode and send back).
ANSWER_FIELDS = "id,submission_id,status,score,max_score,late,late_penalty,final_score,counts"


class LMSError(Exception):
    """A grade push that did not succeed."""


class LMSRejected(LMSError):
    """The LMS answered 4xx: the same push would be refused again."""

    def __init__(self, status: int, detail: str) -> None:
        self.status = status
        self.detail = detail
        super().__init__(f"the LMS refused the grade ({status}): {detail}")


class LMSUnavailable(LMSError):
    """No usable answer after every retry (connection errors, timeouts, 429, 5xx)."""


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


def _detail(response: requests.Response) -> str:
    """The LMS's error message: DRF's ``detail`` or its errors by field, else the text."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:500] or response.reason
    if isinstance(body, dict) and "detail" in body:
        return str(body["detail"])
    return json.dumps(body)[:500]


class LMSClient:
    """Pushes grades to the LMS at ``base_url`` with the grader service account's ``token``."""

    def __init__(
        self,
        base_url: str,
        token: str,
        retries: int = 5,
        backoff_seconds: float = 0.5,
        max_backoff_seconds: float = 30.0,
        timeout_seconds: float = 30.0,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not token:
            raise ValueError("LMS_GRADER_TOKEN is empty: the grader cannot push grades")
        self.url = base_url.rstrip("/") + GRADES_PATH
        self.token = token
        self.retries = retries
        self.backoff_seconds = backoff_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self.timeout_seconds = timeout_seconds
        self.session = session or requests.Session()
        self.sleep = sleep

    def push(self, grade: GradePush) -> dict[str, Any]:
        """Record ``grade`` in the LMS; the LMS's grade as JSON. Raises :class:`LMSRejected`
        (4xx) or :class:`LMSUnavailable` (nothing better after ``retries`` retries)."""
        headers = {"Authorization": f"Token {self.token}", "Accept": "application/json"}
        problem = ""
        retry_after: str | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                self.sleep(self._delay(attempt, retry_after))
            try:
                response = self.session.post(
                    self.url,
                    params={"fields": ANSWER_FIELDS},
                    json=grade.payload(),
                    headers=headers,
                    timeout=self.timeout_seconds,
                )
            except requests.RequestException as exc:
                problem, retry_after = f"{type(exc).__name__}: {exc}", None
                log.warning("grade push of %s: %s", grade.submission_id, problem)
                continue
            if response.status_code in {200, 201}:
                return response.json()
            if response.status_code == 429 or response.status_code >= 500:
                problem = f"{response.status_code}: {_detail(response)}"
                retry_after = response.headers.get("Retry-After")
                log.warning("grade push of %s: %s", grade.submission_id, problem)
                continue
            raise LMSRejected(response.status_code, _detail(response))
        raise LMSUnavailable(
            f"the LMS at {self.url} did not take the grade after {self.retries + 1} tries: "
            f"{problem}"
        )

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        if retry_after and retry_after.isdigit():
            return min(float(retry_after), self.max_backoff_seconds)
        delay = min(self.backoff_seconds * 2 ** (attempt - 1), self.max_backoff_seconds)
        return delay * random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not a secret
