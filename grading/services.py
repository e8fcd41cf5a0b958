"""What the API changes: submit, release and unrelease, regrade, release feedback.

The handlers in ``grading.app`` decide *who* may call these; these functions decide *what*
happens, and raise ``servicekit.errors.ServiceError`` (an HTTP status, a code, a sentence) when
it cannot.

A submission is durable before :func:`submit` returns: its files are unpacked into a folder of
their own, fsynced, moved into ``GRADER_ROOT/submissions/<id>/``, and its row and its
``autograde`` job are committed in one transaction. A failure at any step removes what was
written, so a refused or broken upload leaves nothing behind.

Release and unrelease call ``grading.release`` (or any object with the same functions:
:class:`CourseOps`), which runs nbgrader's ``generate_assignment`` in the course's nbgrader
course directory.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import time
import uuid
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from sqlalchemy import select

from courses.course_file import LATE_MODES, CourseFileError, LatePolicy, load_course
from grading.archive import ArchiveError, fsync_dir, unpack
from grading.queue import enqueue, has_open_job
from grading.settings import Settings
from grading.store import Database, JobKind, Release, Submission, SubmissionStatus, utcnow
from servicekit.errors import ServiceError, invalid, not_found

log = logging.getLogger(__name__)

INCOMING = ".incoming"  # unpacked uploads not yet committed
STALE_INCOMING_SECONDS = 3600


class CourseOps(Protocol):
    """What the service needs from ``grading.release``; ``course_dir`` is the course's nbgrader
    course directory (``Settings.nbgrader_course_dir``)."""

    def release(self, course_dir: Path, assignment: str) -> Any: ...

    def unrelease(self, course_dir: Path, assignment: str) -> Any: ...

    def released_files(self, course_dir: Path, assignment: str) -> Path: ...


def nbgrader_course_ops() -> CourseOps:
    """``grading.release``: nbgrader's release in the course directory."""
    # Imported here for its cost only: nbgrader takes seconds to import, which the API pays at
    # its first release or fetch instead of at start (tests pass fakes and never pay it).
    # grading.release never imports this module.
    from grading import release as nbgrader_release  # (not this module's release())

    return nbgrader_release  # type: ignore[return-value]


# -- submissions --------------------------------------------------------------------------------


def submit(
    db: Database,
    settings: Settings,
    course: str,
    assignment: str,
    learner: str,
    upload: BinaryIO,
) -> Submission:
    """Keep ``upload`` (a tar of the learner's assignment folder) as a new submission and queue
    its autograde. Raises :class:`ServiceError` (nothing kept) when the assignment is not
    released or the archive is refused."""
    with db.transaction() as session:
        release = session.get(Release, (course, assignment))
    if release is None:
        raise not_found(f"{assignment!r} is not released in {course}")
    submission_id = uuid.uuid4().hex
    incoming = settings.submissions_dir / INCOMING / submission_id
    final = settings.submissions_dir / submission_id
    try:
        files = unpack(upload, incoming / "files", settings.max_submission_files,
                       settings.max_submission_bytes, settings.max_submission_folders)
        os.replace(incoming, final)
        fsync_dir(final.parent)
    except ArchiveError as exc:
        shutil.rmtree(incoming, ignore_errors=True)
        raise invalid(f"The upload was refused: {exc}") from None
    except BaseException:
        shutil.rmtree(incoming, ignore_errors=True)
        raise
    submitted_at = utcnow()
    try:
        with db.transaction() as session:
            submission = Submission(
                id=submission_id,
                course=course,
                assignment=assignment,
                learner=learner,
                submitted_at=submitted_at,
                status=SubmissionStatus.QUEUED,
                message="",
                breakdown=[],
                files_path=str(final / "files"),
                feedback_released=False,
            )
            session.add(submission)
            session.flush()  # the row before its job (foreign key)
            enqueue(session, submission_id, JobKind.AUTOGRADE, submitted_at)
    except BaseException:
        shutil.rmtree(final, ignore_errors=True)
        raise
    log.info("submission %s: %s/%s by %s, %d files", submission_id, course, assignment, learner,
             len(files))
    return submission


def remove_stale_incoming(settings: Settings, now: float | None = None) -> None:
    """Remove uploads left half-unpacked by a crash (an hour old: none is still arriving)."""
    folder = settings.submissions_dir / INCOMING
    if not folder.is_dir():
        return
    cutoff = (now or time.time()) - STALE_INCOMING_SECONDS
    for entry in folder.iterdir():
        if entry.stat().st_mtime < cutoff:
            shutil.rmtree(entry, ignore_errors=True)


def _submissions(
    session, course: str, assignment: str, ids: Iterable[str] | None
) -> list[Submission]:
    query = select(Submission).where(
        Submission.course == course, Submission.assignment == assignment
    )
    wanted = None if ids is None else set(ids)
    if wanted is not None:
        query = query.where(Submission.id.in_(wanted))
    found = list(session.scalars(query.order_by(Submission.submitted_at, Submission.id)))
    if wanted is not None:
        missing = wanted - {s.id for s in found}
        if missing:
            raise invalid(f"no submissions {', '.join(sorted(missing))} of {assignment!r} in "
                          f"{course}")
    return found


