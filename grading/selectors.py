"""What the API reads: assignments, submissions, feedback folders, and the queue for admins and
for Prometheus.

Reads only; who may see what is decided by the handlers (``grading.app``) before they call
these, and how much of a submission a caller is shown by their :class:`Audience`.

A submission's grade as the record has it is the LMS's: lateness, the late penalty and which of
a learner's grades counts are decided by the LMS (docs/architecture.md, "Which grade counts")
and shown here as the LMS answered the grade's push (``recorded``, kept by ``grading.worker``),
never decided again; the course's grade export (``grades.csv``) is the LMS's.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
from pathlib import Path
from typing import Any

from sqlalchemy import case, func, select

from courses.course_file import CourseFileError, load_course
from courses.naming import assignment_page_path
from courses.solutions import without_hidden_tests
from grading.metrics import QueueMeasure
from grading.queue import GRADER_FAULT, place_in_line, waiting_jobs
from grading.store import Database, Job, JobKind, Release, Submission, SubmissionStatus


class Audience(enum.IntEnum):
    """Who is shown a submission, by how much they may see of a failure: learners a sentence
    (``message``); instructors also its ``error_id`` (their admins find it in the grader's
    log); admins also its ``details`` (the exception and traceback)."""

    LEARNER = 1
    INSTRUCTOR = 2
    ADMIN = 3


def iso(value: dt.datetime | None) -> str | None:
    """ISO 8601 in UTC, ``Z`` spelled ``+00:00`` as Python and the LMS write it."""
    return value.astimezone(dt.UTC).isoformat() if value else None


def recorded_json(submission: Submission) -> dict[str, Any] | None:
    """The grade as the LMS recorded it (its answer to the last push it accepted), or None."""
    if submission.lms_status is None:
        return None
    return {
        "status": submission.lms_status,
        "score": submission.lms_score,
        "max_score": submission.lms_max_score,
        "late": submission.lms_late,
        "late_penalty": submission.lms_late_penalty,
        "final_score": submission.lms_final_score,
        "counts": submission.lms_counts,
        "recorded_at": iso(submission.pushed_at),
    }


def submission_json(
    submission: Submission, audience: Audience = Audience.LEARNER
) -> dict[str, Any]:
    """A Submission as docs/grading.md defines it, as much as ``audience`` may see."""
    shown = {
        "id": submission.id,
        "course": submission.course,
        "assignment": submission.assignment,
        "learner": submission.learner,
        "submitted_at": iso(submission.submitted_at),
        "status": submission.status,
        "late": submission.lms_late,
        "score": submission.score,
        "max_score": submission.max_score,
        "message": submission.message,
        "recorded": recorded_json(submission),
    }
    if audience >= Audience.INSTRUCTOR and submission.error_id:
        shown["error_id"] = submission.error_id
    if audience >= Audience.ADMIN and submission.error_details:
        shown["details"] = submission.error_details
    return shown


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


def submission_status(db: Database, found: Submission, lms_url: str) -> dict[str, Any]:
    """The grading status of ``found`` as docs/grading.md defines it: ``state``, ``ahead``
    (gradings a worker takes first, while queued), the score once graded, ``feedback_url``
    (the assignment's LMS page: ``lms_url`` and ``courses.naming.assignment_page_path``) once
    there is a result, and ``message``: the result's sentences for the learner, or for a
    submission the grader gave up on :data:`grading.queue.GRADER_FAULT` (never the error
    itself).
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
        message = GRADER_FAULT
    else:
        message = found.message if result else ""
    page = f"{lms_url.rstrip('/')}{assignment_page_path(found.course, found.assignment)}"
    return {
        "id": found.id,
        "course": found.course,
        "assignment": found.assignment,
        "learner": found.learner,
        "submitted_at": iso(found.submitted_at),
        "late": found.lms_late,
        "state": state,
        "ahead": ahead,
        "score": found.score if state == State.GRADED else None,
        "max_score": found.max_score if state == State.GRADED else None,
        "feedback_url": page if result else None,
        "message": message,
    }


def assignments(
    db: Database, course: str, learner: str, audience: Audience = Audience.LEARNER
) -> list[dict[str, Any]]:
    """The course's released assignments, each with ``learner``'s own submissions (as
    ``audience`` may see them) and the ids of those whose feedback ``learner`` may fetch."""
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
            "submissions": [submission_json(s, audience) for s in mine],
            "feedback": [s.id for s in mine if feedback_folder(s) is not None],
        })
    return listed


def feedback_folder(found: Submission, released_only: bool = True) -> Path | None:
    """The submission's feedback files, if there are any (and, for learners, released)."""
    if (released_only and not found.feedback_released) or not found.feedback_path:
        return None
    folder = Path(found.feedback_path)
    return folder if folder.is_dir() else None


