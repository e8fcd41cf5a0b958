"""Per-learner limits: a rate (``TUTOR_RATE_PER_MINUTE`` in any 60 seconds) and a daily quota
(``TUTOR_DAILY_QUOTA`` requests per UTC day).

A request counts when it is admitted (after the policy allowed it), whether it then succeeds or
not: it was sent to the model. Refused requests (bad, not allowed, over a limit) do not count.

The rate is kept in memory (a window of admission times per learner). The quota's count starts
from the exchange log (the learner's exchanges since midnight UTC, read once per learner and
day) and is kept in memory from then on, so a restart forgets nothing that was logged. Several
tutor processes behind one URL each keep their own counts: run one, or accept up to that many
times the limits.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from servicekit.errors import ServiceError

WINDOW_SECONDS = 60.0
LIMIT_CODES = ("rate", "quota")
"""The codes of :class:`LimitExceeded`: the per-minute rate, the daily quota."""


class LimitExceeded(ServiceError):
    """429: ``message`` for the learner, ``retry_after`` seconds until the next request (the
    answer's ``Retry-After``)."""

    def __init__(self, code: str, message: str, retry_after: int) -> None:
        self.retry_after = max(1, retry_after)
        super().__init__(429, code, message, {"Retry-After": str(self.retry_after)})


def day_start(now: dt.datetime) -> dt.datetime:
    return now.astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def next_day(now: dt.datetime) -> dt.datetime:
    return day_start(now) + dt.timedelta(days=1)


def _in_words(seconds: float) -> str:
    seconds = max(1, math.ceil(seconds))
    if seconds < 90:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    if minutes < 90:
        return f"{minutes} minutes"
    return f"{math.ceil(minutes / 60)} hours"


@dataclass(frozen=True)
class Usage:
    used: int
    limit: int
    resets_at: dt.datetime


class Limits:
    """Admission of requests: :meth:`admit` or :class:`LimitExceeded`."""

    def __init__(
        self,
        per_minute: int,
        per_day: int,
        logged_since: Callable[[str, dt.datetime], int],
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.per_minute = per_minute
        self.per_day = per_day
        self.logged_since = logged_since
        self.clock = clock
        self.now = now
        self._recent: dict[str, deque[float]] = {}
        self._today: dict[str, tuple[dt.datetime, int]] = {}

    def usage(self, learner: str) -> Usage:
        """Today's count (reads the log the first time a learner is seen on a day: call it off
        the event loop)."""
        now = self.now()
        start = day_start(now)
        day, used = self._today.get(learner, (None, 0))
        if day != start:
            used = self.logged_since(learner, start)
            self._today[learner] = (start, used)
        return Usage(used, self.per_day, next_day(now))

    def knows_today(self, learner: str) -> bool:
        day = self._today.get(learner, (None, 0))[0]
        return day == day_start(self.now())

    def admit(self, learner: str) -> None:
        """Count one request of ``learner``, or refuse it (nothing counted)."""
        usage = self.usage(learner)
        if usage.used >= self.per_day:
            wait = (usage.resets_at - self.now()).total_seconds()
            raise LimitExceeded(
                "quota",
                f"You have used all {self.per_day} tutor requests for today. The quota resets "
                f"at midnight UTC ({usage.resets_at:%H:%M} UTC), in {_in_words(wait)}.",
                math.ceil(wait),
            )
        clock = self.clock()
        recent = self._recent.setdefault(learner, deque())
        while recent and clock - recent[0] >= WINDOW_SECONDS:
            recent.popleft()
        if len(recent) >= self.per_minute:
            wait = WINDOW_SECONDS - (clock - recent[0])
            raise LimitExceeded(
                "rate",
                f"You have asked the tutor {len(recent)} times in the last minute; it takes at "
                f"most {self.per_minute} requests a minute. Try again in {_in_words(wait)} "
                "(meanwhile, try the tutor's last suggestion in your notebook).",
                math.ceil(wait),
            )
        recent.append(clock)
        start, used = self._today[learner]
        self._today[learner] = (start, used + 1)
