"""The course's late policy in nbgrader: its late submission plugin (``StudioLatePenalty``).

The rule itself is the studio's one lateness rule, :func:`courses.lateness.assess`, which the LMS
applies too: the plugin only turns nbgrader's question (how many points does a submission of
this score, this many seconds late, lose?) into that function's terms.
"""

from __future__ import annotations

import datetime as dt

from nbgrader.plugins import BasePlugin
from traitlets import Float, Integer, Unicode

from courses.course_file import LatePolicy
from courses.lateness import assess

EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)  # any instant: only the difference matters


class StudioLatePenalty(BasePlugin):
    """The course's late policy (``courses.course_file.LatePolicy``) as an nbgrader late
    submission plugin: the penalty of :func:`courses.lateness.assess`; a refused submission loses
    its whole score."""

    mode = Unicode("reject", help="reject, accept or penalty").tag(config=True)
    percent_per_day = Float(0.0, help="Percent of the score per started day late.").tag(config=True)
    cutoff_days = Integer(0, help="Days after which late work is refused (0: never).").tag(
        config=True
    )

    def late_submission_penalty(self, student_id: str, score: float, total_seconds: float):
        policy = LatePolicy(self.mode, self.percent_per_day, self.cutoff_days)
        submitted = EPOCH + dt.timedelta(seconds=total_seconds)
        verdict = assess(policy, EPOCH, submitted, score)
        return float(score) if verdict.rejected else float(verdict.penalty)
