"""The tutor's own database: one row per exchange (a request and the reply the learner got).

SQLAlchemy 2 on SQLite (the embedded default) or PostgreSQL (psycopg 3), chosen by
``TUTOR_DB_URL``. The table is created on start; there is no migration history yet. Times are
aware UTC datetimes on both databases.

SQLite runs in WAL mode with a busy timeout and ``synchronous=NORMAL``: an exchange is a log line,
written once when its reply ends; losing the last few on a power cut is acceptable, an fsync on
every reply (which the learner waits for before ``done``) is not needed. Writes are short
transactions and never overlap a read of the same request.

:class:`ExchangeLog` is the only code that reads or writes the table: the API's history and
summary, the daily quota's count and the record of each reply.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Boolean,
    DateTime,
    Index,
    Integer,
    String,
    Text,
    create_engine,
    event,
    func,
    select,
    text,
)
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker
from sqlalchemy.types import TypeDecorator

SQLITE_BUSY_TIMEOUT_MS = 30_000
CREATE_TABLES_LOCK = 5_101_102  # any constant: the same in every tutor process
HISTORY_LIMIT = 100
TOP_ERROR_TYPES = 20


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
            raise ValueError("naive datetime: the tutor stores aware UTC times only")
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


class Exchange(Base):
    """One request to the tutor and its outcome. Never changed after it is written."""

    __tablename__ = "tutor_exchanges"
    __table_args__ = (
        Index("ix_tutor_exchanges_course", "course", "id"),
        Index("ix_tutor_exchanges_learner", "learner", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    course: Mapped[str] = mapped_column(String(100))
    assignment: Mapped[str | None] = mapped_column(String(100))
    learner: Mapped[str] = mapped_column(String(100))
    """The hub user who asked (a learner, or an instructor trying the tutor)."""
    mode: Mapped[str] = mapped_column(String(10))
    cell_id: Mapped[str | None] = mapped_column(String(200))
    error_type: Mapped[str | None] = mapped_column(String(100))
    question: Mapped[str | None] = mapped_column(Text)
    reply: Mapped[str] = mapped_column(Text, default="")
    """What the learner was shown: with ``refused``, the part before the cut; with ``failed``,
    nothing (the stream's error withdrew it)."""
    offline: Mapped[bool] = mapped_column(Boolean, default=False)
    refused: Mapped[bool] = mapped_column(Boolean, default=False)
    """The reply would have revealed a solution region and was cut (a refused leak)."""
    failed: Mapped[bool] = mapped_column(Boolean, default=False)
    """The model failed (timeout, 4xx/5xx, malformed stream); ``error`` says how."""
    error: Mapped[str] = mapped_column(Text, default="")
    model: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)


def exchange_json(row: Exchange) -> dict[str, Any]:
    """An Exchange as docs/tutor.md writes it."""
    return {
        "id": row.id,
        "course": row.course,
        "assignment": row.assignment,
        "learner": row.learner,
        "mode": row.mode,
        "cell_id": row.cell_id,
        "error_type": row.error_type,
        "question": row.question,
        "reply": row.reply,
        "offline": row.offline,
        "refused": row.refused,
        "failed": row.failed,
        "created_at": row.created_at.isoformat(),
    }


# -- engine ------------------------------------------------------------------------------------


