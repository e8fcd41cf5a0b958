"""What the API reads: assignments, submissions, feedback folders, the counting grades.

Reads only; who may see what is decided by the handlers (``grading.app``) before they call
these. The counting grade of ``grades.csv`` follows the LMS's rule (``lms.gradebook.services``,
written down in docs/architecture.md): the latest on-time graded submission, else the latest
accepted late one; ``reject`` refuses late work, ``accept`` takes it, ``penalty`` takes
``percent_per_day`` % of the score off per started day late, up to ``cutoff_days`` (0: none).
The LMS's gradebook stays the record; this CSV is the grader's view of the same rule.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from courses.lateness import assess
from courses.naming import assignment_page_path
from grading.queue import place_in_line
from grading.store import Database, Release, Submission, SubmissionStatus


def iso(value: dt.datetime | None) -> str | None:
    """ISO 8601 in UTC, ``Z`` spelled ``+00:00`` as Python and the LMS write it."""
    return value.astimezone(dt.UTC).isoformat() if value else None


def submission_json(submission: Submission) -> dict[str, Any]:
    """A Submission as docs/grading.md defines it."""
    return {
        "id": submission.id,
        "course": submission.course,
        "assignment": submission.assignment,
        "learner": submission.learner,
        "submitted_at": iso(submission.submitted_at),
        "status": submission.status,
        "late": submission.late,
        "score": submission.score,
        "max_score": submission.max_score,
        "message": submission.message,
    }


def release_of(db: Database, course: str, assignment: str) -> Release | None:
    with db.transaction() as session:
        return session.get(Release, (course, assignment))


def submissions(
    db: Database, course: str, assignment: str | None = None, learner: str | None = None
) -> list[Submission]:
    """Submissions of a course (or one assignment, or one learner's), oldest first."""
    query = select(Submission).where(Submission.course == course)
    if assignment is not None:
        query = query.where(Submission.assignment == assignment)
    if learner is not None:
        query = query.where(Submission.learner == learner)
    with db.transaction() as session:
        return list(session.scalars(query.order_by(Submission.submitted_at, Submission.id)))


def submission(db: Database, course: str, assignment: str, submission_id: str) -> Submission | None:
    with db.transaction() as session:
        found = session.get(Submission, submission_id)
    if found is None or (found.course, found.assignment) != (course, assignment):
        return None
    return found


def latest_submission(
    db: Database, course: str, assignment: str, learner: str
) -> Submission | None:
    """``learner``'s newest submission of ``assignment`` (one row, on the owner index)."""
    query = (
        select(Submission)
        .where(Submission.course == course, Submission.assignment == assignment,
               Submission.learner == learner)
        .order_by(Submission.submitted_at.desc(), Submission.id.desc())
        .limit(1)
    )
    with db.transaction() as session:
        return session.scalars(query).first()


# -- a submission's grading status, for the learner --------------------------------------------


class State:
    """What a learner is told of a submission (docs/grading.md, "Grading status"): the
    statuses of ``SubmissionStatus`` in a learner's words, ``failed`` (the grader's fault)
    as ``could-not-be-graded``."""

    QUEUED = "queued"
    GRADING = "grading"
    GRADED = "graded"
    COULD_NOT_BE_GRADED = "could-not-be-graded"
    INVALID = "invalid"
    FINAL = (GRADED, COULD_NOT_BE_GRADED, INVALID)


COULD_NOT_BE_GRADED = (
    "the grader had a problem on its side. Your submission is kept: submit again later, or "
    "tell your instructor."
)
"""The learner's sentence for a submission the grader gave up on: why is for the studio's admins
(the job's error is in the grader's log and database), never a traceback or a path."""


def submission_status(db: Database, found: Submission, lms_url: str) -> dict[str, Any]:
    """The grading status of ``found`` as docs/grading.md defines it: ``state``, ``ahead``
    (gradings a worker takes first, while queued), the score once graded, ``feedback_url``
    (the assignment's LMS page: ``lms_url`` and ``courses.naming.assignment_page_path``) once
    there is a result, and ``message``: the result's sentences for the learner, or for a
    submission the grader gave up on :data:`COULD_NOT_BE_GRADED` (never the error itself).
    The row is read again with its job's place in one transaction: three statements."""
    waiting = (SubmissionStatus.QUEUED, SubmissionStatus.GRADING)
    with db.transaction() as session:
        found = session.get(Submission, found.id) or found
        place = place_in_line(session, found.id) if found.status in waiting else None
    ahead = None
    if found.status == SubmissionStatus.GRADED:
        state = State.GRADED
    elif found.status == SubmissionStatus.INVALID:
        state = State.INVALID
    elif found.status == SubmissionStatus.FAILED:
        state = State.COULD_NOT_BE_GRADED
    elif place is not None and not place.running:  # waiting, or again after a lost worker
        state, ahead = State.QUEUED, place.ahead
    elif place is not None or found.status == SubmissionStatus.GRADING:
        state = State.GRADING
    else:  # queued without an open job: the moment between two transactions of a worker
        state, ahead = State.QUEUED, 0
    result = state in (State.GRADED, State.INVALID)
    if state == State.COULD_NOT_BE_GRADED:
        message = COULD_NOT_BE_GRADED
    else:
        message = found.message if result else ""
    page = f"{lms_url.rstrip('/')}{assignment_page_path(found.course, found.assignment)}"
    return {
        "id": found.id,
        "course": found.course,
        "assignment": found.assignment,
        "learner": found.learner,
        "submitted_at": iso(found.submitted_at),
        "late": found.late,
        "state": state,
        "ahead": ahead,
        "score": found.score if state == State.GRADED else None,
        "max_score": found.max_score if state == State.GRADED else None,
        "feedback_url": page if result else None,
        "message": message,
    }


def assignments(db: Database, course: str, learner: str) -> list[dict[str, Any]]:
    """The course's released assignments, each with ``learner``'s own submissions and the ids
    of those whose feedback ``learner`` may fetch."""
    with db.transaction() as session:
        releases = list(session.scalars(
            select(Release).where(Release.course == course).order_by(Release.assignment)
        ))
    own = submissions(db, course, learner=learner)
    listed = []
    for release in releases:
        mine = [s for s in own if s.assignment == release.assignment]
        listed.append({
            "assignment": release.assignment,
            "released_at": iso(release.released_at),
            "due_at": iso(release.due_at),
            "notebooks": list(release.notebooks or []),
            "submissions": [submission_json(s) for s in mine],
            "feedback": [s.id for s in mine if feedback_folder(s) is not None],
        })
    return listed


def feedback_folder(found: Submission, released_only: bool = True) -> Path | None:
    """The submission's feedback files, if there are any (and, for learners, released)."""
    if (released_only and not found.feedback_released) or not found.feedback_path:
        return None
    folder = Path(found.feedback_path)
    return folder if folder.is_dir() else None


# -- the counting grade -----------------------------------------------------------------------


@dataclass(frozen=True)
class CountingGrade:
    learner: str
    assignment: str
    submission: Submission
    days_late: int
    penalty: float

    @property
    def final_score(self) -> float:
        return round(max((self.submission.score or 0.0) - self.penalty, 0.0), 2)


def _lateness(release: Release | None, found: Submission) -> tuple[int, bool, float]:
    """(started days late, rejected, penalty points) under the release's late policy: the
    studio's one lateness rule, :func:`courses.lateness.assess`."""
    if release is None:
        return 0, False, 0.0
    verdict = assess(release.policy, release.due_at, found.submitted_at, found.score or 0.0)
    return verdict.days_late, verdict.rejected, float(verdict.penalty)


def counting_grades(db: Database, course: str) -> list[CountingGrade]:
    """One grade per learner and assignment that has one, by assignment then learner."""
    with db.transaction() as session:
        rows = session.scalars(select(Release).where(Release.course == course))
        releases = {r.assignment: r for r in rows}
    by_key: dict[tuple[str, str], list[tuple[Submission, int, float]]] = {}
    for found in submissions(db, course):
        if found.status != SubmissionStatus.GRADED:
            continue
        days, rejected, penalty = _lateness(releases.get(found.assignment), found)
        if rejected:
            continue
        by_key.setdefault((found.assignment, found.learner), []).append((found, days, penalty))
    grades = []
    for (assignment, learner), candidates in sorted(by_key.items()):
        pool = [c for c in candidates if c[1] == 0] or candidates
        chosen, days, penalty = max(
            pool, key=lambda c: (c[0].submitted_at, c[0].graded_at or c[0].submitted_at, c[0].id)
        )
        grades.append(CountingGrade(learner, assignment, chosen, days, penalty))
    return grades


CSV_COLUMNS = [
    "course", "assignment", "learner", "submission_id", "submitted_at", "late", "days_late",
    "score", "max_score", "late_penalty", "final_score",
]


def grades_csv(db: Database, course: str) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for grade in counting_grades(db, course):
        found = grade.submission
        writer.writerow([
            course, grade.assignment, grade.learner, found.id, iso(found.submitted_at),
            "yes" if grade.days_late else "no", grade.days_late, found.score, found.max_score,
            grade.penalty, grade.final_score,
        ])
    return out.getvalue()
