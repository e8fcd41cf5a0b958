"""The durable job queue: one table (``grader_jobs``) and a few guarded statements.

The rules (docs/grading.md, "Queue"):

- :func:`enqueue` adds a job in the caller's transaction, so a submission and its job are
  committed together, or neither is.
- :func:`claim` takes the oldest free job in one statement: ``UPDATE … WHERE id = (SELECT … FOR
  UPDATE SKIP LOCKED)`` on PostgreSQL (concurrent claimers skip each other's row); on SQLite the
  same ``UPDATE`` repeats the "free" condition and runs under SQLite's write lock. Free means not
  done, due, and not leased (or the lease ran out: its worker died).
- :class:`LeaseKeeper` renews the lease while the job runs.
- :func:`finish` marks the job done in the caller's transaction, only if the caller still holds
  it; the caller records the result in the same transaction and rolls back when it does not.
- :func:`fail` puts the job back with a growing delay, or gives it up after ``max_attempts``
  claims (``failed``; an autograde job also marks its submission ``failed``). Attempts are
  counted at claim time, so a job whose worker keeps dying is given up too.
- :func:`wait_for_sandbox` puts back a job that found the grading sandbox unavailable (no
  engine, no image): not an attempt, and not the learner's failure. It waits 5 s, then twice as
  long each time up to 5 minutes, and is given up only once it has waited longer than the
  grader's patience (``GRADER_SANDBOX_WAIT_SECONDS``). :func:`waiting_jobs` lists such jobs
  with the reason, for admins.
- A job given up leaves its error (exception and traceback) with the job and, for an
  autograde, on the submission as ``error_details`` under an ``error_id`` that the log names
  too; the submission's ``message`` is a sentence (:data:`GRADER_FAULT`), never the error's
  text: admins see the details, instructors the id, learners the sentence.

Times come from the workers' clocks: machines sharing a database need synchronised clocks (NTP),
to well within a lease.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import threading
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from grading.store import Database, Job, JobKind, Submission, SubmissionStatus, utcnow

log = logging.getLogger(__name__)

RETRY_DELAY_SECONDS = 5.0  # the first retry of a failed job; doubled for each further attempt
MAX_RETRY_DELAY_SECONDS = 300.0
ERROR_CHARS = 4000
GRADER_FAULT = (
    "This submission could not be graded because of a problem on the grader's side, not in "
    "your notebook. Your instructor can have it graded again; nothing you submitted is lost."
)
"""The learner's sentence for a grading the grader gave up (status ``failed``)."""


def retry_delay(tries: int) -> float:
    """Seconds to wait before the next try of a job that failed ``tries`` times (1, 2, ...):
    5 s, then twice as long each time, at most 5 minutes."""
    return min(RETRY_DELAY_SECONDS * 2 ** (max(tries, 1) - 1), MAX_RETRY_DELAY_SECONDS)


@dataclass(frozen=True)
class ClaimedJob:
    id: int
    submission_id: str
    kind: str
    attempts: int
    worker_id: str


def enqueue(
    session: Session, submission_id: str, kind: str, now: dt.datetime | None = None
) -> Job:
    """Add a job to the caller's transaction (it is claimable once that commits)."""
    now = now or utcnow()
    job = Job(
        submission_id=submission_id, kind=kind, created_at=now, run_after=now, attempts=0,
        failed=False, last_error="",
    )
    session.add(job)
    return job


def has_open_job(session: Session, submission_id: str, kind: str) -> bool:
    """Whether ``submission_id`` already waits for (or is in) a ``kind`` job."""
    found = session.scalar(
        select(Job.id).where(
            Job.submission_id == submission_id, Job.kind == kind, Job.done_at.is_(None)
        ).limit(1)
    )
    return found is not None


def _free(job, now: dt.datetime):
    return and_(
        job.done_at.is_(None),
        job.run_after <= now,
        or_(job.lease_until.is_(None), job.lease_until < now),
    )


