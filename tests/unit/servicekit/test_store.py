"""servicekit.store: a hub service's database on SQLite (here) or PostgreSQL, set up one way."""

from __future__ import annotations

import datetime as dt
import sqlite3

import pytest
from sqlalchemy import Integer, String, inspect, select, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from servicekit.store import SchemaError, Store, UTCDateTime, create_tables, database_url


class Base(DeclarativeBase):
    pass


class Note(Base):
    __tablename__ = "example_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(String(100))
    at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class Durable(Store):
    metadata = Base.metadata
    variable = "EXAMPLE_DB_URL"
    tables_lock = 1


class LogLike(Durable):
    sqlite_synchronous = "NORMAL"
    sqlite_immediate = False


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        ("postgres://u:p@h:5432/g", "postgresql+psycopg"),
        ("postgresql://u:p@h:5432/g", "postgresql+psycopg"),
        ("postgresql+psycopg://u:p@h/g", "postgresql+psycopg"),
        ("sqlite:////tmp/x.sqlite", "sqlite"),
    ],
)
def test_database_urls_use_psycopg_3_or_sqlite(url, driver):
    assert database_url(url).drivername == driver


def test_other_databases_are_refused_naming_the_variable():
    with pytest.raises(ValueError, match="EXAMPLE_DB_URL: 'mysql' is neither SQLite nor Postgre"):
        Durable("mysql://u:p@h/g")


def pragmas(store: Store) -> tuple[str, int, int]:
    with store.engine.connect() as connection:
        return tuple(connection.execute(text(f"PRAGMA {name}")).scalar()
                     for name in ("journal_mode", "synchronous", "foreign_keys"))


def test_sqlite_gets_its_folder_wal_a_busy_timeout_and_the_services_synchronous(tmp_path):
    durable = Durable(f"sqlite:///{tmp_path / 'new' / 'folder' / 'db.sqlite'}")
    assert (tmp_path / "new" / "folder").is_dir()
    assert pragmas(durable) == ("wal", 2, 1)  # synchronous=FULL
    with durable.engine.connect() as connection:
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 30_000
    log_like = LogLike(f"sqlite:///{tmp_path / 'log.sqlite'}")
    assert pragmas(log_like) == ("wal", 1, 1)  # synchronous=NORMAL
    durable.dispose()
    log_like.dispose()


def test_tables_are_created_on_start_unless_told_not_to(tmp_path):
    untouched = Durable(f"sqlite:///{tmp_path / 'a.sqlite'}", create=False)
    assert inspect(untouched.engine).get_table_names() == []
    created = Durable(f"sqlite:///{tmp_path / 'a.sqlite'}")
    assert inspect(created.engine).get_table_names() == ["example_notes"]
    untouched.dispose()
    created.dispose()


def test_a_transaction_commits_on_leaving_and_rolls_back_on_an_error(tmp_path):
    store = Durable(f"sqlite:///{tmp_path / 'a.sqlite'}")
    with store.transaction() as session:
        session.add(Note(id=1, text="kept"))
    with pytest.raises(RuntimeError), store.transaction() as session:
        session.add(Note(id=2, text="dropped"))
        session.flush()
        raise RuntimeError("undo")
    with store.sessions() as session:
        assert session.scalars(select(Note.text)).all() == ["kept"]
    store.dispose()


def test_times_are_aware_utc_on_the_way_back_and_naive_ones_are_refused(tmp_path):
    store = Durable(f"sqlite:///{tmp_path / 'a.sqlite'}")
    paris = dt.timezone(dt.timedelta(hours=1))
    with store.transaction() as session:
        session.add(Note(id=1, text="t", at=dt.datetime(2027, 1, 15, 13, 0, tzinfo=paris)))
    with store.sessions() as session:
        assert session.scalar(select(Note.at)) == dt.datetime(2027, 1, 15, 12, 0, tzinfo=dt.UTC)
        assert session.scalar(select(Note.at)).tzinfo == dt.UTC
    with pytest.raises(Exception, match="naive datetime"), store.transaction() as session:
        session.add(Note(id=2, text="t", at=dt.datetime(2027, 1, 15, 12, 0)))
    store.dispose()


def other_writer_can_begin(path) -> bool:
    """Whether another connection gets the write lock at once (no waiting)."""
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError:
        return False
    finally:
        other.close()
    return True


@pytest.mark.parametrize(("kind", "locks"), [(Durable, True), (LogLike, False)])
def test_with_sqlite_immediate_a_transaction_holds_the_write_lock_from_its_start(
    tmp_path, kind, locks
):
    path = tmp_path / "a.sqlite"
    store = kind(f"sqlite:///{path}")
    with store.transaction() as session:
        session.scalars(select(Note)).all()  # only a read so far
        assert other_writer_can_begin(path) is not locks
    store.dispose()


# -- a table that exists gains the columns its model added since ---------------------------------


class LaterBase(DeclarativeBase):
    pass


class LaterNote(LaterBase):
    """``Note`` as a later version of the service declares it: two columns more."""

    __tablename__ = "example_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(String(100))
    at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    likes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Later(Store):
    metadata = LaterBase.metadata
    variable = "EXAMPLE_DB_URL"
    tables_lock = 1


def test_an_existing_table_gains_the_models_new_columns_and_keeps_its_rows(tmp_path):
    url = f"sqlite:///{tmp_path / 'a.sqlite'}"
    old = Durable(url)
    with old.transaction() as session:
        session.add(Note(id=1, text="written by the older version"))
    old.dispose()
    later = Later(url)
    columns = {c["name"] for c in inspect(later.engine).get_columns("example_notes")}
    assert columns == {"id", "text", "at", "reviewed_at", "likes"}
    moment = dt.datetime(2027, 1, 15, 12, 0, tzinfo=dt.UTC)
    with later.transaction() as session:
        kept = session.get(LaterNote, 1)
        assert (kept.text, kept.reviewed_at, kept.likes) == ("written by the older version",
                                                             None, 0)
        kept.reviewed_at = moment
        session.add(LaterNote(id=2, text="new", likes=3))
    with later.sessions() as session:
        assert session.get(LaterNote, 1).reviewed_at == moment
        assert session.get(LaterNote, 2).likes == 3
    assert create_tables(later.engine, LaterBase.metadata, 1) == []  # added once
    later.dispose()


def test_a_new_column_that_cannot_be_added_is_refused_by_name(tmp_path):
    class StrictBase(DeclarativeBase):
        pass

    class StrictNote(StrictBase):
        __tablename__ = "example_notes"

        id: Mapped[int] = mapped_column(Integer, primary_key=True)
        text: Mapped[str] = mapped_column(String(100))
        required: Mapped[str] = mapped_column(String(10))  # NOT NULL, no server default

    class Strict(Store):
        metadata = StrictBase.metadata
        tables_lock = 1

    url = f"sqlite:///{tmp_path / 'a.sqlite'}"
    Durable(url).dispose()
    with pytest.raises(SchemaError, match=r"example_notes\.required: a new NOT NULL column"):
        Strict(url)
    untouched = Durable(url, create=False)
    columns = {c["name"] for c in inspect(untouched.engine).get_columns("example_notes")}
    assert columns == {"id", "text", "at"}
    untouched.dispose()
