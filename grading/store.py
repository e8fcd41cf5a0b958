"""The grader's own database: releases, submissions (every one kept) and the job queue.

The tables are SQLAlchemy 2 models; the database is a ``servicekit.store.Store`` (SQLite, the
embedded default, or PostgreSQL by ``GRADER_DB_URL``; tables created on start; aware UTC times
on both). On SQLite every commit is durable (``synchronous=FULL``: a commit before the 202
survives power loss) and every transaction starts with ``BEGIN IMMEDIATE``: workers read and
then write, and writes are serialised on SQLite anyway.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from courses.course_file import LatePolicy
from servicekit.store import Store, UTCDateTime, utcnow

__all__ = ["Base", "Database", "GradebookState", "Job", "JobKind", "Release", "Submission",
           "SubmissionStatus", "utcnow"]


class Base(DeclarativeBase):
    pass


class SubmissionStatus:
    """The statuses of docs/grading.md; ``failed`` is the grader's fault, ``invalid`` the
    notebook's."""

    QUEUED = "queued"
    GRADING = "grading"
    GRADED = "graded"
    INVALID = "invalid"
    FAILED = "failed"
    ALL = (QUEUED, GRADING, GRADED, INVALID, FAILED)


class JobKind:
    AUTOGRADE = "autograde"
    """Grade the submission and record the result."""
    PUSH = "push"
    """Send the recorded result to the LMS (queued by the transaction that recorded it)."""
    SYNC = "sync"
    """Take the submission's grade from nbgrader's gradebook again (an instructor graded by
    hand in the formgrader), record it with fresh feedback and queue its push
    (``grading.manual_grades`` queues it)."""


class Release(Base):
    """An assignment released to a course's learners. Unreleasing deletes the row; the
    assignment's submissions stay."""

    __tablename__ = "grader_releases"

    course: Mapped[str] = mapped_column(String(100), primary_key=True)
    assignment: Mapped[str] = mapped_column(String(100), primary_key=True)
    released_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    late_policy: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    notebooks: Mapped[list[str]] = mapped_column(JSON, default=list)
    feedback_auto: Mapped[bool] = mapped_column(Boolean, default=True)
    """Learners get feedback as soon as a submission is graded; else when instructors release it."""

    @property
    def policy(self) -> LatePolicy:
        return LatePolicy(**self.late_policy) if self.late_policy else LatePolicy()


class Submission(Base):
    """One upload of a learner's assignment folder. Never deleted: the history is the record."""

    __tablename__ = "grader_submissions"
    __table_args__ = (Index("ix_grader_submissions_owner", "course", "assignment", "learner"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    """A UUID in hex; also the LMS's ``submission_id``."""
    course: Mapped[str] = mapped_column(String(100))
    assignment: Mapped[str] = mapped_column(String(100))
    learner: Mapped[str] = mapped_column(String(100))
    submitted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(20), default=SubmissionStatus.QUEUED)
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    score: Mapped[float | None] = mapped_column(Float)
    max_score: Mapped[float | None] = mapped_column(Float)
    message: Mapped[str] = mapped_column(Text, default="")
    breakdown: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    files_path: Mapped[str] = mapped_column(Text)
    """The uploaded files, as unpacked (``GRADER_ROOT/submissions/<id>/files``)."""
    feedback_path: Mapped[str | None] = mapped_column(Text)
    """The feedback HTML files of the grade that counts for this submission."""
    feedback_released: Mapped[bool] = mapped_column(Boolean, default=False)
    graded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    pushed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    """When the LMS last accepted this submission's grade."""


class GradebookState(Base):
    """What nbgrader's gradebook held for a submission when the grader last recorded its grade
    (``grading.gradebook.GradebookEntry.fingerprint``). A gradebook that differs from it
    was changed by hand: ``grading.manual_grades`` queues a ``sync``. A table of its own, so an
    existing database gains it on start (tables are created, never altered)."""

    __tablename__ = "grader_gradebook_states"

    submission_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("grader_submissions.id"), primary_key=True
    )
    fingerprint: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Job(Base):
    """A unit of work on a submission, claimed by one worker at a time (see ``grading.queue``)."""

    __tablename__ = "grader_jobs"
    __table_args__ = (Index("ix_grader_jobs_open", "done_at", "run_after", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    submission_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("grader_submissions.id"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    run_after: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    """Not claimed before this time (a retry waits a little longer each time)."""
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    """Claims so far, counted at claim time, so a job that kills its worker is given up too."""
    done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    failed: Mapped[bool] = mapped_column(Boolean, default=False)
    """Done without success: given up after ``GRADER_MAX_ATTEMPTS`` or refused for good."""
    last_error: Mapped[str] = mapped_column(Text, default="")


# -- the database ------------------------------------------------------------------------------


class Database(Store):
    """The grader's database; ``transaction()`` is the one way to write."""

    metadata = Base.metadata
    variable = "GRADER_DB_URL"
    tables_lock = 4_721_305  # any constant: the same in every grader process
    sqlite_synchronous = "FULL"
    sqlite_immediate = True
