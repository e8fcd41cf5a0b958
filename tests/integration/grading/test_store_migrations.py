"""The grader's database is brought up to date by its revisions (``grading/migrations/``) when
the grader starts, on SQLite and on PostgreSQL:

- a database made before there were revisions, by ``create_all`` (and the columns added later by
  ``ALTER TABLE``), with data in every table, is recognised, upgraded and loses nothing: from
  today's schema, from before the columns added late (the LMS's record, the failures' details,
  the sandbox waits) and from the first one;
- a new database is made by the revisions and matches the models exactly (Alembic's
  autogenerate comparison finds nothing: a model changed without a revision fails here);
- grader processes starting at once take turns: one upgrades, the others wait and find nothing
  to do.

The schemas of before are snapshots (:func:`tables_before_revisions`): the models will change,
what old databases hold will not.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
)

from grading.queue import claim, enqueue
from grading.store import Database, GradebookState, Job, JobKind, Release, Submission
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

pytestmark = [pytest.mark.slow]
REVISIONS = ("0001", "0002", "0003")
AT = dt.datetime(2027, 1, 10, 9, 30, 15, 123456, tzinfo=dt.UTC)


def tables_before_revisions(revision: str) -> MetaData:
    """The grader's tables as ``create_all`` (and, for 0003, ``add_missing_columns``) made them
    when its models were at ``revision``: 0001 the first grader's, 0002 with the gradebook
    states, 0003 with the LMS's record, the failures' details and the sandbox waits (today's,
    the last schema made without revisions)."""
    metadata = MetaData()
    Table(
        "grader_releases", metadata,
        Column("course", String(100), primary_key=True),
        Column("assignment", String(100), primary_key=True),
        Column("released_at", UTCDateTime(), nullable=False),
        Column("due_at", UTCDateTime()),
        Column("late_policy", JSON, nullable=False),
        Column("notebooks", JSON, nullable=False),
        Column("feedback_auto", Boolean, nullable=False),
    )
    later = revision >= "0003"
    Table(
        "grader_submissions", metadata,
        Column("id", String(32), primary_key=True),
        Column("course", String(100), nullable=False),
        Column("assignment", String(100), nullable=False),
        Column("learner", String(100), nullable=False),
        Column("submitted_at", UTCDateTime(), nullable=False),
        Column("status", String(20), nullable=False),
        Column("late", Boolean, nullable=False),
        Column("score", Float),
        Column("max_score", Float),
        Column("message", Text, nullable=False),
        Column("breakdown", JSON, nullable=False),
        Column("files_path", Text, nullable=False),
        Column("feedback_path", Text),
        Column("feedback_released", Boolean, nullable=False),
        Column("graded_at", UTCDateTime()),
        Column("pushed_at", UTCDateTime()),
        *([Column("lms_status", String(20)), Column("lms_score", Float),
           Column("lms_max_score", Float), Column("lms_late", Boolean),
           Column("lms_late_penalty", Float), Column("lms_final_score", Float),
           Column("lms_counts", Boolean), Column("lms_updated_at", UTCDateTime()),
           Column("error_id", String(16)), Column("error_details", Text)] if later else []),
        Index("ix_grader_submissions_owner", "course", "assignment", "learner"),
    )
    if revision >= "0002":
        Table(
            "grader_gradebook_states", metadata,
            Column("submission_id", String(32), ForeignKey("grader_submissions.id"),
                   primary_key=True),
            Column("fingerprint", String(64), nullable=False),
            Column("recorded_at", UTCDateTime(), nullable=False),
        )
    Table(
        "grader_jobs", metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("submission_id", String(32), ForeignKey("grader_submissions.id"),
               nullable=False, index=True),
        Column("kind", String(20), nullable=False),
        Column("created_at", UTCDateTime(), nullable=False),
        Column("run_after", UTCDateTime(), nullable=False),
        Column("claimed_by", String(200)),
        Column("lease_until", UTCDateTime()),
        Column("attempts", Integer, nullable=False),
        *([Column("waits", Integer, nullable=False, server_default="0"),
           Column("waiting_since", UTCDateTime())] if later else []),
        Column("done_at", UTCDateTime()),
        Column("failed", Boolean, nullable=False),
        Column("last_error", Text, nullable=False),
        Index("ix_grader_jobs_open", "done_at", "run_after", "id"),
    )
    return metadata


# Every column of every table with a value (none left NULL), of every kind the tables hold.
VALUES = {
    "grader_releases": [
        {"course": "python-101", "assignment": "ps1-basics", "released_at": AT,
         "due_at": AT + dt.timedelta(days=7, microseconds=1),
         "late_policy": {"mode": "penalty", "percent_per_day": 12.5, "cutoff_days": 3},
         "notebooks": ["ps1.ipynb", "parts/é 2.ipynb"], "feedback_auto": False},
        {"course": "python-101", "assignment": "ps2-loops", "released_at": AT,
         "due_at": AT, "late_policy": {}, "notebooks": [], "feedback_auto": True},
    ],
    "grader_submissions": [
        {"id": f"{n:032x}", "course": "python-101", "assignment": "ps1-basics",
         "learner": f"learner-{n}", "submitted_at": AT + dt.timedelta(minutes=n),
         "status": "graded", "late": bool(n % 2), "score": 7.25 + n, "max_score": 10.0,
         "message": "Ünïcode — “quotes”, a\nnew line and a tab\t", "files_path": f"/sub/{n}",
         "breakdown": [{"name": "q1", "score": 2.5, "max_score": 3, "nested": {"a": [1, None]}}],
         "feedback_path": f"/feedback/{n}", "feedback_released": True,
         "graded_at": AT + dt.timedelta(hours=1), "pushed_at": AT + dt.timedelta(hours=2),
         "lms_status": "graded", "lms_score": 7.25, "lms_max_score": 10.0, "lms_late": True,
         "lms_late_penalty": 0.125, "lms_final_score": 6.34375, "lms_counts": bool(n % 2),
         "lms_updated_at": AT + dt.timedelta(hours=3), "error_id": f"e{n:015d}",
         "error_details": "Traceback (most recent call last):\n  ...\nOSError: disk"}
        for n in (1, 2)
    ],
    "grader_gradebook_states": [
        {"submission_id": f"{1:032x}", "fingerprint": "f" * 64, "recorded_at": AT},
    ],
    "grader_jobs": [
        {"submission_id": f"{n:032x}", "kind": kind, "created_at": AT, "run_after": AT,
         "claimed_by": "host:42:0", "lease_until": AT + dt.timedelta(seconds=30),
         "attempts": 2, "waits": 3, "waiting_since": AT, "done_at": AT + dt.timedelta(days=1),
         "failed": n == 2, "last_error": "the sandbox is gone"}
        for n, kind in ((1, JobKind.AUTOGRADE), (1, JobKind.PUSH), (2, JobKind.SYNC))
    ],
}


def make_it_the_old_way(url: str, revision: str) -> dict[str, list[dict]]:
    """A database as a grader made it before the revisions, when its models were at
    ``revision``, with :data:`VALUES` in every table; its rows as read back."""
    metadata = tables_before_revisions(revision)
    engine = create_engine(database_url(url))
    with engine.begin() as connection:
        metadata.create_all(connection)
        for table in metadata.sorted_tables:
            connection.execute(table.insert(), [
                {key: value for key, value in row.items() if key in table.c}
                for row in VALUES[table.name]
            ])
    written = rows_of(engine, metadata)
    engine.dispose()
    assert all(written[name] for name in metadata.tables)  # data in every table
    return written


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize(
    "before", ["0003", "0002", "0001"],
    ids=["today", "before-the-lms-record-and-waits", "the-first-tables"],
)
def test_a_database_made_before_the_revisions_is_upgraded_on_start_and_loses_nothing(
    tmp_path, dialect, before
):
    with new_database(dialect, tmp_path, "grader_before") as url:
        written = make_it_the_old_way(url, before)
        db = Database(url)  # the grader starting
        try:
            assert db.migration == Migration(
                head=REVISIONS[-1], applied=REVISIONS[REVISIONS.index(before) + 1:],
                stamped=before,
            )
            # every row and every value as it was, read as the old tables had them
            assert rows_of(db.engine, tables_before_revisions(before)) == written
            assert differences_from_the_models(Database, url) == []
            with db.transaction() as session:
                first = session.get(Submission, f"{1:032x}")
                assert (first.learner, first.score, first.breakdown[0]["nested"]) == (
                    "learner-1", 8.25, {"a": [1, None]}
                )
                assert session.get(Release, ("python-101", "ps1-basics")).policy.cutoff_days == 3
                jobs = session.query(Job).order_by(Job.id).all()
                if before < "0003":  # the columns added late: as a new submission has them
                    assert (first.lms_status, first.error_id, first.error_details) == (
                        None, None, None
                    )
                    assert [(job.waits, job.waiting_since) for job in jobs] == [(0, None)] * 3
                else:
                    assert (first.lms_final_score, first.lms_counts) == (6.34375, True)
                    assert [job.waits for job in jobs] == [3, 3, 3]
                gradebook = session.get(GradebookState, f"{1:032x}")
                assert (gradebook is None) == (before == "0001")
                enqueue(session, f"{2:032x}", JobKind.PUSH, AT)  # the grader keeps working
            assert claim(db, "w1", 30.0, 3, now=AT).submission_id == f"{2:032x}"
            assert Database(url).migration == Migration(head=REVISIONS[-1])  # once
        finally:
            db.dispose()


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_new_database_is_made_by_the_revisions_and_matches_the_models(tmp_path, dialect):
    assert revisions(Database) == REVISIONS
    with new_database(dialect, tmp_path, "grader_new") as url:
        migration, tables = start_on_an_empty_database(Database, url)
        assert migration == Migration(head="0003", applied=REVISIONS)
        assert tables == {*Database.metadata.tables, "grader_schema_version"}
        assert differences_from_the_models(Database, url) == []


def test_grader_processes_starting_at_once_take_turns_and_one_upgrades():
    with new_postgresql_database("grader_race") as url:
        assert start_at_once("grading", Database, url) == [
            "at revision 0003, the newest: nothing to do",
            "upgraded to revision 0003 (ran 0001, 0002, 0003)",
        ]
        assert differences_from_the_models(Database, url) == []
