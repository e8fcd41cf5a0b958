"""Each assignment's tutor policy and hints, from the LMS, with ``course.yml`` to fall back on.

The instructors set an assignment's ``tutor_policy`` (``off`` / ``hints-only`` / ``full``) and
its hints on the LMS assignment page. The tutor reads them with its service account's token
(``LMS_TUTOR_TOKEN``) from ``GET {LMS_INTERNAL_URL}/api/v1/courses/{course}/assignments/``,
every page of it, through ``servicekit.lms_client`` (off the event loop, without retries: a
learner is waiting, and the last answer will do), and uses the answer for
``TUTOR_POLICY_SECONDS``. Only one read per course runs at a time; requests arriving meanwhile
wait for it.

When the LMS cannot be asked (no token, unreachable, slow, an error, an answer that is not the
expected JSON) the last answer read is used, however old, and without one the assignment's
``tutor:`` and ``hints:`` in ``course.yml``. An assignment the LMS does not list (a draft)
falls back the same way; so does every assignment of a course the LMS does not know (404).
The source of each answer is kept, for the log and the tests.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from courses.course_file import TUTOR_POLICIES
from servicekit.lms_client import LMSClient, LMSError, LMSRejected
from tutor.course_data import CourseData

log = logging.getLogger(__name__)


def strictness(policy: str) -> int:
    """0 for the strictest policy: ``off`` before ``hints-only`` before ``full`` (the order of
    ``TUTOR_POLICIES``)."""
    return TUTOR_POLICIES.index(policy)


def strictest(policies: Iterable[str]) -> str:
    """The strictest of ``policies`` (at least one)."""
    return min(policies, key=strictness)


@dataclass(frozen=True)
class AssignmentPolicy:
    name: str
    title: str
    policy: str
    hints: tuple[str, ...]
    released: bool
    source: str
    """``lms``, ``lms-cached`` (the LMS did not answer: its last answer) or ``course.yml``."""


def _from_lms(item: dict[str, Any], source: str) -> AssignmentPolicy | None:
    name = item.get("nbgrader_name")
    policy = item.get("tutor_policy")
    if not isinstance(name, str) or policy not in TUTOR_POLICIES:
        return None  # not ours to read (e.g. the account lacks the permission: null policy)
    hints = item.get("hints") or []
    return AssignmentPolicy(
        name=name,
        title=str(item.get("title") or name),
        policy=str(policy),
        hints=tuple(h for h in hints if isinstance(h, str) and h.strip()),
        released=bool(item.get("released", True)),
        source=source,
    )


def from_course_file(course: CourseData | None) -> dict[str, AssignmentPolicy]:
    if course is None:
        return {}
    now = dt.datetime.now(dt.UTC)
    return {
        name: AssignmentPolicy(name, a.title, a.policy, a.hints, a.released(now), "course.yml")
        for name, a in course.assignments.items()
    }


class PolicySource:
    """The policy of a course's assignments, as fresh as ``max_age`` allows."""

    def __init__(
        self, lms_url: str, token: str, max_age: float, timeout: float = 5.0
    ) -> None:
        self.max_age = max_age
        self.client = (
            LMSClient(lms_url, token, variable="LMS_TUTOR_TOKEN", retries=0,
                      timeout_seconds=timeout)
            if token else None
        )
        self._read: dict[str, tuple[float, dict[str, AssignmentPolicy]]] = {}
        self._reading: dict[str, asyncio.Future] = {}
        if not token:
            log.warning("No LMS_TUTOR_TOKEN: tutor policies and hints come from course.yml only")

    async def assignments(
        self, slug: str, course: CourseData | None
    ) -> dict[str, AssignmentPolicy]:
        """Every assignment's policy in the course ``slug`` (``course``: its folder's data)."""
        fallback = from_course_file(course)
        if self.client is None:
            return fallback
        read = self._read.get(slug)
        if read and time.monotonic() - read[0] < self.max_age:
            return {**fallback, **read[1]}
        try:
            answer = await self._read_once(slug)
        except LMSError as why:
            if read:
                log.warning("LMS unavailable (%s): using the policy of %s read %.0f s ago",
                            why, slug, time.monotonic() - read[0])
                stale = {n: _restamp(p, "lms-cached") for n, p in read[1].items()}
                return {**fallback, **stale}
            log.warning("LMS unavailable (%s): using %s's course.yml", why, slug)
            return fallback
        return {**fallback, **answer}

    def forget(self) -> None:
        self._read.clear()

    async def _read_once(self, slug: str) -> dict[str, AssignmentPolicy]:
        """One read of ``slug`` at a time; callers arriving meanwhile share its outcome."""
        pending = self._reading.get(slug)
        if pending is None:
            pending = asyncio.ensure_future(self._fetch(slug))
            self._reading[slug] = pending
            pending.add_done_callback(lambda _f: self._reading.pop(slug, None))
        return await asyncio.shield(pending)

    async def _fetch(self, slug: str) -> dict[str, AssignmentPolicy]:
        assert self.client is not None
        path = f"/api/v1/courses/{quote(slug, safe='')}/assignments/"
        read = functools.partial(self.client.pages, path, what=f"the assignments of {slug}")
        try:
            items = await asyncio.get_running_loop().run_in_executor(None, read)
        except LMSRejected as refused:
            if refused.status != 404:
                raise
            items = []  # the LMS has no such live course: course.yml says it all
        found: dict[str, AssignmentPolicy] = {}
        for item in items:
            policy = _from_lms(item, "lms") if isinstance(item, dict) else None
            if policy:
                found[policy.name] = policy
        self._read[slug] = (time.monotonic(), found)
        return found


def _restamp(policy: AssignmentPolicy, source: str) -> AssignmentPolicy:
    return AssignmentPolicy(policy.name, policy.title, policy.policy, policy.hints,
                            policy.released, source)
