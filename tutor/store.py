"""The tutor's own database: one row per exchange (a request and the reply the learner got).

The table is a SQLAlchemy 2 model; the database is a ``servicekit.store.Store`` (SQLite, the
embedded default, or PostgreSQL by ``TUTOR_DB_URL``; the table is made and changed by the
revisions in ``tutor/migrations/``, run on start; aware UTC times on both). On SQLite a commit
is ``synchronous=NORMAL``: an exchange is a log line, written once when its reply ends; losing
the last few on a power cut is acceptable, an fsync on every reply (which the learner waits for
before ``done``) is not needed. Writes are short transactions and
never overlap a read of the same request, so transactions begin as the driver begins them.

:class:`ExchangeLog` is the only code that reads or writes the table: the API's history and
summary, the daily quota's count and the record of each reply.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Boolean, Index, Integer, String, Text, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from servicekit.store import Store, UTCDateTime, utcnow

HISTORY_LIMIT = 100
TOP_ERROR_TYPES = 20


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


class ExchangeLog(Store):
    """The exchanges table: record, page through, count and summarise."""

    metadata = Base.metadata
    migrations = Path(__file__).with_name("migrations")
    version_table = "tutor_schema_version"
    legacy_revisions = {"0001": ("tutor_exchanges",)}  # what create_all made before revisions
    variable = "TUTOR_DB_URL"
    tables_lock = 5_101_102  # any constant: the same in every tutor process
    sqlite_synchronous = "NORMAL"
    sqlite_immediate = False

    def record(self, **fields: Any) -> Exchange:
        fields.setdefault("created_at", utcnow())
        row = Exchange(**fields)
        with self.transaction() as session:
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
