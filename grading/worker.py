"""Worker processes: claim a job, grade the submission (or push its grade), record, finish.

A worker runs one job at a time, in a loop:

- ``autograde``: the submission is marked ``grading`` and handed to ``grade(submission) ->
  result`` (by default :func:`nbgrader_grade`, which calls ``grading.autograde.autograde`` and
  gives a ``grading.result.AutogradeResult``; tests inject their own). The result, a copy of
  its feedback folder, the end of the job and — when an LMS is configured — a ``push`` job are
  committed in one transaction, and only while the worker still holds the job's lease: a
  worker that lost its job to another (it stalled past its lease) records nothing, so each
  submission's grade is recorded once.
- ``push``: the recorded grade goes to the LMS (``grading.lms``); the LMS write is idempotent by
  submission id, so a push repeated after a crash leaves one grade. The LMS's answer (the grade
  as it recorded it: lateness, penalty, whether it counts) is kept on the submission with the
  end of the job (:func:`keep_recorded_grade`); the grader shows that, never its own idea of
  it. A push the LMS refuses with 4xx (other than 401/403, which a corrected token fixes) is
  given up at once, and nothing is kept in place of the LMS's answer; nor is anything kept
  of an answer that does not say what the LMS recorded.
- ``sync`` (queued by ``grading.manual_grades`` when an instructor graded by hand in the
  formgrader): ``sync(submission) -> result | None`` (by default :func:`nbgrader_sync`, which
  calls ``grading.manual_sync.sync_grade``) reads the grade from nbgrader's gradebook again and
  regenerates the feedback; the result is recorded like an autograde's, with a ``push``. None
  (the gradebook holds the learner's next submission by now) and a grade recorded while it ran
  leave the submission as it is.

:class:`WorkerPool` runs ``GRADER_WORKERS`` worker processes (``python -m grading worker``, or
beside the API with ``python -m grading serve``) and restarts one that dies. SIGTERM stops a
worker after its current job; a worker killed outright (SIGKILL, a crash, a lost machine) leaves
its job to be claimed again once the lease runs out.

A job that finds the grading sandbox unavailable (``grading.sandbox.SandboxUnavailable``: no
Docker engine answers, the image is missing or has no runner) is the grader's problem, not the
learner's: it is put back to wait for the sandbox, longer each time, without counting as an
attempt (``grading.queue.wait_for_sandbox``), and given up only after
``GRADER_SANDBOX_WAIT_SECONDS``. Any other exception is retried a few times
(``GRADER_MAX_ATTEMPTS``); its text and traceback go to the log and to admins, never into what
learners or instructors see (``grading.queue``).

How long each grading took, the sandbox failures and each push's outcome are counted for
Prometheus as they happen (``grading.metrics``).
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as dt
import logging
import multiprocessing
import os
import shutil
import signal
import socket
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from courses.course_file import LatePolicy
from grading import metrics
from grading.lms import (
    GradePush,
    LMSClient,
    LMSRejected,
    LMSUnavailable,
    RecordedGrade,
    UnreadableAnswer,
)
from grading.manual_grades import record_state
from grading.queue import (
    ClaimedJob,
    LeaseKeeper,
    claim,
    enqueue,
    fail,
    finish,
    holds,
    wait_for_sandbox,
)
from grading.sandbox import Sandbox, SandboxUnavailable
from grading.settings import Settings
from grading.store import (
    Database,
    JobKind,
    Release,
    Submission,
    SubmissionStatus,
    utcnow,
)

log = logging.getLogger(__name__)

RESULT_STATUSES = (SubmissionStatus.GRADED, SubmissionStatus.INVALID)
RECORDED_COLUMNS = ("lms_status", "lms_score", "lms_max_score", "lms_late", "lms_late_penalty",
                    "lms_final_score", "lms_counts", "lms_updated_at")


Grade = Callable[[Submission], Any]
"""``grade(submission) -> result``: an object with ``grading.result.AutogradeResult``'s fields
``status`` (``graded``, or ``invalid`` when the notebook cannot be graded), ``score``,
``max_score`` and, when it has them, ``breakdown``, ``feedback_dir``, ``message`` (for the
learner) and ``gradebook_fingerprint`` (recorded for ``grading.manual_grades``)."""
GradeFactory = Callable[[Settings, Database], Grade]
Sync = Callable[[Submission], Any]
"""``sync(submission) -> result | None``: the grade as nbgrader's gradebook has it now."""
SyncFactory = Callable[[Settings, Database], Sync]


