"""The tutor service's HTTP API, as the LMS calls it (docs/tutor.md: ``summary`` and
``history``).

Server to server, like the grader's client (``lms.gradebook.grader``): every request carries
``Authorization: token <LMS_HUB_SERVICE_TOKEN>`` (the hub service ``lms``, which the tutor trusts
to act for instructors of every course) and ``X-Studio-User`` of the instructor looking, for the
tutor's log. The LMS alone decides who may look (``lms.tutor.selectors.may_review_tutor``).
Failures become one of three errors with a sentence for a person:

- :class:`TutorNotConfigured`: no tutor URL (or no token) is set;
- :class:`TutorUnavailable`: the tutor cannot be reached, timed out, failed (5xx) or sent
  something unreadable;
- :class:`TutorRefused`: the tutor answered 4xx; ``message`` is the tutor's own.

Settings (read once in ``lms/settings/base.py``): ``LMS_TUTOR_API_URL``,
``LMS_HUB_SERVICE_TOKEN`` (or ``_FILE``) and ``LMS_TUTOR_TIMEOUT``.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import requests
from django.conf import settings

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 5.0


class TutorError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class TutorNotConfigured(TutorError):
    pass


class TutorUnavailable(TutorError):
    pass


class TutorRefused(TutorError):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


@dataclass(frozen=True)
class Summary:
    exchanges: int
    learners: int
    by_mode: dict[str, int]
    error_types: list[tuple[str, int]]
    refused_leaks: int
    failed: int = 0
    offline: int = 0


@dataclass(frozen=True)
class Exchange:
    id: int
    learner: str
    mode: str
    assignment: str | None
    cell_id: str | None
    error_type: str | None
    question: str | None
    reply: str
    offline: bool
    refused: bool
    failed: bool
    created_at: dt.datetime | None
    extra: dict[str, Any] = field(default_factory=dict)


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _summary(body: Any) -> Summary:
    if not isinstance(body, dict):
        raise _unreadable()
    pairs = []
    for pair in body.get("error_types") or []:
        if isinstance(pair, list | tuple) and len(pair) == 2:
            pairs.append((str(pair[0]), _int(pair[1])))
    modes = body.get("by_mode") if isinstance(body.get("by_mode"), dict) else {}
    return Summary(
        exchanges=_int(body.get("exchanges")),
        learners=_int(body.get("learners")),
        by_mode={str(k): _int(v) for k, v in modes.items()},
        error_types=pairs,
        refused_leaks=_int(body.get("refused_leaks")),
        failed=_int(body.get("failed")),
        offline=_int(body.get("offline")),
    )


def _when(value: Any) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _exchange(data: Any) -> Exchange:
    if not isinstance(data, dict) or not isinstance(data.get("id"), int):
        raise _unreadable()
    return Exchange(
        id=data["id"],
        learner=str(data.get("learner", "")),
        mode=str(data.get("mode", "")),
        assignment=_text(data.get("assignment")),
        cell_id=_text(data.get("cell_id")),
        error_type=_text(data.get("error_type")),
        question=_text(data.get("question")),
        reply=str(data.get("reply") or ""),
        offline=bool(data.get("offline")),
        refused=bool(data.get("refused")),
        failed=bool(data.get("failed")),
        created_at=_when(data.get("created_at")),
    )


def _unreadable() -> TutorUnavailable:
    return TutorUnavailable("The tutor service sent an answer the LMS cannot read; nothing is "
                            "shown from it.")


def is_configured() -> bool:
    return bool(settings.LMS_TUTOR_API_URL)


class TutorClient:
    """One instructor's reads of the tutor's log."""

    def __init__(self, base_url: str, token: str, acting_for: str, *, timeout: float = 10.0,
                 session: requests.Session | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.acting_for = acting_for
        self.timeout = (min(CONNECT_TIMEOUT, timeout), timeout)
        self.session = session or requests.Session()

    @classmethod
    def for_user(cls, username: str) -> TutorClient:
        if not settings.LMS_TUTOR_API_URL:
            raise TutorNotConfigured(
                "No tutor service is configured for this LMS (LMS_TUTOR_API_URL is empty), so "
                "there are no tutor exchanges to show."
            )
        if not settings.LMS_HUB_SERVICE_TOKEN:
            raise TutorNotConfigured(
                "The tutor service is configured but the LMS has no hub service token "
                "(LMS_HUB_SERVICE_TOKEN), so it cannot read the tutor's log."
            )
        return cls(settings.LMS_TUTOR_API_URL, settings.LMS_HUB_SERVICE_TOKEN, username,
                   timeout=settings.LMS_TUTOR_TIMEOUT)

    def summary(self, course: str) -> Summary:
        """``GET courses/{course}/summary``."""
        return _summary(self._json(f"courses/{quote(course, safe='')}/summary"))

    def history(self, course: str, learner: str | None = None,
                before: int | None = None) -> list[Exchange]:
        """``GET history?course=&all=1`` (or ``&learner=``): newest first, at most 100."""
        params: dict[str, str] = {"course": course}
        if learner:
            params["learner"] = learner
        else:
            params["all"] = "1"
        if before:
            params["before"] = str(before)
        body = self._json("history", params)
        exchanges = body.get("exchanges") if isinstance(body, dict) else None
        if not isinstance(exchanges, list):
            raise _unreadable()
        return [_exchange(e) for e in exchanges]

    def _json(self, path: str, params: dict[str, str] | None = None) -> Any:
        url = f"{self.base_url}/{path}"
        headers = {"Authorization": f"token {self.token}", "X-Studio-User": self.acting_for,
                   "Accept": "application/json"}
        try:
            response = self.session.get(url, params=params, headers=headers,
                                        timeout=self.timeout, allow_redirects=False)
        except requests.Timeout:
            log.warning("tutor GET %s: no answer within %ss", url, self.timeout[1])
            raise TutorUnavailable(
                f"The tutor service did not answer within {self.timeout[1]:g} seconds. Try "
                "again in a minute."
            ) from None
        except requests.RequestException as exc:
            log.warning("tutor GET %s: %s", url, exc)
            raise TutorUnavailable(
                "The tutor service cannot be reached at the moment. Try again in a minute, or "
                "ask the studio's administrators to check it."
            ) from None
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = None
        if 200 <= status < 300:
            if body is None:
                raise _unreadable()
            return body
        message = str(body.get("message") or "") if isinstance(body, dict) else ""
        code = str(body.get("error") or "") if isinstance(body, dict) else ""
        log.warning("tutor GET %s: %s %s %s", url, status, code, message)
        if status >= 500 or status < 400:
            raise TutorUnavailable(f"The tutor service failed to answer (HTTP {status}). Try "
                                   "again later.")
        if status in {401, 403} and not message:
            message = "The tutor refused the LMS's credentials (LMS_HUB_SERVICE_TOKEN)."
        raise TutorRefused(status, code or "refused",
                           message or f"The tutor refused this (HTTP {status}).")
