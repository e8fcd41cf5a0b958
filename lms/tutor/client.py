"""The tutor service's HTTP API, as the LMS calls it (docs/tutor.md: ``summary`` and
``history``).

Server to server, as every client of a hub service (``lms.base.service_client``: the hub token,
``X-Studio-User`` of the instructor looking, for the tutor's log). The LMS alone decides who may
look (``lms.tutor.selectors.may_review_tutor``); this module only turns the tutor's answers into
typed results. Failures become one of three errors with a sentence for a person:

- :class:`TutorNotConfigured`: no tutor URL (or no token) is set;
- :class:`TutorUnavailable`: the tutor cannot be reached, timed out, failed (5xx) or sent
  something unreadable;
- :class:`TutorRefused`: the tutor answered 4xx; ``message`` is the tutor's own.

Settings (read once in ``lms/settings/base.py``): ``LMS_TUTOR_API_URL``,
``LMS_HUB_SERVICE_TOKEN`` (or ``_FILE``) and ``LMS_TUTOR_TIMEOUT``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from lms.base.service_client import (
    ServiceClient,
    ServiceError,
    ServiceNotConfigured,
    ServiceRefused,
    ServiceUnavailable,
)


class TutorError(ServiceError):
    """The tutor could not answer; ``message`` says why, for a person."""


class TutorNotConfigured(TutorError, ServiceNotConfigured):
    pass


class TutorUnavailable(TutorError, ServiceUnavailable):
    pass


class TutorRefused(TutorError, ServiceRefused):
    """A 4xx answer: ``status``, the tutor's ``code`` (``error``) and its ``message``."""


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
        raise TutorClient.unreadable()
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
        raise TutorClient.unreadable()
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


class TutorClient(ServiceClient):
    """One instructor's reads of the tutor's log."""

    service = "tutor"
    url_setting = "LMS_TUTOR_API_URL"
    timeout_setting = "LMS_TUTOR_TIMEOUT"
    without_service = "there are no tutor exchanges to show"
    without_credentials = "read the tutor's log"
    NotConfigured = TutorNotConfigured
    Unavailable = TutorUnavailable
    Refused = TutorRefused

    def summary(self, course: str) -> Summary:
        """``GET courses/{course}/summary``."""
        return _summary(self.json("GET", f"courses/{quote(course, safe='')}/summary"))

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
        body = self.json("GET", "history", params=params)
        exchanges = body.get("exchanges") if isinstance(body, dict) else None
        if not isinstance(exchanges, list):
            raise self.unreadable()
        return [_exchange(e) for e in exchanges]
