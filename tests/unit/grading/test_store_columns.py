"""A grader database made before the LMS's answers and the failures' details were kept gains
their columns when the grader starts (its revision 0003, ``grading/migrations/``), keeping its
rows. The same on PostgreSQL is in tests/integration/grading/test_queue_postgres.py; every
revision, with data in every table, on both databases, in
tests/integration/grading/test_store_migrations.py."""

from __future__ import annotations

import datetime as dt
import io

from sqlalchemy import inspect, text

from grading import services
from grading.store import Database, Submission

# The columns this version added; a database made before lacks them.
ADDED = {
    "grader_submissions": ["lms_status", "lms_score", "lms_max_score", "lms_late",
                           "lms_late_penalty", "lms_final_score", "lms_counts", "lms_updated_at",
                           "error_id", "error_details"],
    "grader_jobs": ["waits", "waiting_since"],
}


def make_it_an_older_database(db: Database) -> None:
    """Drop the added columns and the record of the database's revision, as if the tables had
    been made by the version before (which had no revisions), with one submission in them."""
    with db.engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO grader_submissions (id, course, assignment, learner, submitted_at, "
            "status, late, message, breakdown, files_path, feedback_released) VALUES "
            "(:id, 'python-101', 'ps1-basics', 'grace', :at, 'graded', false, '', '[]', "
            "'/nowhere', false)"
        ), {"id": "0" * 32, "at": dt.datetime(2027, 1, 10, tzinfo=dt.UTC)})
        for table, columns in ADDED.items():
            for column in columns:
                connection.execute(text(f"ALTER TABLE {table} DROP COLUMN {column}"))
        connection.execute(text(f"DROP TABLE {Database.version_table}"))


def columns_of(db: Database, table: str) -> set[str]:
    return {c["name"] for c in inspect(db.engine).get_columns(table)}


def test_an_older_grader_database_gains_the_new_columns_on_start(
    grader_settings, release_row, tar_of
):
    older = Database(grader_settings.db_url)
    make_it_an_older_database(older)
    assert not set(ADDED["grader_submissions"]) & columns_of(older, "grader_submissions")
    older.dispose()

    db = Database(grader_settings.db_url)  # the grader starting
    for table, columns in ADDED.items():
        assert set(columns) <= columns_of(db, table)
    with db.transaction() as session:
        kept = session.get(Submission, "0" * 32)
        assert (kept.learner, kept.status, kept.lms_status, kept.error_id) == (
            "grace", "graded", None, None
        )
    release_row()
    new = services.submit(db, grader_settings, "python-101", "ps1-basics", "grace",
                          io.BytesIO(tar_of({"a.ipynb": b"{}"})))
    assert new.status == "queued"
    db.dispose()
