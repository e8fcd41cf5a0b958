"""The grader's job queue on a real PostgreSQL (production's database): under racing workers
each job is claimed by exactly one, pushes go before gradings, and an expired lease is taken
over. The same rules on SQLite are in tests/unit/grading/test_queue_sqlite.py.

The database is a fresh one per module on the PostgreSQL that ``DATABASE_URL`` names (``make
test`` starts it), created and dropped here."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator

import pytest

from grading.queue import claim, enqueue, finish
from grading.store import Database, Job, JobKind, Submission, SubmissionStatus
from tests.support.store_migrations import new_postgresql_database
from tests.unit.grading.test_queue_sqlite import (
    expected_queue_families,
    families,
    queue_for_metrics,
)
from tests.unit.grading.test_store_columns import ADDED, columns_of, make_it_an_older_database

LEASE = 30.0
WORKERS = 8
JOBS = 60


@pytest.fixture(scope="module")
def pg_db() -> Iterator[Database]:
    with new_postgresql_database("grader_queue") as url:
        db = Database(url)
        assert db.dialect == "postgresql"
        try:
            yield db
        finally:
            db.dispose()


@pytest.fixture
def empty_queue(pg_db) -> Database:
    with pg_db.transaction() as session:
        session.query(Job).delete()
        session.query(Submission).delete()
    return pg_db


def add_submissions(db: Database, count: int) -> list[str]:
    ids = [f"{index:032x}" for index in range(count)]
    now = dt.datetime.now(dt.UTC)
    with db.transaction() as session:
        for submission_id in ids:
            session.add(Submission(
                id=submission_id, course="python-101", assignment="ps1-basics",
                learner="grace", submitted_at=now, status=SubmissionStatus.QUEUED,
                files_path="/nowhere",
            ))
        session.flush()
        for submission_id in ids:
            enqueue(session, submission_id, JobKind.AUTOGRADE, now)
    return ids


def test_racing_workers_each_claim_a_job_once(empty_queue):
    ids = add_submissions(empty_queue, JOBS)
    claimed: list[tuple[str, str]] = []
    lock = threading.Lock()
    start = threading.Barrier(WORKERS)

    def work(name: str) -> None:
        start.wait()
        while (job := claim(empty_queue, name, LEASE, 3)) is not None:
            with lock:
                claimed.append((job.submission_id, name))
            with empty_queue.transaction() as session:
                assert finish(session, job, dt.datetime.now(dt.UTC))

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(submission_id for submission_id, _ in claimed) == ids  # each exactly once
    assert len({name for _, name in claimed}) > 1  # the work was shared


def test_a_push_goes_before_older_gradings(empty_queue):
    first, *_ = add_submissions(empty_queue, 3)
    with empty_queue.transaction() as session:
        enqueue(session, first, JobKind.PUSH)
    kinds = [claim(empty_queue, f"w{i}", LEASE, 3).kind for i in range(4)]
    assert kinds == [JobKind.PUSH, JobKind.AUTOGRADE, JobKind.AUTOGRADE, JobKind.AUTOGRADE]


def test_a_job_whose_lease_ran_out_is_taken_over(empty_queue):
    (submission_id,) = add_submissions(empty_queue, 1)
    crashed = claim(empty_queue, "crashed", 1.0, 3)
    assert claim(empty_queue, "other", LEASE, 3) is None  # leased: nobody else gets it
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5)
    taken = claim(empty_queue, "other", LEASE, 3, now=later)
    assert (taken.id, taken.attempts, taken.submission_id) == (crashed.id, 2, submission_id)
    with empty_queue.transaction() as session:
        assert not finish(session, crashed, later)  # the crashed worker's result is dropped


def test_an_older_grader_database_gains_the_new_columns_on_start():
    with new_postgresql_database("grader_queue") as url:
        older = Database(url)
        make_it_an_older_database(older)
        assert not set(ADDED["grader_submissions"]) & columns_of(older, "grader_submissions")
        older.dispose()
        errors: list[BaseException] = []

        def start() -> None:
            try:
                Database(url).dispose()
            except Exception as exc:  # reported below: a thread's exception fails nothing
                errors.append(exc)

        starting = [threading.Thread(target=start) for _ in range(3)]
        for thread in starting:  # several grader processes starting at once take turns
            thread.start()
        for thread in starting:
            thread.join(timeout=60)
        assert errors == []
        db = Database(url, create=False)
        try:
            for table, columns in ADDED.items():
                assert set(columns) <= columns_of(db, table)
            with db.transaction() as session:
                kept = session.get(Submission, "0" * 32)
                assert (kept.learner, kept.lms_counts, kept.error_details) == ("grace", None, None)
                enqueue(session, kept.id, JobKind.PUSH)
            job = claim(db, "w1", LEASE, 3)
            assert (job.submission_id, job.kind) == ("0" * 32, JobKind.PUSH)
        finally:
            db.dispose()


def test_the_queue_is_measured_from_the_database_by_kind_and_state(empty_queue):
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    queue_for_metrics(empty_queue, now)
    assert families(empty_queue, now) == expected_queue_families()