def claim(
    db: Database,
    worker_id: str,
    lease_seconds: float,
    max_attempts: int,
    now: dt.datetime | None = None,
) -> ClaimedJob | None:
    """Lease the oldest free job to ``worker_id``, pushes to the LMS before gradings; ``None``
    when there is none. A push takes milliseconds and is what makes a grade visible: behind a
    burst of gradings in plain order, every learner would wait for the whole burst. A job
    claimed more than ``max_attempts`` times (its workers kept dying) is given up instead."""
    while True:
        at = now or utcnow()
        other = aliased(Job)
        candidate = (
            select(other.id)
            .where(_free(other, at))
            .order_by(case((other.kind == JobKind.PUSH, 0), else_=1), other.id)
            .limit(1)
            .with_for_update(skip_locked=True)  # PostgreSQL; SQLite's compiler leaves it out
            .scalar_subquery()
        )
        statement = (
            update(Job)
            .where(Job.id == candidate, _free(Job, at))
            .values(
                claimed_by=worker_id,
                lease_until=at + dt.timedelta(seconds=lease_seconds),
                attempts=Job.attempts + 1,
            )
            .returning(Job.id, Job.submission_id, Job.kind, Job.attempts, Job.last_error)
            .execution_options(synchronize_session=False)
        )
        with db.transaction() as session:
            row = session.execute(statement).first()
            if row is None:
                return None
            job = ClaimedJob(row.id, row.submission_id, row.kind, row.attempts, worker_id)
            if job.attempts <= max_attempts:
                return job
            reason = row.last_error or "its worker stopped while running it (crash or kill)"
            error_id = _give_up(session, job, f"gave up after {max_attempts} attempts: {reason}",
                                at)
            log.error("job %s (%s of %s) given up (error %s): %s", job.id, job.kind,
                      job.submission_id, error_id, reason)


@dataclass(frozen=True)
class Place:
    """Where a submission's open job stands: ``running`` (a worker holds its lease) or waiting
    with ``ahead`` gradings that a worker takes first."""

    running: bool
    ahead: int


def place_in_line(
    session: Session, submission_id: str, kind: str = JobKind.AUTOGRADE,
    now: dt.datetime | None = None,
) -> Place | None:
    """The place of ``submission_id``'s open ``kind`` job (None: it has none), by :func:`claim`'s
    order: jobs ahead are the free ones, due now, that are no push (a push takes milliseconds)
    and are older. A job waiting to be retried later is not ahead; a job a worker holds is
    running, not waiting. Two statements whatever the queue's length (the count runs on the
    open-jobs index)."""
    at = now or utcnow()
    mine = session.execute(
        select(Job.id, Job.lease_until)
        .where(Job.submission_id == submission_id, Job.kind == kind, Job.done_at.is_(None))
        .order_by(Job.id.desc())
        .limit(1)
    ).first()
    if mine is None:
        return None
    if mine.lease_until is not None and mine.lease_until >= at:
        return Place(running=True, ahead=0)
    ahead = session.scalar(
        select(func.count(Job.id)).where(_free(Job, at), Job.id < mine.id, Job.kind != JobKind.PUSH)
    )
    return Place(running=False, ahead=int(ahead or 0))


