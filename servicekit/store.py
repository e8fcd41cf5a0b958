"""A hub service's own database: SQLAlchemy 2 on SQLite (the embedded default) or PostgreSQL.

A service declares its tables on its own ``DeclarativeBase`` and its database as a
:class:`Store` subclass (which tables, which variable names the URL, how SQLite must commit);
everything else is the same for every service and written here:

- the URL: ``postgres://`` and ``postgresql://`` mean psycopg 3 (as Heroku-style and libpq URLs
  are written), anything but SQLite or PostgreSQL is refused naming the variable;
- SQLite runs in WAL mode with a busy timeout, and makes its folder; with ``sqlite_immediate``
  every transaction starts with ``BEGIN IMMEDIATE``: a deferred transaction that reads and then
  writes can fail at once with ``SQLITE_BUSY`` when another process wrote in between (the busy
  timeout does not apply to it), whereas an immediate one waits for the write lock;
- tables are created on start; a table that exists already gains the columns its model has and
  it lacks (:func:`add_missing_columns`: nullable ones, or with a server default), and is
  otherwise never altered (there is no migration history yet: no column is changed, renamed or
  dropped); several processes starting at once on PostgreSQL take turns (an advisory lock);
- times are stored and returned as aware UTC datetimes on both databases (:class:`UTCDateTime`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import ClassVar, Literal

from sqlalchemy import Connection, DateTime, MetaData, create_engine, event, inspect, text
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.schema import CreateColumn
from sqlalchemy.types import TypeDecorator

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
) -> Engine:
    """The engine for ``url``; on SQLite with the pragmas above (``foreign_keys`` on)."""
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
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    if sqlite_immediate:

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


class SchemaError(RuntimeError):
    """An existing database that the models cannot be made to fit by adding columns."""


def add_missing_columns(connection: Connection, metadata: MetaData) -> list[str]:
    """Add to each existing table of ``metadata`` the columns its model declares and the
    table lacks (``ALTER TABLE … ADD COLUMN``, as the dialect writes the column). Returns the
    columns added, as ``table.column``.

    Only what an ``ADD COLUMN`` does safely on SQLite and PostgreSQL: a new column must be
    nullable or have a server default (rows already there get NULL or the default); one with
    neither, a key or a foreign key raises :class:`SchemaError` naming it (that needs a
    migration). Nothing is ever changed, renamed or dropped: a column the model no longer has
    stays in the table."""
    inspector = inspect(connection)
    existing_tables = set(inspector.get_table_names())
    preparer = connection.dialect.identifier_preparer
    added = []
    for table in metadata.sorted_tables:
        if table.name not in existing_tables:
            continue
        present = {column["name"] for column in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in present:
                continue
            name = f"{table.name}.{column.name}"
            if column.primary_key or column.foreign_keys:
                raise SchemaError(f"{name}: a new key column cannot be added to an existing "
                                  "table; the database needs a migration")
            if not column.nullable and column.server_default is None:
                raise SchemaError(f"{name}: a new NOT NULL column needs a server default to "
                                  "be added to an existing table")
            ddl = CreateColumn(column).compile(dialect=connection.dialect)
            where = preparer.format_table(table)
            connection.execute(text(f"ALTER TABLE {where} ADD COLUMN {ddl}"))
            added.append(name)
    return added


def create_tables(engine: Engine, metadata: MetaData, lock_key: int) -> list[str]:
    """Create ``metadata``'s missing tables and add their missing columns
    (:func:`add_missing_columns`, whose list this returns); on PostgreSQL under the advisory
    lock ``lock_key``, so processes starting at once take turns."""
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            lock = text("SELECT pg_advisory_xact_lock(:key)")
            connection.execute(lock, {"key": lock_key})
        added = add_missing_columns(connection, metadata)
        metadata.create_all(connection)
    for name in added:
        log.warning("database: added the column %s", name)
    return added


class Store:
    """A service's database: its engine and a session factory; ``transaction()`` writes.

    A subclass names its ``metadata`` (its tables), the ``variable`` its URL comes from (for
    errors), a ``tables_lock`` (any constant, the same in every process of the service) and
    how SQLite commits: ``sqlite_synchronous`` ``FULL`` (a commit survives power loss) or
    ``NORMAL`` (the last commits may not), ``sqlite_immediate`` (see the module)."""

    metadata: ClassVar[MetaData]
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
        if create:
            create_tables(self.engine, self.metadata, self.tables_lock)

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