def regrade(db: Database, course: str, assignment: str, ids: Iterable[str] | None) -> list[str]:
    """Queue the autograde of the named submissions (all of the assignment's when ``ids`` is
    None) again; those already waiting are left as they are. Returns the ids queued."""
    queued = []
    with db.transaction() as session:
        for submission in _submissions(session, course, assignment, ids):
            if has_open_job(session, submission.id, JobKind.AUTOGRADE):
                continue
            submission.status = SubmissionStatus.QUEUED
            enqueue(session, submission.id, JobKind.AUTOGRADE)
            queued.append(submission.id)
    return queued


def release_feedback(
    db: Database, course: str, assignment: str, ids: Iterable[str] | None, push: bool
) -> list[str]:
    """Let learners fetch the feedback of the named graded submissions (all when ``ids`` is
    None) and, when ``push``, send it to the LMS with the grade. Returns the ids released."""
    released = []
    with db.transaction() as session:
        for submission in _submissions(session, course, assignment, ids):
            if submission.feedback_released or submission.status not in {
                SubmissionStatus.GRADED, SubmissionStatus.INVALID
            }:
                continue
            submission.feedback_released = True
            if push:
                enqueue(session, submission.id, JobKind.PUSH)
            released.append(submission.id)
    return released


# -- releases -----------------------------------------------------------------------------------


def _due_at(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(str(value))
    except ValueError:
        raise invalid("due_at must be an ISO 8601 date and time with a time zone") from None
    if parsed.tzinfo is None:
        raise invalid("due_at needs a time zone, e.g. 2027-01-31T23:59:00+00:00")
    return parsed.astimezone(dt.UTC)


def _late_policy(value: Any) -> LatePolicy:
    if not isinstance(value, dict) or value.get("mode") not in LATE_MODES:
        raise invalid(f"late_policy must be an object with a mode: {', '.join(LATE_MODES)}")
    percent = value.get("percent_per_day", 0)
    cutoff = value.get("cutoff_days", 0)
    if isinstance(percent, bool) or not isinstance(percent, int | float) or not 0 <= percent <= 100:
        raise invalid("late_policy.percent_per_day must be a number from 0 to 100")
    if isinstance(cutoff, bool) or not isinstance(cutoff, int) or cutoff < 0:
        raise invalid("late_policy.cutoff_days must be a whole number, 0 or more")
    return LatePolicy(mode=value["mode"], percent_per_day=float(percent), cutoff_days=cutoff)


RELEASE_OPTIONS = {"due_at", "late_policy", "feedback"}


def release(
    db: Database,
    settings: Settings,
    ops: CourseOps,
    course: str,
    assignment: str,
    options: dict[str, Any],
) -> tuple[Release, bool]:
    """Release ``assignment`` (again): nbgrader ``generate_assignment`` through ``ops``. Its due
    date and late policy come from ``course.yml`` unless ``options`` (what the LMS's assignment
    page says) give them; ``feedback``: ``auto`` (default: learners get feedback once graded)
    or ``manual`` (instructors release it). Returns the release and whether it is new."""
    unknown = set(options) - RELEASE_OPTIONS
    if unknown:
        raise invalid(f"unknown release options: {', '.join(sorted(unknown))}")
    folder = settings.studio_course_dir(course)
    if not (folder / "course.yml").is_file():
        raise not_found(f"no course {course!r}")
    try:
        spec = load_course(folder)
    except CourseFileError as exc:  # its text names the file's path on the grader's machine
        raise ServiceError(
            409, "course-file",
            f"The course file (course.yml) cannot be used: {exc.field_name}: {exc.problem}",
        ) from None
    found = next((a for a in spec.assignments if a.name == assignment), None)
    if found is None:
        raise not_found(f"no assignment {assignment!r} in {course}")
    due_at = _due_at(options["due_at"]) if "due_at" in options else found.due
    policy = _late_policy(options["late_policy"]) if "late_policy" in options else (
        found.late_policy
    )
    feedback = options.get("feedback", "auto")
    if feedback not in {"auto", "manual"}:
        raise invalid("feedback must be 'auto' or 'manual'")

    course_dir = settings.nbgrader_course_dir(course)
    ops.release(course_dir, assignment)
    released = Path(ops.released_files(course_dir, assignment))
    notebooks = sorted(p.relative_to(released).as_posix() for p in released.rglob("*.ipynb"))
    with db.transaction() as session:
        row = session.get(Release, (course, assignment))
        created = row is None
        if created:
            row = Release(course=course, assignment=assignment)
            session.add(row)
        row.released_at = utcnow()
        row.due_at = due_at.astimezone(dt.UTC) if due_at else None
        row.late_policy = asdict(policy)
        row.notebooks = notebooks
        row.feedback_auto = feedback == "auto"
    return row, created


def unrelease(
    db: Database, settings: Settings, ops: CourseOps, course: str, assignment: str
) -> None:
    """Withdraw a released assignment from learners; its submissions are kept."""
    with db.transaction() as session:
        if session.get(Release, (course, assignment)) is None:
            raise not_found(f"{assignment!r} is not released in {course}")
    ops.unrelease(settings.nbgrader_course_dir(course), assignment)
    with db.transaction() as session:
        row = session.get(Release, (course, assignment))
        if row is not None:
            session.delete(row)
