"""The grader's own database: releases, submissions (every one kept) and the job queue.

SQLAlchemy 2 models on SQLite (the embedded default) or PostgreSQL (psycopg 3). Tables are
created on start; there is no migration history yet. Times are stored and returned as aware UTC
datetimes on both databases.

SQLite is opened in WAL mode with a busy timeout, and every transaction starts with
``BEGIN IMMEDIATE``: a deferred transaction that reads and then writes can fail at once with
``SQLITE_BUSY`` when another process wrote in between (the busy timeout does not apply to it),
whereas an immediate one waits for the write lock. Writes are serialised on SQLite anyway.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    create_engine,
    event,
    text,
)
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.types import TypeDecorator

from courses.course_file import LatePolicy

SQLITE_BUSY_TIMEOUT_MS = 30_000
# Any constant will do: it only has to be the same in every grader process.
CREATE_TABLES_LOCK = 4_721_305


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator):
    """An aware UTC datetime on every database (SQLite hands back naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: the grader stores aware UTC times only")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


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


# -- engine and sessions ---------------------------------------------------------------------


def database_url(url: str) -> URL:
    """``url`` with the driver the grader uses: psycopg 3 for PostgreSQL (``postgres://`` and
    ``postgresql://`` accepted, as Heroku-style and libpq URLs are written), pysqlite otherwise."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    parsed = make_url(url)
    if parsed.drivername in {"postgresql", "postgresql+psycopg2"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in {"postgresql", "sqlite"}:
        raise ValueError(f"GRADER_DB_URL: {parsed.drivername!r} is neither SQLite nor PostgreSQL")
    return parsed


def make_engine(url: str) -> Engine:
    parsed = database_url(url)
    if parsed.get_backend_name() == "postgresql":
        return create_engine(parsed, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _sqlite_connect(dbapi_connection, _record) -> None:
        # Let SQLAlchemy, not the driver, decide where transactions begin (see "begin" below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=FULL")  # a commit before the 202 survives power loss
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _sqlite_begin(connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def create_tables(engine: Engine) -> None:
    """Create missing tables; several processes starting at once on PostgreSQL take turns."""
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            lock = text("SELECT pg_advisory_xact_lock(:key)")
            connection.execute(lock, {"key": CREATE_TABLES_LOCK})
        Base.metadata.create_all(connection)


class Database:
    """The engine and a session factory; ``transaction()`` is the one way to write."""

    def __init__(self, url: str, create: bool = True) -> None:
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        if create:
            create_tables(self.engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose work is committed on leaving the block, rolled back on an error."""
        with self.sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
