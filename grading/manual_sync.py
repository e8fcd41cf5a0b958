"""Sync a grade instructors changed by hand: the worker's ``sync`` job.

Instructors change nbgrader's gradebook in the formgrader (``manual_score``, ``extra_credit``,
comments); ``grading.manual_grades`` notices and queues a ``sync``. :func:`sync_grade` then
regrades nothing: it reads the score and breakdown again (``grading.result``) and regenerates
the feedback (``grading.feedback``), under the learner's lock.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from nbgrader.api import Gradebook

from courses.course_file import LatePolicy
from courses.lateness import days_late
from courses.naming import ASSIGNMENT_NAME_PATTERN, USERNAME_PATTERN
from grading.course_directory import check_name, open_course
from grading.feedback import generate_feedback
from grading.gradebook import gradebook_entry
from grading.manual_grades import same_submission
from grading.result import AutogradeResult, collect_result


def sync_grade(
    course_dir: Path | str,
    assignment: str,
    learner: str,
    submitted_at: dt.datetime,
    due_at: dt.datetime | None = None,
    late_policy: LatePolicy | None = None,
) -> AutogradeResult | None:
    """The submission's grade as the gradebook has it now (an instructor's manual scores,
    extra credit and comments included) with regenerated feedback; None when the gradebook's
    entry is another submission's (the learner's next one was autograded since). Runs no
    code: the autograded notebooks stay as they are."""
    check_name("assignment", assignment, ASSIGNMENT_NAME_PATTERN)
    check_name("learner", learner, USERNAME_PATTERN)
    course = open_course(course_dir)
    manifest = course.manifest(assignment)
    policy = late_policy or LatePolicy()
    with course.learner_lock(learner):
        with Gradebook(course.db_url, course.slug) as gb:
            entry = gradebook_entry(gb, assignment, learner)
        if entry is None or not same_submission(entry.submitted_at, submitted_at):
            return None
        autograded = course.path("autograded", assignment, learner)
        missing = [n for n in sorted(manifest["notebooks"])
                   if not (autograded / f"{n}.ipynb").is_file()]
        feedback = generate_feedback(course, assignment, learner)
        return collect_result(
            course, assignment, learner, manifest, policy, days_late(due_at, submitted_at),
            missing, feedback,
        )