def database_url(url: str) -> URL:
    """``url`` with the driver the tutor uses: psycopg 3 for PostgreSQL (``postgres://`` and
    ``postgresql://`` both accepted), pysqlite otherwise."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    parsed = make_url(url)
    if parsed.drivername in {"postgresql", "postgresql+psycopg2"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in {"postgresql", "sqlite"}:
        raise ValueError(f"TUTOR_DB_URL: {parsed.drivername!r} is neither SQLite nor PostgreSQL")
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
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return engine


@dataclass(frozen=True)
class Summary:
    exchanges: int
    learners: int
    by_mode: dict[str, int]
    error_types: list[tuple[str, int]]
    refused_leaks: int
    failed: int
    offline: int

    def as_json(self) -> dict[str, Any]:
        return {
            "exchanges": self.exchanges,
            "learners": self.learners,
            "by_mode": self.by_mode,
            "error_types": [list(pair) for pair in self.error_types],
            "refused_leaks": self.refused_leaks,
            "failed": self.failed,
            "offline": self.offline,
        }


class ExchangeLog:
    """The exchanges table: record, page through, count and summarise."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        with self.engine.begin() as connection:
            if self.engine.dialect.name == "postgresql":
                lock = text("SELECT pg_advisory_xact_lock(:key)")
                connection.execute(lock, {"key": CREATE_TABLES_LOCK})
            Base.metadata.create_all(connection)

    def dispose(self) -> None:
        self.engine.dispose()

    def record(self, **fields: Any) -> Exchange:
        fields.setdefault("created_at", utcnow())
        row = Exchange(**fields)
        with self.sessions() as session, session.begin():
            session.add(row)
        return row

    def history(
        self,
        course: str,
        learner: str | None,
        before: int | None = None,
        limit: int = HISTORY_LIMIT,
    ) -> list[Exchange]:
        """The course's exchanges, newest first (one learner's, or everyone's for None)."""
        query = select(Exchange).where(Exchange.course == course)
        if learner is not None:
            query = query.where(Exchange.learner == learner)
        if before is not None:
            query = query.where(Exchange.id < before)
        query = query.order_by(Exchange.id.desc()).limit(limit)
        with self.sessions() as session:
            return list(session.scalars(query))

    def count_since(self, learner: str, since: dt.datetime) -> int:
        """How many exchanges ``learner`` had since ``since`` (the daily quota's start)."""
        query = select(func.count(Exchange.id)).where(
            Exchange.learner == learner, Exchange.created_at >= since
        )
        with self.sessions() as session:
            return int(session.scalar(query) or 0)

    def hints_given(self, learner: str, course: str, assignment: str | None, cell_id: str) -> int:
        """Offline hints ``learner`` already got for this cell (the next one is given next)."""
        query = select(func.count(Exchange.id)).where(
            Exchange.learner == learner,
            Exchange.course == course,
            Exchange.assignment == assignment,
            Exchange.cell_id == cell_id,
            Exchange.mode == "hint",
            Exchange.offline.is_(True),
        )
        with self.sessions() as session:
            return int(session.scalar(query) or 0)

    def summary(self, course: str) -> Summary:
        """Counts over the course's exchanges, aggregated by the database."""
        mine = Exchange.course == course
        with self.sessions() as session:
            totals = session.execute(
                select(
                    func.count(Exchange.id),
                    func.count(func.distinct(Exchange.learner)),
                    func.count(Exchange.id).filter(Exchange.refused.is_(True)),
                    func.count(Exchange.id).filter(Exchange.failed.is_(True)),
                    func.count(Exchange.id).filter(Exchange.offline.is_(True)),
                ).where(mine)
            ).one()
            modes = session.execute(
                select(Exchange.mode, func.count(Exchange.id)).where(mine).group_by(Exchange.mode)
            ).all()
            count = func.count(Exchange.id).label("n")
            errors = session.execute(
                select(Exchange.error_type, count)
                .where(mine, Exchange.error_type.is_not(None))
                .group_by(Exchange.error_type)
                .order_by(count.desc(), Exchange.error_type)
                .limit(TOP_ERROR_TYPES)
            ).all()
        exchanges, learners, refused, failed, offline = (int(n or 0) for n in totals)
        return Summary(
            exchanges=exchanges,
            learners=learners,
            by_mode={mode: int(n) for mode, n in sorted(modes)},
            error_types=[(str(name), int(n)) for name, n in errors],
            refused_leaks=refused,
            failed=failed,
            offline=offline,
        )
