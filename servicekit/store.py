"""A hub service's own database: SQLAlchemy 2 on SQLite (the embedded default) or PostgreSQL.

A service declares its tables on its own ``DeclarativeBase`` and its database as a
:class:`Store` subclass (which tables, where their revisions are, which variable names the URL,
how SQLite must commit);
everything else is the same for every service and written here:

- the URL: ``postgres://`` and ``postgresql://`` mean psycopg 3 (as Heroku-style and libpq URLs
  are written), anything but SQLite or PostgreSQL is refused naming the variable;
- SQLite runs in WAL mode with a busy timeout, and makes its folder; with ``sqlite_immediate``
  every transaction starts with ``BEGIN IMMEDIATE``: a deferred transaction that reads and then
  writes can fail at once with ``SQLITE_BUSY`` when another process wrote in between (the busy
  timeout does not apply to it), whereas an immediate one waits for the write lock;
- the tables are the service's Alembic revisions (``servicekit.migrations``): on start a
  database is brought to the newest one, in a transaction that holds the service's lock
  (:meth:`Store.locked`: PostgreSQL's advisory lock, SQLite's write lock), so several processes
  starting at once take turns: the first upgrades, the others find nothing left to do;
- times are stored and returned as aware UTC datetimes on both databases (:class:`UTCDateTime`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Literal

from sqlalchemy import Connection, DateTime, MetaData, create_engine, event, text
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.types import TypeDecorator

if TYPE_CHECKING:
    from servicekit.migrations import Migration

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 30_000


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
            raise ValueError("naive datetime: only aware UTC times are stored")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def database_url(url: str, variable: str = "the database URL") -> URL:
    """``url`` with the driver the services use: psycopg 3 for PostgreSQL, pysqlite otherwise;
    another database is refused naming ``variable``."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    parsed = make_url(url)
    if parsed.drivername in {"postgresql", "postgresql+psycopg2"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in {"postgresql", "sqlite"}:
        raise ValueError(f"{variable}: {parsed.drivername!r} is neither SQLite nor PostgreSQL")
    return parsed


def make_engine(
    url: str,
    variable: str = "the database URL",
    *,
    sqlite_synchronous: Literal["FULL", "NORMAL"] = "FULL",
    sqlite_immediate: bool = True,
    sqlite_foreign_keys: bool = True,
) -> Engine:
    """The engine for ``url``; on SQLite with the pragmas above (``foreign_keys`` on, but for
    the migrating connection: see ``servicekit.migrations``)."""
    parsed = database_url(url, variable)
    if parsed.get_backend_name() == "postgresql":
        return create_engine(parsed, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _sqlite_connect(dbapi_connection, _record) -> None:
        if sqlite_immediate:
            # SQLAlchemy, not the driver, decides where transactions begin (see "begin" below).
            dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute(f"PRAGMA synchronous={sqlite_synchronous}")
        cursor.execute(f"PRAGMA foreign_keys={'ON' if sqlite_foreign_keys else 'OFF'}")
        cursor.close()

    if sqlite_immediate:

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


class Store:
    """A service's database: its engine and a session factory; ``transaction()`` writes.

    A subclass names its ``metadata`` (its tables), its ``migrations`` (the folder of its
    revisions), its ``version_table``, the ``legacy_revisions`` that recognise a database made
    before there were revisions (``servicekit.migrations``), the ``variable`` its URL comes from
    (for errors), a ``tables_lock`` (any constant, the same in every process of the service)
    and how SQLite commits: ``sqlite_synchronous`` ``FULL`` (a commit survives power loss) or
    ``NORMAL`` (the last commits may not), ``sqlite_immediate`` (see the module).

    ``Store(url)`` upgrades the database to the newest revision (:attr:`migration` says what it
    did); ``Store(url, create=False)`` opens it as it is (a process started after one that
    upgraded it, or a test reading it)."""

    metadata: ClassVar[MetaData]
    migrations: ClassVar[Path]
    version_table: ClassVar[str]
    legacy_revisions: ClassVar[Mapping[str, Sequence[str]]] = {}
    variable: ClassVar[str] = "the database URL"
    tables_lock: ClassVar[int]
    sqlite_synchronous: ClassVar[Literal["FULL", "NORMAL"]] = "FULL"
    sqlite_immediate: ClassVar[bool] = True

    def __init__(self, url: str, create: bool = True) -> None:
        self.engine = make_engine(
            url, self.variable, sqlite_synchronous=self.sqlite_synchronous,
            sqlite_immediate=self.sqlite_immediate,
        )
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.migration: Migration | None = self.upgrade(url) if create else None

    @classmethod
    @contextmanager
    def locked(cls, url: str) -> Iterator[Connection]:
        """A connection to ``url`` in a transaction that holds the service's lock until it
        ends (committed on leaving the block): PostgreSQL's transaction-level advisory lock
        ``tables_lock``; on SQLite the write lock (``BEGIN IMMEDIATE``), with foreign keys off
        (see ``servicekit.migrations``). Another process asking for it waits."""
        engine = make_engine(url, cls.variable, sqlite_synchronous=cls.sqlite_synchronous,
                             sqlite_immediate=True, sqlite_foreign_keys=False)
        try:
            with engine.begin() as connection:
                if engine.dialect.name == "postgresql":
                    lock = text("SELECT pg_advisory_xact_lock(:key)")
                    connection.execute(lock, {"key": cls.tables_lock})
                yield connection
        finally:
            engine.dispose()

    @classmethod
    def upgrade(cls, url: str) -> Migration:
        """Bring the database at ``url`` to the newest revision, under the lock."""
        # Deferred for its cost: Alembic's import (about 0.13 s) is paid by the processes that
        # upgrade, not by those that open the database as it is (the grader's workers).
        from servicekit.migrations import upgrade

        with cls.locked(url) as connection:
            migration = upgrade(connection, cls)
        log.info("database (%s): %s", cls.variable, migration)
        return migration

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