class LeaseLost(Exception):
    """Another worker holds the job now: this worker's result is dropped."""


def nbgrader_grade(settings: Settings, db: Database) -> Grade:
    """The production ``grade``: nbgrader's autograde of the submission in a sandbox."""
    # Imported here for its cost only: nbgrader takes seconds to import, which only the worker
    # processes need (the API process imports this module for its WorkerPool).
    # grading.autograde never imports this module.
    from grading.autograde import autograde

    sandbox = Sandbox(**settings.sandbox)  # this worker's, with its warm pool

    def grade(submission: Submission):
        with db.transaction() as session:
            release = session.get(Release, (submission.course, submission.assignment))
        return autograde(
            settings.nbgrader_course_dir(submission.course),
            submission.assignment,
            submission.learner,
            Path(submission.files_path),
            release.due_at if release else None,
            release.policy if release else LatePolicy(),
            submitted_at=submission.submitted_at,
            sandbox=sandbox,
        )

    return grade


def nbgrader_sync(settings: Settings, db: Database) -> Sync:
    """The production ``sync``: ``grading.manual_sync.sync_grade``."""
    from grading.manual_sync import sync_grade  # nbgrader: for its cost, as in nbgrader_grade

    def sync(submission: Submission):
        with db.transaction() as session:
            release = session.get(Release, (submission.course, submission.assignment))
        return sync_grade(
            settings.nbgrader_course_dir(submission.course),
            submission.assignment,
            submission.learner,
            submission.submitted_at,
            release.due_at if release else None,
            release.policy if release else LatePolicy(),
        )

    return sync


def feedback_html(feedback_path: str | None) -> str:
    """The submission's feedback as one HTML text (the LMS shows it in a sandboxed frame)."""
    if not feedback_path or not Path(feedback_path).is_dir():
        return ""
    pages = sorted(Path(feedback_path).rglob("*.html"))
    return "\n".join(page.read_text(encoding="utf-8", errors="replace") for page in pages)


