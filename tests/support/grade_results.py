"""A grading's result for tests that stand in for nbgrader: what a worker's ``grade`` returns.

The grader's own is ``grading.result.AutogradeResult``; a worker needs only these of its fields
(``grading.worker.Grade``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Result:
    """What grading one submission gives. ``status``: ``graded``, or ``invalid`` when the
    notebook cannot be graded (``message`` says why, for the learner)."""

    status: str
    score: float
    max_score: float
    breakdown: list[dict[str, Any]] = field(default_factory=list)
    feedback_dir: Path | None = None
    message: str = ""