# -- a submitted notebook, for peer review -----------------------------------------------------


def shows_test_results(course_folder: Path, assignment: str) -> bool:
    """Whether course.yml lets reviewers see ``assignment``'s per-test results
    (``peer_review.show_test_results``); a course file that cannot be read lets them see none."""
    try:
        spec = load_course(course_folder)
    except CourseFileError:
        return False
    found = next((a for a in spec.assignments if a.name == assignment), None)
    return bool(found and found.peer_review.enabled and found.peer_review.show_test_results)


def _submitted_notebook_names(db: Database, found: Submission) -> list[str]:
    """The released notebooks of the submission's assignment (nothing else of the learner's
    folder), or while it is not released the ``.ipynb`` files at the top of the folder."""
    release = release_of(db, found.course, found.assignment)
    if release is not None and release.notebooks:
        return list(release.notebooks)
    folder = Path(found.files_path)
    return sorted(p.name for p in folder.glob("*.ipynb")) if folder.is_dir() else []


def review_copy(db: Database, found: Submission, with_tests: bool) -> dict[str, Any]:
    """What a reviewer may be shown of ``found``: its notebooks as submitted, with hidden tests
    removed (``courses.solutions.without_hidden_tests``), and the autograder's per-test results
    (``breakdown``: ids and points, never test code) when ``with_tests``, else null. A notebook
    the learner did not submit is ``{"name", "notebook": null, "problem"}``."""
    folder = Path(found.files_path).resolve()
    notebooks = []
    for name in _submitted_notebook_names(db, found):
        path = (folder / name).resolve()
        problem = ""
        notebook = None
        if not path.is_relative_to(folder) or not path.is_file():
            problem = "not submitted"
        else:
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError, UnicodeDecodeError):
                data = None
            if isinstance(data, dict) and isinstance(data.get("cells"), list):
                notebook = without_hidden_tests(data)
            else:
                problem = "not a readable notebook"
        notebooks.append({"name": name, "notebook": notebook, "problem": problem})
    tests = None
    if with_tests and found.status == SubmissionStatus.GRADED:
        tests = [
            {key: row.get(key) for key in ("id", "notebook", "score", "max_score")}
            for row in found.breakdown or []
        ]
    return {
        "submission": {"id": found.id, "learner": found.learner,
                       "submitted_at": iso(found.submitted_at), "status": found.status},
        "notebooks": notebooks,
        "tests": tests,
    }


# -- for admins -----------------------------------------------------------------------------


def queue_status(db: Database) -> dict[str, Any]:
    """The queue as admins see it: open jobs by kind, those running now, and the jobs waiting
    for an unavailable grading sandbox with the reason (``grading.queue.waiting_jobs``)."""
    now = dt.datetime.now(dt.UTC)
    with db.transaction() as session:
        open_jobs = dict(session.execute(
            select(Job.kind, func.count()).where(Job.done_at.is_(None)).group_by(Job.kind)
        ).all())
        running = session.scalar(
            select(func.count()).where(Job.done_at.is_(None), Job.lease_until > now)
        )
    waiting = waiting_jobs(db)
    return {
        "open": {kind: int(count) for kind, count in sorted(open_jobs.items())},
        "running": int(running or 0),
        "waiting_for_sandbox": waiting,
    }


def queue_measures(db: Database, now: dt.datetime | None = None) -> dict[str, QueueMeasure]:
    """The open jobs of every kind for Prometheus (``grading.metrics.QueueCollector``), in one
    statement on the open-jobs index: how many a worker holds now (``running``), how many were
    put back to wait for the grading sandbox (``sandbox_wait``), the rest (``waiting``: for a
    worker, or for their retry), and when the oldest was queued."""
    at = now or dt.datetime.now(dt.UTC)
    running = Job.lease_until.is_not(None) & (Job.lease_until > at)
    sandbox_wait = ~running & Job.waiting_since.is_not(None)
    with db.transaction() as session:
        rows = session.execute(
            select(
                Job.kind,
                func.count(),
                func.sum(case((running, 1), else_=0)),
                func.sum(case((sandbox_wait, 1), else_=0)),
                func.min(Job.created_at),
            ).where(Job.done_at.is_(None)).group_by(Job.kind)
        ).all()
    measures = {kind: QueueMeasure({}, None)
                for kind in (JobKind.AUTOGRADE, JobKind.PUSH, JobKind.SYNC)}
    for kind, total, holding, waiting_for_sandbox, oldest in rows:
        holding, waiting_for_sandbox = int(holding or 0), int(waiting_for_sandbox or 0)
        states = {"running": holding, "sandbox_wait": waiting_for_sandbox,
                  "waiting": int(total) - holding - waiting_for_sandbox}
        measures[kind] = QueueMeasure(states, oldest)
    return measures
