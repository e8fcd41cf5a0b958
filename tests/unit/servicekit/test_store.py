"""servicekit.store and servicekit.migrations: a hub service's database on SQLite (here) or
PostgreSQL, set up one way, its tables made and changed by the service's revisions.

The example service's revisions are in example_migrations/; a test that changes them works on a
copy. The grader's and the tutor's own revisions, with their data, on both databases, are tested
in tests/integration/grading/test_store_migrations.py and tests/integration/tutor/."""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import ForeignKey, Integer, String, inspect, select, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from servicekit.migrations import Migration, SchemaError, current_revision, run_command
from servicekit.store import Store, UTCDateTime, database_url

EXAMPLE_MIGRATIONS = Path(__file__).with_name("example_migrations")


class Base(DeclarativeBase):
    pass


class Note(Base):
    __tablename__ = "example_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(String(100))
    at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class Tag(Base):
    __tablename__ = "example_tags"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    note_id: Mapped[int] = mapped_column(Integer, ForeignKey("example_notes.id"))
    name: Mapped[str] = mapped_column(String(20))


class Durable(Store):
    metadata = Base.metadata
    migrations = EXAMPLE_MIGRATIONS
    version_table = "example_schema_version"
    legacy_revisions = {"0001": ("example_notes", "example_notes.at", "example_tags")}
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
    assert untouched.migration is None
    created = Durable(f"sqlite:///{tmp_path / 'a.sqlite'}")
    assert inspect(created.engine).get_table_names() == [
        "example_notes", "example_schema_version", "example_tags"
    ]
    assert created.migration == Migration(head="0001", applied=("0001",))
    again = Durable(f"sqlite:///{tmp_path / 'a.sqlite'}")
    assert again.migration == Migration(head="0001")
    assert str(again.migration) == "at revision 0001, the newest: nothing to do"
    for store in (untouched, created, again):
        store.dispose()


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



# -- the tables change by revisions -------------------------------------------------------------


def copy_of_migrations(tmp_path: Path) -> Path:
    """A copy of the example's revisions, for a test to add one."""
    return Path(shutil.copytree(EXAMPLE_MIGRATIONS, tmp_path / "migrations"))


def write_revision(folder: Path, number: str, body: str) -> None:
    """A revision written by hand: ``number`` after the one before, doing ``body``."""
    before = f"{int(number) - 1:04d}"
    (folder / f"{number}_by_hand.py").write_text(
        f'"""By hand."""\n\nimport sqlalchemy as sa\nfrom alembic import op\n\n'
        f'revision = "{number}"\ndown_revision = "{before}"\nbranch_labels = None\n'
        f"depends_on = None\n\n\ndef upgrade() -> None:\n{body}\n"
    )


def revision_of(store: type[Store], url: str) -> str | None:
    with store.locked(url) as connection:
        return current_revision(connection, store)


def migrations_command(store: type[Store], url: str, action: str, message: str | None = None):
    """``python -m <service> migrations <action>``: its exit code and what it said."""
    said: list[str] = []
    code = run_command(store, url, argparse.Namespace(action=action, message=message),
                       said.append)
    return code, said


def test_while_one_process_migrates_sqlite_writers_wait(tmp_path):
    path = tmp_path / "a.sqlite"
    Durable(f"sqlite:///{path}").dispose()
    with Durable.locked(f"sqlite:///{path}"):
        assert not other_writer_can_begin(path)
    assert other_writer_can_begin(path)


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


class LaterTag(LaterBase):
    __tablename__ = "example_tags"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    note_id: Mapped[int] = mapped_column(Integer, ForeignKey("example_notes.id"))
    name: Mapped[str] = mapped_column(String(20))


def test_a_model_change_becomes_a_revision_and_an_existing_table_gains_it_keeping_its_rows(
    tmp_path,
):
    class Later(Durable):
        metadata = LaterBase.metadata
        migrations = copy_of_migrations(tmp_path)

    url = f"sqlite:///{tmp_path / 'a.sqlite'}"
    old = Durable(url)
    with old.transaction() as session:
        session.add(Note(id=1, text="written by the older version"))
    old.dispose()

    code, said = migrations_command(Later, url, "check")
    assert code == 1
    assert any("reviewed_at" in line for line in said)
    assert any("likes" in line for line in said)
    code, said = migrations_command(Later, url, "revision", "reviews and likes")
    assert code == 0
    written = Later.migrations / "0002_reviews_and_likes.py"
    assert said[-1].startswith(f"wrote {written}")
    script = written.read_text()
    assert 'down_revision = "0001"' in script or "down_revision = '0001'" in script
    assert "sa.DateTime(timezone=True)" in script  # UTCDateTime, as the type it is made of
    assert "server_default='0'" in script or 'server_default="0"' in script
    assert "downgrade" not in script.split("# No downgrade")[0]
    assert migrations_command(Later, url, "check")[0] == 0
    assert revision_of(Later, url) == "0001"  # writing a revision changed no database

    later = Later(url)  # the later version starting
    assert later.migration == Migration(head="0002", applied=("0002",))
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
    assert Later(url).migration == Migration(head="0002")  # added once
    later.dispose()