class Worker:
    """One worker: :meth:`run_once` takes and runs at most one job."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        grade: Grade,
        lms: LMSClient | None,
        worker_id: str,
        sync: Sync | None = None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.grade = grade
        self.lms = lms
        self.worker_id = worker_id
        self.sync = sync

    def run(self, stop: threading.Event) -> None:
        """Run jobs until ``stop`` is set (checked between jobs)."""
        log.info("worker %s started", self.worker_id)
        while not stop.is_set():
            try:
                busy = self.run_once()
            except Exception:  # the database is away: wait, then try again
                log.exception("worker %s: cannot take a job", self.worker_id)
                busy = False
            if not busy:
                stop.wait(self.settings.poll_seconds)
        log.info("worker %s stopped", self.worker_id)

    def run_once(self) -> bool:
        """Claim one job and run it; ``False`` when there was none."""
        job = claim(
            self.db, self.worker_id, self.settings.lease_seconds, self.settings.max_attempts
        )
        if job is None:
            return False
        log.info("worker %s: job %s (%s of %s, attempt %s)", self.worker_id, job.id, job.kind,
                 job.submission_id, job.attempts)
        with LeaseKeeper(self.db, job, self.settings.lease_seconds):
            try:
                if job.kind == JobKind.AUTOGRADE:
                    self._autograde(job)
                elif job.kind == JobKind.PUSH:
                    self._push(job)
                elif job.kind == JobKind.SYNC:
                    self._sync(job)
                else:
                    raise ValueError(f"unknown job kind {job.kind!r}")
            except LeaseLost:
                log.warning("worker %s: job %s was taken over; result dropped", self.worker_id,
                            job.id)
            except LMSRejected as exc:
                fail(self.db, job, str(exc), self.settings.max_attempts,
                     give_up=exc.status not in {401, 403})
            except SandboxUnavailable as exc:
                metrics.sandbox_failed(exc.kind, "grader")
                wait_for_sandbox(self.db, job, str(exc), self.settings.sandbox_wait_seconds)
            except Exception as exc:
                log.exception("worker %s: job %s failed", self.worker_id, job.id)
                error = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=5)}"
                fail(self.db, job, error, self.settings.max_attempts)
        return True

    # -- autograde ------------------------------------------------------------------------------

    def _autograde(self, job: ClaimedJob) -> None:
        with self.db.transaction() as session:
            if not holds(session, job):
                raise LeaseLost
            submission = session.get(Submission, job.submission_id)
            if submission is None:
                raise LookupError(f"no submission {job.submission_id}")
            submission.status = SubmissionStatus.GRADING
        result = self._timed_grade(submission)
        feedback = self._keep_feedback(job, getattr(result, "feedback_dir", None))
        try:
            self._record(job, result, feedback)
        except BaseException:
            if feedback:
                shutil.rmtree(feedback, ignore_errors=True)
            raise

    def _timed_grade(self, submission: Submission):
        """``grade(submission)``, its time counted by outcome (``grading.metrics``)."""
        started, outcome = time.monotonic(), "error"
        try:
            result = self.grade(submission)
            if result.status not in RESULT_STATUSES:
                raise ValueError(f"grade() answered status {result.status!r}; "
                                 f"expected one of {', '.join(RESULT_STATUSES)}")
            outcome = result.status
            return result
        except SandboxUnavailable:
            outcome = "sandbox_unavailable"
            raise
        finally:
            metrics.GRADING_SECONDS.labels(outcome).observe(time.monotonic() - started)

    def _keep_feedback(self, job: ClaimedJob, source: Path | str | None) -> Path | None:
        """Copy the feedback folder beside the submission, under a name of this attempt's own,
        so a later grading of the learner's next submission cannot overwrite it."""
        if not source or not Path(source).is_dir():
            return None
        target = self.settings.submissions_dir / job.submission_id / (
            f"feedback-{job.id}-{job.attempts}"
        )
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(source, target)
        return target

    def _record(self, job: ClaimedJob, result, feedback: Path | None) -> None:
        now = utcnow()
        with self.db.transaction() as session:
            if not finish(session, job, now):
                raise LeaseLost
            submission = session.get(Submission, job.submission_id)
            release = session.get(Release, (submission.course, submission.assignment))
            submission.status = result.status
            submission.score = float(result.score or 0)
            submission.max_score = float(result.max_score or 0)
            submission.breakdown = list(getattr(result, "breakdown", None) or [])
            submission.message = getattr(result, "message", "") or ""
            submission.graded_at = now
            submission.feedback_path = str(feedback) if feedback else None
            if release is not None and release.feedback_auto:
                submission.feedback_released = True
            record_state(session, submission.id, getattr(result, "gradebook_fingerprint", None))
            if self.lms is not None:
                enqueue(session, submission.id, JobKind.PUSH, now)
        log.info("submission %s: %s %s/%s", job.submission_id, result.status, result.score,
                 result.max_score)

    # -- sync (manual grades) -------------------------------------------------------------------

    def _sync(self, job: ClaimedJob) -> None:
        with self.db.transaction() as session:
            if not holds(session, job):
                raise LeaseLost
            submission = session.get(Submission, job.submission_id)
        started = utcnow()
        result = None
        if submission.status == SubmissionStatus.GRADED and self.sync is not None:
            result = self.sync(submission)
        feedback = self._keep_feedback(job, getattr(result, "feedback_dir", None))
        try:
            self._record_sync(job, result, feedback, started)
        except BaseException:
            if feedback:
                shutil.rmtree(feedback, ignore_errors=True)
            raise

    def _record_sync(self, job: ClaimedJob, result, feedback: Path | None,
                     started: dt.datetime) -> None:
        now = utcnow()
        with self.db.transaction() as session:
            if not finish(session, job, now):
                raise LeaseLost
            submission = session.get(Submission, job.submission_id)
            newer = submission.graded_at is not None and submission.graded_at > started
            if result is None or newer or submission.status != SubmissionStatus.GRADED:
                log.info("submission %s: nothing to sync", job.submission_id)
                if feedback:
                    shutil.rmtree(feedback, ignore_errors=True)
                return
            submission.score = float(result.score or 0)
            submission.max_score = float(result.max_score or 0)
            submission.breakdown = list(getattr(result, "breakdown", None) or [])
            submission.message = getattr(result, "message", "") or ""
            submission.graded_at = now
            submission.feedback_path = str(feedback) if feedback else submission.feedback_path
            record_state(session, submission.id, getattr(result, "gradebook_fingerprint", None))
            if self.lms is not None:
                enqueue(session, submission.id, JobKind.PUSH, now)
        log.info("submission %s: synced from the gradebook, %s/%s", job.submission_id,
                 result.score, result.max_score)

    # -- push ---------------------------------------------------------------------------------

    def _push(self, job: ClaimedJob) -> None:
        with self.db.transaction() as session:
            if not holds(session, job):
                raise LeaseLost
            submission = session.get(Submission, job.submission_id)
        if self.lms is None:
            raise RuntimeError("no LMS configured (LMS_GRADER_TOKEN): cannot push grades")
        pushed, recorded = False, None
        if submission.status in RESULT_STATUSES:
            max_score = submission.max_score or 0.0
            answer = self._counted_push(
                GradePush(
                    course=submission.course,
                    assignment=submission.assignment,
                    learner=submission.learner,
                    submission_id=submission.id,
                    # The LMS refuses a score above the maximum, which extra credit given in
                    # the formgrader can make; the breakdown keeps the extra credit.
                    score=min(submission.score or 0.0, max_score),
                    max_score=max_score,
                    status=submission.status,
                    submitted_at=submission.submitted_at,
                    graded_at=submission.graded_at or utcnow(),
                    feedback_html=(
                        feedback_html(submission.feedback_path)
                        if submission.feedback_released else ""
                    ),
                    breakdown=submission.breakdown or [],
                )
            )
            pushed = True
            try:
                recorded = RecordedGrade.from_answer(answer, submission.id)
                metrics.LMS_PUSHES.labels("recorded").inc()
            except UnreadableAnswer as exc:  # the push is done; what the LMS keeps is unknown
                metrics.LMS_PUSHES.labels("unreadable").inc()
                log.warning("submission %s: pushed, but %s; nothing is kept of it",
                            submission.id, exc)
        now = utcnow()
        with self.db.transaction() as session:
            if not finish(session, job, now):
                raise LeaseLost
            if pushed:
                keep_recorded_grade(session, job.submission_id, recorded, now)


    def _counted_push(self, grade: GradePush):
        """The LMS's answer to ``grade``; a refusal or no answer is counted by outcome
        (``grading.metrics``) and raised."""
        assert self.lms is not None
        try:
            return self.lms.push(grade)
        except LMSRejected:
            metrics.LMS_PUSHES.labels("rejected").inc()
            raise
        except LMSUnavailable:
            metrics.LMS_PUSHES.labels("unavailable").inc()
            raise


