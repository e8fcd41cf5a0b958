"""The course's late policy in nbgrader: its late submission plugin (``StudioLatePenalty``) and
the rule it applies, which ``grading.autograde`` and ``grading.result`` use too (days late,
refused)."""

from __future__ import annotations

import datetime as dt
import math
from decimal import ROUND_HALF_UP, Decimal

from nbgrader.plugins import BasePlugin
from traitlets import Float, Integer, Unicode

from courses.course_file import LatePolicy

DAY_SECONDS = 86400
CENT = Decimal("0.01")


class StudioLatePenalty(BasePlugin):
    """The course's late policy (``courses.course_file.LatePolicy``) as an nbgrader late
    submission plugin, computed exactly like the LMS does (``lms.gradebook.services``): per
    started day late, a percentage of the score, rounded half up to cents; a refused
    submission loses its whole score."""

    mode = Unicode("reject", help="reject, accept or penalty").tag(config=True)
    percent_per_day = Float(0.0, help="Percent of the score per started day late.").tag(config=True)
    cutoff_days = Integer(0, help="Days after which late work is refused (0: never).").tag(
        config=True
    )

    def late_submission_penalty(self, student_id: str, score: float, total_seconds: float):
        days = math.ceil(total_seconds / DAY_SECONDS)
        return penalty_points(
            LatePolicy(self.mode, self.percent_per_day, self.cutoff_days), days, score
        )


def penalty_points(policy: LatePolicy, days_late: int, score: float) -> float:
    if days_late <= 0 or policy.mode == "accept":
        return 0.0
    if policy.mode == "penalty" and not (policy.cutoff_days and days_late > policy.cutoff_days):
        percent = min(Decimal(days_late) * Decimal(str(policy.percent_per_day)), Decimal(100))
        points = Decimal(str(score)) * percent / 100
        return float(points.quantize(CENT, rounding=ROUND_HALF_UP))
    return float(score)


def days_late(due_at: dt.datetime | None, submitted_at: dt.datetime) -> int:
    """Started days after the due date (1 s late is 1 day); 0 when on time."""
    if due_at is None or submitted_at <= due_at:
        return 0
    return math.ceil((submitted_at - due_at).total_seconds() / DAY_SECONDS)


def refused(policy: LatePolicy, days: int) -> bool:
    return days > 0 and (
        policy.mode == "reject"
        or (policy.mode == "penalty" and bool(policy.cutoff_days) and days > policy.cutoff_days)
    )
