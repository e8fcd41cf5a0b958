"""The tutor's database is brought up to date by its revisions (``tutor/migrations/``) when the
tutor starts, on SQLite and on PostgreSQL:

- a database made before there were revisions, by ``create_all``, with exchanges in it, is
  recognised, upgraded and loses nothing;
- a new database is made by the revisions and matches the model exactly (Alembic's
  autogenerate comparison finds nothing: a model changed without a revision fails here);
- tutor processes starting at once take turns: one upgrades, the other waits and finds nothing
  to do.

The schema of before is a snapshot (:func:`table_before_revisions`): the model will change,
what old databases hold will not.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Boolean, Column, Index, Integer, MetaData, String, Table, Text, create_engine

from servicekit.migrations import Migration, revisions
from servicekit.store import UTCDateTime, database_url
from tests.support.store_migrations import (
    DIALECTS,
    differences_from_the_models,
    new_database,
    new_postgresql_database,
    rows_of,
    start_at_once,
    start_on_an_empty_database,
)
from tutor.store import ExchangeLog

pytestmark = [pytest.mark.slow]
AT = dt.datetime(2027, 1, 15, 8, 0, 1, 654321, tzinfo=dt.UTC)


def table_before_revisions() -> MetaData:
    """The exchange log as ``create_all`` made it before the revisions (revision 0001)."""
    metadata = MetaData()
    Table(
        "tutor_exchanges", metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("course", String(100), nullable=False),
        Column("assignment", String(100)),
        Column("learner", String(100), nullable=False),
        Column("mode", String(10), nullable=False),
        Column("cell_id", String(200)),
        Column("error_type", String(100)),
        Column("question", Text),
        Column("reply", Text, nullable=False),
        Column("offline", Boolean, nullable=False),
        Column("refused", Boolean, nullable=False),
        Column("failed", Boolean, nullable=False),
        Column("error", Text, nullable=False),
        Column("model", String(200)),
        Column("created_at", UTCDateTime(), nullable=False),
        Column("duration_ms", Integer, nullable=False),
        Index("ix_tutor_exchanges_course", "course", "id"),
        Index("ix_tutor_exchanges_learner", "learner", "created_at"),
    )
    return metadata


# Every column with a value (none left NULL), and the kinds of exchange the log holds.
EXCHANGES = [
    {"course": "python-101", "assignment": "ps1-basics", "learner": learner, "mode": mode,
     "cell_id": f"cell-{n}", "error_type": "NameError", "question": "Why — “this”?\n\tÜ",
     "reply": "Look at line 3.\n```python\nx = 1\n```", "offline": mode == "hint",
     "refused": n == 2, "failed": n == 3, "error": "the model timed out" if n == 3 else "",
     "model": "gpt-4o-mini", "created_at": AT + dt.timedelta(seconds=n), "duration_ms": 1234 + n}
    for n, (learner, mode) in enumerate(
        [("grace", "explain"), ("grace", "hint"), ("linus", "explain"), ("ada", "chat")]
    )
]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_log_made_before_the_revisions_is_upgraded_on_start_and_loses_nothing(
    tmp_path, dialect
):
    with new_database(dialect, tmp_path, "tutor_before") as url:
        metadata = table_before_revisions()
        engine = create_engine(database_url(url))
        with engine.begin() as connection:
            metadata.create_all(connection)
            connection.execute(metadata.tables["tutor_exchanges"].insert(), EXCHANGES)
        written = rows_of(engine, metadata)
        engine.dispose()
        assert len(written["tutor_exchanges"]) == len(EXCHANGES)

        log = ExchangeLog(url)  # the tutor starting
        try:
            assert log.migration == Migration(head="0001", stamped="0001")
            assert rows_of(log.engine, metadata) == written  # every row and value as it was
            assert differences_from_the_models(ExchangeLog, url) == []
            assert [row.learner for row in log.history("python-101", None)] == [
                "ada", "linus", "grace", "grace"
            ]
            assert log.summary("python-101").refused_leaks == 1
            new = log.record(course="python-101", learner="grace", mode="explain",
                             created_at=AT)  # the tutor keeps logging
            assert new.id > max(row["id"] for row in written["tutor_exchanges"])
            assert ExchangeLog(url).migration == Migration(head="0001")  # once
        finally:
            log.dispose()


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_new_log_is_made_by_the_revisions_and_matches_the_model(tmp_path, dialect):
    assert revisions(ExchangeLog) == ("0001",)
    with new_database(dialect, tmp_path, "tutor_new") as url:
        migration, tables = start_on_an_empty_database(ExchangeLog, url)
        assert migration == Migration(head="0001", applied=("0001",))
        assert tables == {"tutor_exchanges", "tutor_schema_version"}
        assert differences_from_the_models(ExchangeLog, url) == []


def test_tutor_processes_starting_at_once_take_turns_and_one_upgrades():
    with new_postgresql_database("tutor_race") as url:
        assert start_at_once("tutor", ExchangeLog, url) == [
            "at revision 0001, the newest: nothing to do",
            "upgraded to revision 0001 (ran 0001)",
        ]
        assert differences_from_the_models(ExchangeLog, url) == []
