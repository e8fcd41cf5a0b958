"""The lateness rule: whether a submission is late, by how many days, what it costs, whether it
may count. One pure function, :func:`assess`, used by the LMS (its gradebook records the grade)
and by the grader (nbgrader's late-submission plugin, its own listings) alike, so the two can
never disagree about a submission.

The rule, from an assignment's due date and late policy (``course.yml``'s ``late_policy``,
:class:`courses.course_file.LatePolicy`):

- A submission is late when it is submitted after the due date (an assignment without a due date
  is never late). It is late by the number of *started* days: one second late is one day late,
  exactly 24 hours late is one day, 24 hours and one microsecond is two.
- ``reject``: a late submission is refused: it never counts, whatever its score.
- ``accept``: a late submission counts with its whole score, flagged late.
- ``penalty``: a late submission loses ``percent_per_day`` percent of its score for each started
  day (at most the whole score); after ``cutoff_days`` days (0: never) it is refused as with
  ``reject``.
- Scores and penalties are exact decimals: the penalty is rounded half up to hundredths of a
  point, and the final score is the score minus the penalty (never below 0).

Which of a learner's submissions counts among several (the latest on-time one, else the latest
accepted late one) is the LMS's gradebook's decision; this module decides each submission alone.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from courses.course_file import LatePolicy

DAY = dt.timedelta(days=1)
CENT = Decimal("0.01")
HUNDRED = Decimal(100)


def as_decimal(value: Decimal | float | int | str) -> Decimal:
    """A score as an exact decimal: a float by its shortest repr (``0.1`` is ``0.1``, not the
    binary fraction nearest to it), as the LMS stores and shows it."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(value)


@dataclass(frozen=True)
class Lateness:
    """What the late policy does to one submission."""

    late: bool
    """Submitted after the due date."""
    days_late: int
    """Started days after the due date; 0 when on time."""
    rejected: bool
    """Refused by the policy: the submission never counts."""
    penalty: Decimal
    """Points taken off the score (0 when on time, accepted, or rejected)."""
    final_score: Decimal
    """The score once the penalty is taken off (0 for a rejected submission)."""

    @property
    def may_count(self) -> bool:
        return not self.rejected


def days_late(due: dt.datetime | None, submitted: dt.datetime) -> int:
    """Started days between ``due`` and ``submitted``; 0 when on time or without a due date.
    Exact: computed on timedeltas (microseconds), never on floating-point seconds."""
    if due is None or submitted <= due:
        return 0
    whole, rest = divmod(submitted - due, DAY)
    return whole + (1 if rest else 0)


def refuses(policy: LatePolicy, days: int) -> bool:
    """Whether ``policy`` refuses work ``days`` started days late (it then never counts)."""
    if days <= 0:
        return False
    return policy.mode == "reject" or (
        policy.mode == "penalty" and bool(policy.cutoff_days) and days > policy.cutoff_days
    )


def assess(
    policy: LatePolicy,
    due: dt.datetime | None,
    submitted: dt.datetime,
    score: Decimal | float | int | str,
) -> Lateness:
    """The lateness of a submission of ``score`` points, submitted at ``submitted``, to an
    assignment due at ``due`` under ``policy`` (both datetimes time-zone aware)."""
    points = as_decimal(score)
    days = days_late(due, submitted)
    if days == 0:
        return Lateness(False, 0, rejected=False, penalty=Decimal(0), final_score=points)
    if refuses(policy, days):
        return Lateness(True, days, rejected=True, penalty=Decimal(0), final_score=Decimal(0))
    if policy.mode != "penalty":  # accept
        return Lateness(True, days, rejected=False, penalty=Decimal(0), final_score=points)
    percent = min(days * as_decimal(policy.percent_per_day), HUNDRED)
    penalty = (points * percent / HUNDRED).quantize(CENT, rounding=ROUND_HALF_UP)
    penalty = min(max(penalty, Decimal(0)), max(points, Decimal(0)))
    return Lateness(True, days, rejected=False, penalty=penalty, final_score=points - penalty)
