"""Manual grades to the LMS: notice what instructors changed in nbgrader's gradebook, queue a sync.

Instructors grade by hand in nbgrader's formgrader (``python -m grading formgrader <course>``),
which writes nbgrader's gradebook directly: ``Grade.manual_score``, ``Grade.extra_credit`` and
comments. Nothing tells the grader, so the grader looks: :func:`scan` reads every course's
gradebook entries (``grading.gradebook.gradebook_entries``: one per learner and assignment,
with a fingerprint of its grades and comments) and compares each with the fingerprint recorded
when that submission's grade was last recorded (``GradebookState``). A difference queues a
``sync`` job on the durable queue (``grading.queue``), which a worker runs like any other
(``grading.worker``, with ``grading.manual_sync``): it reads the score and breakdown again,
regenerates the feedback, records them and queues the usual ``push``, so the LMS gets the new
grade under the same submission id (idempotent there).

Which submission a gradebook entry is: nbgrader keeps one entry per learner and assignment,
the most recently autograded submission's, stamped with that submission's ``submitted_at``
(the ``timestamp.txt`` the grader writes). :func:`same_submission` is that rule; an entry that
matches no graded submission (a grading still under way, a learner the grader never saw) is
left alone, and so is a submission waiting for its autograde or already waiting for a sync.

Why a scan in the API process: the formgrader is nbgrader's own code, which has no hook for
"a grade changed", and the gradebook may be SQLite or PostgreSQL; comparing fingerprints works
on both and needs no change to nbgrader. The API process (``python -m grading serve``) runs one
scan at a time every ``GRADER_GRADEBOOK_SCAN_SECONDS``, off its event loop; workers on other
machines never scan. Two API processes scanning the same database may both queue a sync: the
second finds nothing new to send (the LMS write is idempotent), so no lock is taken for it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import select
from tornado.ioloop import IOLoop, PeriodicCallback

from grading.queue import enqueue, has_open_job
from grading.settings import Settings
from grading.store import Database, GradebookState, JobKind, Submission, SubmissionStatus, utcnow

log = logging.getLogger(__name__)

SAME_TIME = dt.timedelta(milliseconds=1)  # nbgrader keeps microseconds; SQLite and PostgreSQL do


class Entry(Protocol):
    """A gradebook entry (``grading.gradebook.GradebookEntry`` or a test's own)."""

    assignment: str
    learner: str
    submitted_at: dt.datetime
    fingerprint: str


ReadEntries = Callable[[Path], Iterable[Entry]]


def nbgrader_entries(course_dir: Path) -> Iterable[Entry]:
    """The course's entries in nbgrader's gradebook (``grading.gradebook``)."""
    # Imported here for its cost only: nbgrader takes seconds to import, and the API process
    # that imports this module needs it at its first scan, not at start (nor tests that pass
    # their own ``read``). grading.gradebook never imports this module.
    from grading import gradebook

    return gradebook.gradebook_entries(course_dir)


def same_submission(entry_submitted_at: dt.datetime, submitted_at: dt.datetime) -> bool:
    """Whether a gradebook entry stamped ``entry_submitted_at`` is the submission made at
    ``submitted_at``."""
    return abs(entry_submitted_at - submitted_at) < SAME_TIME


def record_state(session: Any, submission_id: str, fingerprint: str | None) -> None:
    """Remember the gradebook's fingerprint for a grade just recorded, in the caller's
    transaction."""
    if not fingerprint:
        return
    state = session.get(GradebookState, submission_id)
    if state is None:
        session.add(GradebookState(submission_id=submission_id, fingerprint=fingerprint,
                                   recorded_at=utcnow()))
    else:
        state.fingerprint, state.recorded_at = fingerprint, utcnow()


def graded_courses(db: Database) -> list[str]:
    with db.transaction() as session:
        return sorted(set(session.scalars(
            select(Submission.course).where(Submission.status == SubmissionStatus.GRADED)
        )))


def scan(db: Database, settings: Settings, read: ReadEntries = nbgrader_entries) -> list[str]:
    """Queue a ``sync`` for each graded submission whose gradebook entry changed since its
    grade was recorded; the ids queued. A course whose gradebook cannot be read is logged and
    skipped (the next scan tries again)."""
    queued: list[str] = []
    for course in graded_courses(db):
        course_dir = settings.nbgrader_course_dir(course)
        if not course_dir.is_dir():
            continue
        try:
            entries = list(read(course_dir))
        except Exception:
            log.exception("cannot read the gradebook of %s", course)
            continue
        queued += queue_changed(db, course, entries)
    if queued:
        log.info("manual grades changed: sync queued for %s", ", ".join(queued))
    return queued


def queue_changed(db: Database, course: str, entries: list[Entry]) -> list[str]:
    """The part of :func:`scan` for one course, in one transaction."""
    queued = []
    with db.transaction() as session:
        rows = session.execute(
            select(Submission.id, Submission.assignment, Submission.learner,
                   Submission.submitted_at, GradebookState.fingerprint)
            .outerjoin(GradebookState, GradebookState.submission_id == Submission.id)
            .where(Submission.course == course, Submission.status == SubmissionStatus.GRADED)
        ).all()
        by_owner: dict[tuple[str, str], list[Any]] = {}
        for row in rows:
            by_owner.setdefault((row.assignment, row.learner), []).append(row)
        for entry in entries:
            match = next(
                (r for r in by_owner.get((entry.assignment, entry.learner), [])
                 if same_submission(entry.submitted_at, r.submitted_at)),
                None,
            )
            if match is None or match.fingerprint == entry.fingerprint:
                continue
            if any(has_open_job(session, match.id, kind)
                   for kind in (JobKind.AUTOGRADE, JobKind.SYNC)):
                continue
            enqueue(session, match.id, JobKind.SYNC)
            queued.append(match.id)
    return queued


class GradebookWatcher:
    """Runs :func:`scan` every ``GRADER_GRADEBOOK_SCAN_SECONDS`` in the API process, off its
    event loop and never twice at once (a slow scan delays the next one)."""

    def __init__(self, db: Database, settings: Settings, read: ReadEntries = nbgrader_entries):
        self.db = db
        self.settings = settings
        self.read = read
        self.busy = False
        self.callback = PeriodicCallback(self.tick, settings.gradebook_scan_seconds * 1000)

    def start(self) -> None:
        self.callback.start()

    def stop(self) -> None:
        self.callback.stop()

    async def tick(self) -> None:
        if self.busy:
            return
        self.busy = True
        try:
            await IOLoop.current().run_in_executor(None, scan, self.db, self.settings, self.read)
        except Exception:  # the database is away for a moment: the next tick tries again
            log.exception("scanning the gradebooks failed")
        finally:
            self.busy = False
