"""The grader's own database: releases, submissions (every one kept) and the job queue.

The tables are SQLAlchemy 2 models; the database is a ``servicekit.store.Store`` (SQLite, the
embedded default, or PostgreSQL by ``GRADER_DB_URL``; the tables are made and changed by the
revisions in ``grading/migrations/``, run on start; aware UTC times on both). On SQLite every
commit is durable (``synchronous=FULL``: a commit before the 202 survives power loss) and every
transaction starts with ``BEGIN IMMEDIATE``: workers read and then write, and writes are
serialised on SQLite anyway.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
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
    unused_late: Mapped[bool] = mapped_column("late", Boolean, default=False)
    """Unused (always False): the column ``late`` once held the grader's own idea of lateness;
    lateness is the LMS's, :attr:`lms_late`. Still in the table (``NOT NULL``): no revision has
    dropped it yet."""
    score: Mapped[float | None] = mapped_column(Float)
    """The grading's score, before any late penalty (what is pushed to the LMS)."""
    max_score: Mapped[float | None] = mapped_column(Float)
    message: Mapped[str] = mapped_column(Text, default="")
    """A sentence for the learner: what the grading found, or why it failed. Never an
    exception's text: that is :attr:`error_details`, for admins."""
    breakdown: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    files_path: Mapped[str] = mapped_column(Text)
    """The uploaded files, as unpacked (``GRADER_ROOT/submissions/<id>/files``)."""
    feedback_path: Mapped[str | None] = mapped_column(Text)
    """The feedback HTML files of the grade that counts for this submission."""
    feedback_released: Mapped[bool] = mapped_column(Boolean, default=False)
    graded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    pushed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    """When the LMS last accepted this submission's grade."""

    # The grade as the LMS recorded it: its answer to the last push it accepted
    # (``grading.lms.RecordedGrade``). The LMS decides lateness, penalty and which grade counts;
    # the grader keeps its answer and shows it, and never decides them itself. All None until
    # the LMS recorded a grade of this submission (not pushed yet, refused, no LMS).
    lms_status: Mapped[str | None] = mapped_column(String(20))
    """``graded``, ``invalid`` or ``late-rejected``."""
    lms_score: Mapped[float | None] = mapped_column(Float)
    lms_max_score: Mapped[float | None] = mapped_column(Float)
    lms_late: Mapped[bool | None] = mapped_column(Boolean)
    lms_late_penalty: Mapped[float | None] = mapped_column(Float)
    lms_final_score: Mapped[float | None] = mapped_column(Float)
    lms_counts: Mapped[bool | None] = mapped_column(Boolean)
    """Whether this is the learner's grade that counts, as of :attr:`lms_updated_at`: a later
    push of another of the learner's submissions that counts sets it False."""
    lms_updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    """The LMS's time of the grade's last change: of two answers, the newer one is kept."""

    # A grading the grader gave up for its own reasons (status ``failed``).
    error_id: Mapped[str | None] = mapped_column(String(16))
    """Names the failure in the grader's log; shown to instructors and admins."""
    error_details: Mapped[str | None] = mapped_column(Text)
    """The failure's exception and traceback: for admins only."""


class GradebookState(Base):
    """What nbgrader's gradebook held for a submission when the grader last recorded its grade
    (``grading.gradebook.GradebookEntry.fingerprint``). A gradebook that differs from it
    was changed by hand: ``grading.manual_grades`` queues a ``sync``."""

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
    """Claims so far, counted at claim time, so a job that kills its worker is given up too.
    A claim that found the sandbox unavailable is not counted (see :attr:`waits`)."""
    waits: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Times the job found the grading sandbox unavailable (no engine, no image) and was put
    back to wait for it, each time a little longer (``grading.queue.wait_for_sandbox``)."""
    waiting_since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    """When the job first found the sandbox unavailable; None when it never did."""
    done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    failed: Mapped[bool] = mapped_column(Boolean, default=False)
    """Done without success: given up after ``GRADER_MAX_ATTEMPTS`` or refused for good."""
    last_error: Mapped[str] = mapped_column(Text, default="")


# -- the database ------------------------------------------------------------------------------


class Database(Store):
    """The grader's database; ``transaction()`` is the one way to write."""

    metadata = Base.metadata
    migrations = Path(__file__).with_name("migrations")
    version_table = "grader_schema_version"
    legacy_revisions = {  # what create_all (and add_missing_columns) made before the revisions
        "0003": ("grader_submissions.lms_status", "grader_submissions.lms_score",
                 "grader_submissions.lms_max_score", "grader_submissions.lms_late",
                 "grader_submissions.lms_late_penalty", "grader_submissions.lms_final_score",
                 "grader_submissions.lms_counts", "grader_submissions.lms_updated_at",
                 "grader_submissions.error_id", "grader_submissions.error_details",
                 "grader_jobs.waits", "grader_jobs.waiting_since"),
        "0002": ("grader_gradebook_states",),
        "0001": ("grader_releases", "grader_submissions", "grader_jobs"),
    }
    variable = "GRADER_DB_URL"
    tables_lock = 4_721_305  # any constant: the same in every grader process
    sqlite_synchronous = "FULL"
    sqlite_immediate = True