def renew(db: Database, job: ClaimedJob, lease_seconds: float) -> bool:
    """Extend the lease; ``False`` when the job is no longer this worker's."""
    now = utcnow()
    with db.transaction() as session:
        result = session.execute(
            update(Job)
            .where(Job.id == job.id, Job.claimed_by == job.worker_id, Job.done_at.is_(None))
            .values(lease_until=now + dt.timedelta(seconds=lease_seconds))
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1


def holds(session: Session, job: ClaimedJob) -> bool:
    """Whether ``job`` is still this worker's (not done, not claimed by another)."""
    found = session.scalar(
        select(Job.id).where(
            Job.id == job.id, Job.claimed_by == job.worker_id, Job.done_at.is_(None)
        )
    )
    return found is not None


def finish(session: Session, job: ClaimedJob, now: dt.datetime | None = None) -> bool:
    """Mark the job done in the caller's transaction. ``False``: another worker holds it now
    (this one's lease ran out and it was claimed again), so the caller must roll back."""
    result = session.execute(
        update(Job)
        .where(Job.id == job.id, Job.claimed_by == job.worker_id, Job.done_at.is_(None))
        .values(done_at=now or utcnow(), lease_until=None)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def fail(
    db: Database,
    job: ClaimedJob,
    error: str,
    max_attempts: int,
    give_up: bool = False,
    now: dt.datetime | None = None,
) -> None:
    """The job raised ``error``: retry it later, or give it up after ``max_attempts`` claims
    (at once when ``give_up``: retrying cannot help)."""
    now = now or utcnow()
    error = error[-ERROR_CHARS:]
    with db.transaction() as session:
        if not holds(session, job):
            log.warning("job %s failed after its lease was lost: %s", job.id, error)
            return
        if give_up or job.attempts >= max_attempts:
            error_id = _give_up(session, job, error, now)
            log.error("job %s (%s of %s) failed for good (error %s): %s", job.id, job.kind,
                      job.submission_id, error_id, error)
            return
        delay = retry_delay(job.attempts)
        _put_back(session, job, now + dt.timedelta(seconds=delay), error)
        log.warning("job %s (%s of %s) failed, retry in %.0f s: %s", job.id, job.kind,
                    job.submission_id, delay, error)


def _put_back(
    session: Session, job: ClaimedJob, run_after: dt.datetime, error: str, **values: Any
) -> None:
    """The job free again from ``run_after`` on (with ``values`` changed too); an autograde's
    submission is ``queued`` again."""
    session.execute(
        update(Job)
        .where(Job.id == job.id)
        .values(claimed_by=None, lease_until=None, last_error=error[-ERROR_CHARS:],
                run_after=run_after, **values)
        .execution_options(synchronize_session=False)
    )
    if job.kind == JobKind.AUTOGRADE:
        session.execute(
            update(Submission)
            .where(Submission.id == job.submission_id)
            .values(status=SubmissionStatus.QUEUED)
            .execution_options(synchronize_session=False)
        )


def _give_up(session: Session, job: ClaimedJob, error: str, now: dt.datetime) -> str:
    """Mark the job failed; an autograde's submission too, with :data:`GRADER_FAULT` for the
    learner and the error under a new error id. Returns the error id (the log names it)."""
    error_id = secrets.token_hex(4)
    session.execute(
        update(Job)
        .where(Job.id == job.id)
        .values(done_at=now, lease_until=None, failed=True, last_error=error[-ERROR_CHARS:])
        .execution_options(synchronize_session=False)
    )
    if job.kind == JobKind.AUTOGRADE:
        session.execute(
            update(Submission)
            .where(Submission.id == job.submission_id)
            .values(status=SubmissionStatus.FAILED, message=GRADER_FAULT, error_id=error_id,
                    error_details=error[-ERROR_CHARS:])
            .execution_options(synchronize_session=False)
        )
    return error_id


def wait_for_sandbox(
    db: Database,
    job: ClaimedJob,
    reason: str,
    patience_seconds: float,
    now: dt.datetime | None = None,
) -> None:
    """The job found the grading sandbox unavailable (``reason``): put it back to try again
    later, without counting this claim as an attempt, each wait twice as long as the one before
    (:func:`retry_delay`); give it up once it has waited more than ``patience_seconds``."""
    now = now or utcnow()
    with db.transaction() as session:
        if not holds(session, job):
            log.warning("job %s: the sandbox is unavailable, and the lease was lost: %s",
                        job.id, reason)
            return
        row = session.get(Job, job.id)
        since = row.waiting_since or now
        if (now - since).total_seconds() > patience_seconds:
            waited = round((now - since).total_seconds() / 60)
            error = (f"gave up after waiting {waited} min for the grading sandbox: {reason}")
            error_id = _give_up(session, job, error, now)
            log.error("job %s (%s of %s) failed for good (error %s): %s", job.id, job.kind,
                      job.submission_id, error_id, error)
            return
        waits = (row.waits or 0) + 1
        delay = retry_delay(waits)
        _put_back(
            session, job, now + dt.timedelta(seconds=delay),
            f"waiting for the grading sandbox: {reason}", waits=waits, waiting_since=since,
            attempts=max(row.attempts - 1, 0),  # not the submission's failure: not an attempt
        )
    log.warning("job %s (%s of %s) waits for the grading sandbox (try %s), next try in %.0f s: "
                "%s", job.id, job.kind, job.submission_id, waits, delay, reason)


def waiting_jobs(db: Database, limit: int = 50) -> list[dict[str, Any]]:
    """The open jobs waiting for the grading sandbox, longest waiting first: what an admin is
    shown of why submissions wait."""
    with db.transaction() as session:
        rows = session.execute(
            select(Job, Submission.course, Submission.assignment)
            .join(Submission, Submission.id == Job.submission_id)
            .where(Job.done_at.is_(None), Job.waiting_since.is_not(None))
            .order_by(Job.waiting_since, Job.id)
            .limit(limit)
        ).all()
    return [
        {
            "job": job.id,
            "kind": job.kind,
            "submission": job.submission_id,
            "course": course,
            "assignment": assignment,
            "waiting_since": job.waiting_since.isoformat(),
            "tries": job.waits,
            "next_try": job.run_after.isoformat(),
            "reason": job.last_error,
        }
        for job, course, assignment in rows
    ]


class LeaseKeeper:
    """Renews a job's lease from a background thread while the worker runs it.

    ``lost`` is set when a renewal finds the job taken by another worker; the worker then does
    not record its result (:func:`finish` would refuse anyway)."""

    def __init__(self, db: Database, job: ClaimedJob, lease_seconds: float) -> None:
        self.db = db
        self.job = job
        self.lease_seconds = lease_seconds
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-{job.id}", daemon=True)

    def __enter__(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.lease_seconds / 3):
            try:
                if not renew(self.db, self.job, self.lease_seconds):
                    log.warning("job %s: lease lost to another worker", self.job.id)
                    self.lost.set()
                    return
            except Exception:  # the database is away for a moment: try again next round
                log.exception("job %s: lease renewal failed", self.job.id)