def keep_recorded_grade(
    session: Session, submission_id: str, recorded: RecordedGrade | None, now: dt.datetime
) -> None:
    """Keep the LMS's answer to a push on the submission (in the caller's transaction); None
    (an answer that does not say what the LMS recorded) forgets any earlier one.

    Answers can arrive out of order (two workers push two of a learner's submissions at once):
    an answer older than the one kept is dropped, and of the learner's submissions only the one
    the newest answer says counts is kept as counting (the LMS counts at most one)."""
    submission = session.get(Submission, submission_id)
    submission.pushed_at = now
    if recorded is None:
        for name in RECORDED_COLUMNS:
            setattr(submission, name, None)
        return
    if submission.lms_updated_at is not None and submission.lms_updated_at > recorded.updated_at:
        return
    siblings = (
        Submission.course == submission.course,
        Submission.assignment == submission.assignment,
        Submission.learner == submission.learner,
        Submission.id != submission.id,
        Submission.lms_counts.is_(True),
    )
    counts = recorded.counts
    if counts:
        newer = session.scalar(
            select(Submission.id)
            .where(*siblings, Submission.lms_updated_at > recorded.updated_at)
            .limit(1)
        )
        if newer is not None:  # the LMS has counted another one since this answer
            counts = False
        else:
            session.execute(
                update(Submission).where(*siblings).values(lms_counts=False)
                .execution_options(synchronize_session=False)
            )
    submission.lms_status = recorded.status
    submission.lms_score = recorded.score
    submission.lms_max_score = recorded.max_score
    submission.lms_late = recorded.late
    submission.lms_late_penalty = recorded.late_penalty
    submission.lms_final_score = recorded.final_score
    submission.lms_counts = counts
    submission.lms_updated_at = recorded.updated_at