def test_a_revision_that_fails_is_refused_by_name_and_the_database_is_left_as_it_was(tmp_path):
    class Strict(Durable):
        migrations = copy_of_migrations(tmp_path)

    write_revision(Strict.migrations, "0002", "    op.add_column('example_notes', "
                   "sa.Column('required', sa.String(10), nullable=False))")
    url = f"sqlite:///{tmp_path / 'a.sqlite'}"
    old = Durable(url)
    with old.transaction() as session:
        session.add(Note(id=1, text="kept"))
    old.dispose()
    with pytest.raises(SchemaError, match=r"EXAMPLE_DB_URL: upgrading the database to revision "
                                          r"0002 failed \(revisions 0002\), so it is left as it"):
        Strict(url)
    untouched = Durable(url, create=False)
    columns = {c["name"] for c in inspect(untouched.engine).get_columns("example_notes")}
    assert columns == {"id", "text", "at"}
    assert revision_of(Durable, url) == "0001"
    with untouched.sessions() as session:
        assert session.scalars(select(Note.text)).all() == ["kept"]
    untouched.dispose()


def test_a_database_a_newer_version_upgraded_is_refused_by_name(tmp_path):
    url = f"sqlite:///{tmp_path / 'a.sqlite'}"
    store = Durable(url)
    with store.engine.begin() as connection:
        connection.execute(text("UPDATE example_schema_version SET version_num = '0009'"))
    store.dispose()
    with pytest.raises(SchemaError, match="EXAMPLE_DB_URL: the database is at revision 0009, "
                                          "which this version of the service does not know"):
        Durable(url)


def test_a_database_made_before_the_revisions_continues_from_the_one_it_equals(tmp_path):
    url = f"sqlite:///{tmp_path / 'a.sqlite'}"
    old = Durable(url, create=False)
    Base.metadata.create_all(old.engine)  # as services made their tables before
    with old.transaction() as session:
        session.add(Note(id=1, text="made before"))
        session.flush()
        session.add(Tag(id=1, note_id=1, name="old"))
    assert migrations_command(Durable, url, "current") == (
        0, ["none recorded: made before migrations, at 0001"]
    )
    started = Durable(url)
    assert started.migration == Migration(head="0001", stamped="0001")
    assert str(started.migration).startswith("made before migrations, found at revision 0001")
    assert revision_of(Durable, url) == "0001"
    with started.sessions() as session:
        assert session.get(Tag, 1).name == "old"
    assert migrations_command(Durable, url, "current") == (0, ["0001"])
    old.dispose()
    started.dispose()


def test_a_database_partly_like_a_revision_is_refused_naming_what_it_lacks(tmp_path):
    url = f"sqlite:///{tmp_path / 'a.sqlite'}"
    with Durable(url, create=False).engine.begin() as connection:
        connection.execute(text("CREATE TABLE example_notes (id INTEGER PRIMARY KEY)"))
    with pytest.raises(SchemaError, match=r"EXAMPLE_DB_URL: the database has part of revision "
                                          r"0001 \(it lacks example_notes\.at, example_tags\)"):
        Durable(url)


def test_a_new_database_says_it_is_empty_and_upgrade_makes_it(tmp_path):
    url = f"sqlite:///{tmp_path / 'a.sqlite'}"
    assert migrations_command(Durable, url, "current") == (0, ["none: an empty database"])
    assert migrations_command(Durable, url, "upgrade") == (
        0, ["upgraded to revision 0001 (ran 0001)"]
    )
    assert migrations_command(Durable, url, "current") == (0, ["0001"])


def test_on_sqlite_a_revision_may_rebuild_a_table_that_others_refer_to(tmp_path):
    class Rebuilt(Durable):
        migrations = copy_of_migrations(tmp_path)

    # SQLite drops a column by rebuilding the table (a copy, DROP TABLE, a rename): with foreign
    # keys on, dropping example_notes would fail on the tags that refer to its rows.
    write_revision(Rebuilt.migrations, "0002", "    with op.batch_alter_table('example_notes') "
                   "as batch:\n        batch.drop_column('at')")
    url = f"sqlite:///{tmp_path / 'a.sqlite'}"
    old = Durable(url)
    with old.transaction() as session:
        session.add(Note(id=1, text="note"))
        session.flush()
        session.add(Tag(id=1, note_id=1, name="tag"))
    old.dispose()
    rebuilt = Rebuilt(url, create=False)
    assert Rebuilt.upgrade(url) == Migration(head="0002", applied=("0002",))
    with rebuilt.engine.connect() as connection:
        assert connection.execute(text("SELECT id, note_id, name FROM example_tags")).all() == [
            (1, 1, "tag")
        ]
        assert connection.execute(text("SELECT id, text FROM example_notes")).all() == [
            (1, "note")
        ]
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1  # on again
    rebuilt.dispose()


def test_a_revision_that_leaves_rows_referring_to_nothing_is_undone(tmp_path):
    class Careless(Durable):
        migrations = copy_of_migrations(tmp_path)

    write_revision(Careless.migrations, "0002",
                   "    op.execute(\"DELETE FROM example_notes WHERE text = 'tagged'\")")
    url = f"sqlite:///{tmp_path / 'a.sqlite'}"
    old = Durable(url)
    with old.transaction() as session:
        session.add(Note(id=1, text="tagged"))
        session.flush()
        session.add(Tag(id=1, note_id=1, name="tag"))
    with pytest.raises(SchemaError, match="EXAMPLE_DB_URL: after revision 0002 rows of "
                                          "example_tags refer to rows that are gone"):
        Careless(url)
    assert revision_of(Durable, url) == "0001"
    with old.sessions() as session:
        assert session.get(Note, 1).text == "tagged"
    old.dispose()
