"""The job queue on SQLite (the embedded default): exclusive claims, leases, retries, give-up.

The same rules on PostgreSQL are in tests/integration/grading/test_queue_postgres.py."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import select

from grading.metrics import QueueCollector
from grading.queue import (
    GRADER_FAULT,
    LeaseKeeper,
    claim,
    enqueue,
    fail,
    finish,
    holds,
    wait_for_sandbox,
)
from grading.selectors import queue_measures
from grading.store import Job, JobKind, Submission, SubmissionStatus

LEASE = 30.0


def add_submission(db, submission_id: str, with_job: bool = True) -> None:
    now = dt.datetime.now(dt.UTC)
    with db.transaction() as session:
        session.add(Submission(
            id=submission_id, course="python-101", assignment="ps1-basics", learner="grace",
            submitted_at=now, status=SubmissionStatus.QUEUED, files_path="/nowhere",
        ))
        session.flush()
        if with_job:
            enqueue(session, submission_id, JobKind.AUTOGRADE, now)


def job_row(db, job_id: int) -> Job:
    with db.transaction() as session:
        return session.get(Job, job_id)


def submission_row(db, submission_id: str) -> Submission:
    with db.transaction() as session:
        return session.get(Submission, submission_id)


def test_a_job_is_committed_with_its_submission_or_not_at_all(grader_db):
    with pytest.raises(RuntimeError), grader_db.transaction() as session:
        session.add(Submission(
            id="a" * 32, course="python-101", assignment="ps1-basics", learner="grace",
            submitted_at=dt.datetime.now(dt.UTC), files_path="/nowhere",
        ))
        session.flush()
        enqueue(session, "a" * 32, JobKind.AUTOGRADE)
        raise RuntimeError("the request failed before the commit")
    with grader_db.transaction() as session:
        assert session.scalars(select(Job)).all() == []
        assert session.scalars(select(Submission)).all() == []


def test_a_push_goes_before_older_gradings_so_grades_show_during_a_burst(grader_db):
    for digit in "123":
        add_submission(grader_db, digit * 32)
    with grader_db.transaction() as session:
        enqueue(session, "1" * 32, JobKind.PUSH)  # the first one is graded; the rest wait
    claimed = [claim(grader_db, f"w{i}", LEASE, 3) for i in range(4)]
    assert [(job.kind, job.submission_id[0]) for job in claimed] == [
        (JobKind.PUSH, "1"), (JobKind.AUTOGRADE, "1"), (JobKind.AUTOGRADE, "2"),
        (JobKind.AUTOGRADE, "3"),
    ]


def test_jobs_are_claimed_oldest_first_and_once(grader_db):
    add_submission(grader_db, "1" * 32)
    add_submission(grader_db, "2" * 32)
    first = claim(grader_db, "w1", LEASE, 3)
    second = claim(grader_db, "w2", LEASE, 3)
    assert (first.submission_id, first.attempts, first.kind) == ("1" * 32, 1, JobKind.AUTOGRADE)
    assert second.submission_id == "2" * 32
    assert claim(grader_db, "w3", LEASE, 3) is None


def test_concurrent_claimers_never_share_a_job(grader_db):
    for i in range(40):
        add_submission(grader_db, f"{i:032x}")
    claimed: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def claimer(name: str) -> None:
        start.wait()
        while (job := claim(grader_db, name, LEASE, 3)) is not None:
            with lock:
                claimed.append(job.id)

    threads = [threading.Thread(target=claimer, args=(f"w{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claimed) == sorted(set(claimed))
    assert len(claimed) == 40


def test_a_job_whose_lease_ran_out_is_claimed_again(grader_db):
    add_submission(grader_db, "1" * 32)
    now = dt.datetime.now(dt.UTC)
    first = claim(grader_db, "dead-worker", LEASE, 3, now=now)
    assert claim(grader_db, "w2", LEASE, 3, now=now + dt.timedelta(seconds=LEASE - 1)) is None
    again = claim(grader_db, "w2", LEASE, 3, now=now + dt.timedelta(seconds=LEASE + 1))
    assert (again.id, again.attempts, again.worker_id) == (first.id, 2, "w2")


def test_only_the_lease_holder_can_finish(grader_db):
    add_submission(grader_db, "1" * 32)
    now = dt.datetime.now(dt.UTC)
    stalled = claim(grader_db, "stalled", LEASE, 3, now=now)
    taker = claim(grader_db, "taker", LEASE, 3, now=now + dt.timedelta(seconds=LEASE + 1))
    with grader_db.transaction() as session:
        assert not holds(session, stalled)
        assert finish(session, stalled) is False
    with grader_db.transaction() as session:
        assert finish(session, taker) is True
    assert job_row(grader_db, taker.id).done_at is not None
    assert claim(grader_db, "w3", LEASE, 3, now=now + dt.timedelta(hours=1)) is None


def test_the_lease_keeper_renews_while_the_job_runs(grader_db):
    add_submission(grader_db, "1" * 32)
    job = claim(grader_db, "w1", 3.0, 3)
    before = job_row(grader_db, job.id).lease_until
    with LeaseKeeper(grader_db, job, 3.0) as keeper:
        deadline = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=10)
        while job_row(grader_db, job.id).lease_until == before:
            assert dt.datetime.now(dt.UTC) < deadline, "the lease was never renewed"
            threading.Event().wait(0.1)
    assert not keeper.lost.is_set()
    assert job_row(grader_db, job.id).lease_until > before


def test_the_lease_keeper_notices_a_lost_lease(grader_db):
    add_submission(grader_db, "1" * 32)
    now = dt.datetime.now(dt.UTC)
    job = claim(grader_db, "stalled", 1.5, 3, now=now)
    claim(grader_db, "taker", LEASE, 3, now=now + dt.timedelta(seconds=2))
    with LeaseKeeper(grader_db, job, 1.5) as keeper:
        assert keeper.lost.wait(10)


def test_a_failed_job_is_retried_later_then_given_up(grader_db):
    add_submission(grader_db, "1" * 32)
    now = dt.datetime.now(dt.UTC)
    job = claim(grader_db, "w1", LEASE, 2, now=now)
    fail(grader_db, job, "boom 1", 2, now=now)
    row = job_row(grader_db, job.id)
    assert (row.claimed_by, row.last_error, row.done_at) == (None, "boom 1", None)
    assert row.run_after > now
    assert submission_row(grader_db, "1" * 32).status == SubmissionStatus.QUEUED
    assert claim(grader_db, "w1", LEASE, 2, now=now) is None  # not before its retry time
    later = now + dt.timedelta(minutes=10)
    job = claim(grader_db, "w1", LEASE, 2, now=later)
    assert job.attempts == 2
    fail(grader_db, job, "boom 2", 2, now=later)
    row = job_row(grader_db, job.id)
    assert (row.failed, row.last_error) == (True, "boom 2")
    assert row.done_at is not None
    submission = submission_row(grader_db, "1" * 32)
    assert (submission.status, submission.message) == (SubmissionStatus.FAILED, GRADER_FAULT)
    assert (submission.error_details, len(submission.error_id)) == ("boom 2", 8)


def test_a_job_that_keeps_killing_its_worker_is_given_up_at_its_next_claim(grader_db):
    add_submission(grader_db, "1" * 32)
    now = dt.datetime.now(dt.UTC)
    for attempt in range(2):  # two workers die holding it: their leases run out
        assert claim(grader_db, f"w{attempt}", LEASE, 2, now=now).attempts == attempt + 1
        now += dt.timedelta(seconds=LEASE + 1)
    assert claim(grader_db, "w3", LEASE, 2, now=now) is None
    submission = submission_row(grader_db, "1" * 32)
    assert (submission.status, submission.message) == (SubmissionStatus.FAILED, GRADER_FAULT)
    assert "gave up after 2 attempts" in submission.error_details
    assert "stopped while running it" in submission.error_details


def test_give_up_at_once_skips_the_retries(grader_db):
    add_submission(grader_db, "1" * 32)
    job = claim(grader_db, "w1", LEASE, 3)
    fail(grader_db, job, "the LMS refused it", 3, give_up=True)
    assert job_row(grader_db, job.id).failed is True


def test_a_failure_reported_after_the_lease_was_lost_changes_nothing(grader_db):
    add_submission(grader_db, "1" * 32)
    now = dt.datetime.now(dt.UTC)
    stalled = claim(grader_db, "stalled", LEASE, 3, now=now)
    claim(grader_db, "taker", LEASE, 3, now=now + dt.timedelta(seconds=LEASE + 1))
    fail(grader_db, stalled, "late news", 3)
    row = job_row(grader_db, stalled.id)
    assert (row.claimed_by, row.last_error, row.failed) == ("taker", "", False)


def test_a_job_waiting_for_the_sandbox_waits_twice_as_long_each_time_up_to_five_minutes(
    grader_db,
):
    add_submission(grader_db, "1" * 32)
    now = dt.datetime.now(dt.UTC)
    delays = []
    for _ in range(9):
        job = claim(grader_db, "w1", LEASE, 1, now=now)
        assert job.attempts == 1  # with one attempt allowed: waits never spend it
        wait_for_sandbox(grader_db, job, "no Docker engine answers", 3600, now=now)
        row = job_row(grader_db, job.id)
        delays.append((row.run_after - now).total_seconds())
        now = row.run_after
    assert delays == [5, 10, 20, 40, 80, 160, 300, 300, 300]
    assert submission_row(grader_db, "1" * 32).status == SubmissionStatus.QUEUED


def test_a_job_that_waited_longer_than_the_patience_is_given_up_as_the_graders_fault(grader_db):
    add_submission(grader_db, "1" * 32)
    start = dt.datetime.now(dt.UTC)
    job = claim(grader_db, "w1", LEASE, 3, now=start)
    wait_for_sandbox(grader_db, job, "no Docker engine answers", 600, now=start)
    later = start + dt.timedelta(seconds=601)
    job = claim(grader_db, "w1", LEASE, 3, now=later)
    wait_for_sandbox(grader_db, job, "no Docker engine answers", 600, now=later)
    row = job_row(grader_db, job.id)
    assert (row.failed, row.done_at is not None) == (True, True)
    submission = submission_row(grader_db, "1" * 32)
    assert (submission.status, submission.message) == (SubmissionStatus.FAILED, GRADER_FAULT)
    assert submission.error_details == (
        "gave up after waiting 10 min for the grading sandbox: no Docker engine answers"
    )


# -- the queue as Prometheus sees it --------------------------------------------------------------


def queue_for_metrics(db, now: dt.datetime) -> None:
    """Open jobs in each state: a grading running under a lease (queued 10 minutes ago), one put
    back to wait for the sandbox (8), one waiting for a worker (6), a push waiting (1); and a
    grading done long ago, which is not in the queue any more."""
    minutes = lambda n: now - dt.timedelta(minutes=n)  # noqa: E731
    for digit in "12345":
        add_submission(db, digit * 32, with_job=False)
    with db.transaction() as session:
        session.add_all([
            Job(submission_id="1" * 32, kind=JobKind.AUTOGRADE, created_at=minutes(10),
                run_after=minutes(10), claimed_by="w1", lease_until=now + dt.timedelta(seconds=30)),
            Job(submission_id="2" * 32, kind=JobKind.AUTOGRADE, created_at=minutes(8),
                run_after=now + dt.timedelta(seconds=20), waiting_since=minutes(7), waits=2),
            Job(submission_id="3" * 32, kind=JobKind.AUTOGRADE, created_at=minutes(6),
                run_after=minutes(6)),
            Job(submission_id="4" * 32, kind=JobKind.PUSH, created_at=minutes(1),
                run_after=minutes(1)),
            Job(submission_id="5" * 32, kind=JobKind.AUTOGRADE, created_at=minutes(60),
                run_after=minutes(60), done_at=minutes(50)),
        ])


def families(db, now: dt.datetime) -> dict[str, dict[tuple, float]]:
    collector = QueueCollector(lambda: queue_measures(db, now), now=lambda: now)
    return {family.name: {tuple(sorted(sample.labels.items())): sample.value
                          for sample in family.samples}
            for family in collector.collect()}


def expected_queue_families() -> dict[str, dict[tuple, float]]:
    def jobs(kind, state):
        return (("kind", kind), ("state", state))

    return {
        "grader_queue_jobs": {
            jobs("autograde", "waiting"): 1, jobs("autograde", "running"): 1,
            jobs("autograde", "sandbox_wait"): 1,
            jobs("push", "waiting"): 1, jobs("push", "running"): 0, jobs("push", "sandbox_wait"): 0,
            jobs("sync", "waiting"): 0, jobs("sync", "running"): 0, jobs("sync", "sandbox_wait"): 0,
        },
        "grader_queue_oldest_job_age_seconds": {
            (("kind", "autograde"),): 600.0, (("kind", "push"),): 60.0, (("kind", "sync"),): 0.0,
        },
    }


def test_the_queue_is_measured_from_the_database_by_kind_and_state(grader_db):
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    queue_for_metrics(grader_db, now)
    assert families(grader_db, now) == expected_queue_families()


def test_an_empty_queue_measures_zero_jobs_and_no_age(grader_db):
    measured = families(grader_db, dt.datetime.now(dt.UTC))
    assert set(measured["grader_queue_jobs"].values()) == {0}
    assert set(measured["grader_queue_oldest_job_age_seconds"].values()) == {0.0}