# -- processes --------------------------------------------------------------------------------


def lms_client(settings: Settings) -> LMSClient | None:
    if not settings.lms_token:
        log.warning("LMS_GRADER_TOKEN is not set: grades are recorded but not pushed to the LMS")
        return None
    return LMSClient(settings.lms_url, settings.lms_token)


PR_SET_PDEATHSIG = 1  # prctl(2)


def stop_with_parent() -> None:
    """Ask Linux for SIGTERM when the process that started this worker dies: a grader killed
    outright (SIGKILL, OOM) leaves no worker running on without it; the job it held is claimed
    again once its lease runs out."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def worker_process(
    settings: Settings,
    index: int,
    grade_factory: GradeFactory,
    parent: int | None = None,
    sync_factory: SyncFactory = nbgrader_sync,
) -> None:
    """The body of one worker process (a module-level function: processes are spawned)."""
    logging.basicConfig(
        level=logging.INFO, format=f"%(asctime)s worker-{index} %(levelname)s %(message)s"
    )
    stop = threading.Event()

    def request_stop(_signum, _frame) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    stop_with_parent()
    if parent is not None and os.getppid() != parent:  # it died before the request took hold
        return
    db = Database(settings.db_url, create=False)
    worker_id = f"{socket.gethostname()}:{os.getpid()}:{index}"
    try:
        Worker(
            settings, db, grade_factory(settings, db), lms_client(settings), worker_id,
            sync_factory(settings, db),
        ).run(stop)
    finally:
        db.dispose()


class WorkerPool:
    """``count`` worker processes; :meth:`check` restarts those that died."""

    def __init__(
        self,
        settings: Settings,
        count: int,
        grade_factory: GradeFactory = nbgrader_grade,
        sync_factory: SyncFactory = nbgrader_sync,
    ) -> None:
        self.settings = settings
        self.count = count
        self.grade_factory = grade_factory
        self.sync_factory = sync_factory
        self.context = multiprocessing.get_context("spawn")  # no inherited engine or locks
        self.processes: list[multiprocessing.process.BaseProcess | None] = [None] * count
        self.stopping = False

    def start(self) -> None:
        Database(self.settings.db_url).dispose()  # tables exist before any worker starts
        for index in range(self.count):
            self._start(index)

    def _start(self, index: int) -> None:
        process = self.context.Process(
            target=worker_process,
            args=(self.settings, index, self.grade_factory, os.getpid(), self.sync_factory),
            name=f"grader-worker-{index}",
        )
        process.start()
        self.processes[index] = process

    def check(self) -> None:
        """Restart dead workers (called every few seconds: a crash loop is slowed by it)."""
        for index, process in enumerate(self.processes):
            if self.stopping or process is None or process.is_alive():
                continue
            log.error("worker %s exited (%s): restarting it", index, process.exitcode)
            self._start(index)

    def stop(self, timeout: float | None = None) -> None:
        """SIGTERM every worker and wait for them (each finishes its current job first)."""
        self.stopping = True
        for process in self.processes:
            if process is not None and process.is_alive():
                process.terminate()
        for process in self.processes:
            if process is not None:
                process.join(timeout)


def run_workers(settings: Settings, grade_factory: GradeFactory = nbgrader_grade) -> None:
    """``python -m grading worker``: ``GRADER_WORKERS`` processes until SIGTERM or Ctrl-C."""
    stop = threading.Event()

    def request_stop(_signum, _frame) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    pool = WorkerPool(settings, max(settings.workers, 1), grade_factory)
    pool.start()
    log.info("%s grader workers started", pool.count)
    while not stop.wait(1.0):
        pool.check()
    pool.stop()
