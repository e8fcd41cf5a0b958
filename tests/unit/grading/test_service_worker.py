"""A worker's round: claim, grade (a fake ``grade``), record, push (a recording LMS), finish."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select

from grading import services
from grading.lms import LMSRejected, LMSUnavailable, RecordedGrade
from grading.queue import GRADER_FAULT, claim, waiting_jobs
from grading.sandbox import SandboxUnavailable
from grading.selectors import Audience, submission_json
from grading.store import Job, JobKind, Submission, SubmissionStatus
from grading.worker import Worker, keep_recorded_grade
from tests.support.grade_results import Result


class RecordingLMS:
    """Takes every push; ``refuse`` makes it refuse them instead."""

    def __init__(self) -> None:
        self.pushes = []
        self.refuse: LMSRejected | None = None

    def push(self, grade):
        if self.refuse:
            raise self.refuse
        self.pushes.append(grade)
        return {}


class FakeGrader:
    """Grades like nbgrader would: writes feedback to the learner's one feedback folder."""

    def __init__(self, root: Path, status: str = "graded", score: float = 7.5) -> None:
        self.root = root
        self.status = status
        self.score = score
        self.error: Exception | None = None
        self.graded: list[str] = []
        self.during = None

    def __call__(self, submission: Submission) -> Result:
        self.graded.append(submission.id)
        if self.during:
            self.during()
        if self.error:
            raise self.error
        feedback = self.root / "feedback" / submission.learner / submission.assignment
        feedback.mkdir(parents=True, exist_ok=True)
        text = (Path(submission.files_path) / "a.ipynb").read_text()
        (feedback / "a.html").write_text(f"<p>feedback on {text}</p>")
        return Result(
            status=self.status, score=self.score if self.status == "graded" else 0,
            max_score=10, breakdown=[{"id": "t1", "score": self.score, "max_score": 10}],
            feedback_dir=feedback,
            message="" if self.status == "graded" else "a.ipynb is not a notebook",
        )


@pytest.fixture
def lms() -> RecordingLMS:
    return RecordingLMS()


@pytest.fixture
def grader(tmp_path) -> FakeGrader:
    return FakeGrader(tmp_path / "nbgrader")


@pytest.fixture
def worker(grader_settings, grader_db, grader, lms) -> Worker:
    return Worker(grader_settings, grader_db, grader, lms, "w1")


@pytest.fixture
def submitted(grader_db, grader_settings, release_row, tar_of):
    def submit(content: bytes = b"v1", learner: str = "grace") -> str:
        data = tar_of({"a.ipynb": content})
        return services.submit(grader_db, grader_settings, "python-101", "ps1-basics", learner,
                               io.BytesIO(data)).id

    return submit


def row(db, submission_id: str) -> Submission:
    with db.transaction() as session:
        return session.get(Submission, submission_id)


def jobs(db) -> list[Job]:
    with db.transaction() as session:
        return list(session.scalars(select(Job).order_by(Job.id)))


def test_a_graded_submission_is_recorded_then_pushed_once(
    worker, grader_db, release_row, submitted, lms
):
    release_row()
    submission_id = submitted()
    assert worker.run_once() is True
    graded = row(grader_db, submission_id)
    assert (graded.status, graded.score, graded.max_score) == ("graded", 7.5, 10.0)
    assert graded.breakdown == [{"id": "t1", "score": 7.5, "max_score": 10}]
    assert graded.feedback_released is True
    assert graded.graded_at is not None and graded.pushed_at is None
    assert lms.pushes == []  # the push is a job of its own, committed with the grade
    assert worker.run_once() is True
    (push,) = lms.pushes
    assert (push.submission_id, push.learner, push.score, push.status) == (
        submission_id, "grace", 7.5, "graded"
    )
    assert push.feedback_html == "<p>feedback on v1</p>"
    assert push.submitted_at == graded.submitted_at
    assert row(grader_db, submission_id).pushed_at is not None
    assert worker.run_once() is False
    assert [(j.kind, j.done_at is not None, j.failed) for j in jobs(grader_db)] == [
        (JobKind.AUTOGRADE, True, False), (JobKind.PUSH, True, False)
    ]


def test_without_an_lms_grades_are_recorded_and_no_push_is_queued(
    grader_settings, grader_db, grader, release_row, submitted
):
    release_row()
    submission_id = submitted()
    assert Worker(grader_settings, grader_db, grader, None, "w1").run_once()
    assert row(grader_db, submission_id).status == "graded"
    assert [j.kind for j in jobs(grader_db)] == [JobKind.AUTOGRADE]


def test_each_submission_keeps_its_own_feedback(worker, grader_db, release_row, submitted):
    release_row()
    first, second = submitted(b"v1"), submitted(b"v2")
    while worker.run_once():
        pass
    for submission_id, text in ((first, "v1"), (second, "v2")):
        folder = Path(row(grader_db, submission_id).feedback_path)
        assert folder.is_relative_to(worker.settings.submissions_dir / submission_id)
        assert (folder / "a.html").read_text() == f"<p>feedback on {text}</p>"


def test_held_back_feedback_reaches_the_lms_when_released(
    worker, grader_db, release_row, submitted, lms
):
    release_row(feedback_auto=False)
    submission_id = submitted()
    while worker.run_once():
        pass
    assert [p.feedback_html for p in lms.pushes] == [""]
    assert row(grader_db, submission_id).feedback_released is False
    services.release_feedback(grader_db, "python-101", "ps1-basics", None, push=True)
    while worker.run_once():
        pass
    assert [p.feedback_html for p in lms.pushes] == ["", "<p>feedback on v1</p>"]
    assert {p.submission_id for p in lms.pushes} == {submission_id}


def test_an_invalid_notebook_is_recorded_and_pushed_as_invalid(
    worker, grader_db, grader, release_row, submitted, lms
):
    release_row()
    grader.status = "invalid"
    submission_id = submitted()
    while worker.run_once():
        pass
    invalid = row(grader_db, submission_id)
    assert (invalid.status, invalid.message) == ("invalid", "a.ipynb is not a notebook")
    assert [(p.status, p.score) for p in lms.pushes] == [("invalid", 0)]


def test_a_grader_error_is_retried_and_finally_marks_the_submission_failed(
    grader_settings, grader_db, grader, lms, release_row, submitted
):
    release_row()
    grader.error = RuntimeError("docker is not answering")
    worker = Worker(grader_settings.model_copy(update={"max_attempts": 2}), grader_db, grader, lms,
                    "w1")
    submission_id = submitted()
    assert worker.run_once()
    assert row(grader_db, submission_id).status == SubmissionStatus.QUEUED
    (job,) = jobs(grader_db)
    assert "docker is not answering" in job.last_error
    assert job.run_after > dt.datetime.now(dt.UTC)
    assert worker.run_once() is False  # not before its retry time
    with grader_db.transaction() as session:
        session.get(Job, job.id).run_after = dt.datetime.now(dt.UTC)  # the retry time came
    assert worker.run_once()
    failed = row(grader_db, submission_id)
    assert (failed.status, failed.message) == (SubmissionStatus.FAILED, GRADER_FAULT)
    assert "RuntimeError: docker is not answering" in failed.error_details
    assert lms.pushes == []


def test_a_result_with_an_unknown_status_is_an_error(
    grader_settings, grader_db, grader, lms, release_row, submitted
):
    release_row()
    grader.status = "late-rejected"
    worker = Worker(grader_settings.model_copy(update={"max_attempts": 1}), grader_db, grader, lms,
                    "w1")
    submission_id = submitted()
    worker.run_once()
    failed = row(grader_db, submission_id)
    assert (failed.status, failed.message) == (SubmissionStatus.FAILED, GRADER_FAULT)
    assert "expected one of graded, invalid" in failed.error_details


def test_a_worker_that_lost_its_job_records_nothing(
    worker, grader_db, grader, release_row, submitted, lms, grader_settings
):
    release_row()
    submission_id = submitted()
    taken = {}

    def another_worker_takes_over() -> None:  # this worker stalls past its lease meanwhile
        later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=grader_settings.lease_seconds + 1)
        taken["job"] = claim(grader_db, "w2", 30, 3, now=later)

    grader.during = another_worker_takes_over
    assert worker.run_once()
    assert taken["job"].submission_id == submission_id
    stalled = row(grader_db, submission_id)
    assert (stalled.status, stalled.score, stalled.feedback_path) == ("grading", None, None)
    assert not list((worker.settings.submissions_dir / submission_id).glob("feedback-*"))
    assert [j.kind for j in jobs(grader_db)] == [JobKind.AUTOGRADE]


def test_a_refused_push_is_given_up_and_the_grade_stays(
    worker, grader_db, release_row, submitted, lms
):
    release_row()
    submission_id = submitted()
    worker.run_once()
    lms.refuse = LMSRejected(400, "grace is not enrolled in the course python-101.")
    worker.run_once()
    push = jobs(grader_db)[-1]
    assert (push.failed, push.done_at is not None) == (True, True)
    assert "not enrolled" in push.last_error
    assert row(grader_db, submission_id).status == "graded"


def test_a_push_refused_for_its_token_is_retried_later(
    worker, grader_db, release_row, submitted, lms
):
    release_row()
    submitted()
    worker.run_once()
    lms.refuse = LMSRejected(401, "Invalid token.")
    worker.run_once()
    push = jobs(grader_db)[-1]
    assert (push.failed, push.done_at, push.claimed_by) == (False, None, None)
    assert "Invalid token" in push.last_error


# -- the LMS's answer is the record -------------------------------------------------------------


class AnsweringLMS(RecordingLMS):
    """Answers a push as the LMS does, with the grade as it recorded it; what it decides
    (lateness, penalty, whether the grade counts) is ``decide(grade) -> dict``, by default
    "on time, and it counts". Each answer is a second after the one before."""

    def __init__(self) -> None:
        super().__init__()
        self.decide = lambda grade: {}
        self.clock = dt.datetime(2027, 2, 1, 12, 0, tzinfo=dt.UTC)

    def push(self, grade):
        super().push(grade)
        self.clock += dt.timedelta(seconds=1)
        decided = {"late": False, "late_penalty": "0.00", "counts": grade.status == "graded",
                   **self.decide(grade)}
        penalty = float(decided["late_penalty"])
        return {
            "id": len(self.pushes), "submission_id": grade.submission_id,
            "status": grade.status, "score": f"{grade.score:.2f}",
            "max_score": f"{grade.max_score:.2f}", "final_score": f"{grade.score - penalty:.2f}",
            "updated_at": self.clock.isoformat().replace("+00:00", "Z"), **decided,
        }


@pytest.fixture
def answering_lms() -> AnsweringLMS:
    return AnsweringLMS()


@pytest.fixture
def answered(grader_settings, grader_db, grader, answering_lms) -> Worker:
    return Worker(grader_settings, grader_db, grader, answering_lms, "w1")


def run_all(worker: Worker) -> None:
    while worker.run_once():
        pass


def test_a_push_keeps_the_lms_answer_and_the_grader_shows_it(
    answered, answering_lms, grader_db, release_row, submitted
):
    # The grader's release says: due yesterday, late work refused. The LMS's page says
    # otherwise, and the LMS is the record: the grader shows what it answered.
    release_row(due_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=1), mode="reject")
    answering_lms.decide = lambda grade: {"late": True, "late_penalty": "0.75", "counts": True}
    submission_id = submitted()
    run_all(answered)
    kept = row(grader_db, submission_id)
    assert (kept.lms_status, kept.lms_score, kept.lms_late, kept.lms_late_penalty,
            kept.lms_final_score, kept.lms_counts) == ("graded", 7.5, True, 0.75, 6.75, True)
    shown = submission_json(kept)
    assert (shown["late"], shown["recorded"]["final_score"], shown["recorded"]["counts"]) == (
        True, 6.75, True
    )
    assert shown["recorded"]["recorded_at"] == kept.pushed_at.isoformat()


def test_only_the_submission_the_lms_last_said_counts_is_shown_counting(
    answered, grader_db, release_row, submitted
):
    release_row()
    first = submitted(b"v1")
    run_all(answered)
    second = submitted(b"v2")
    run_all(answered)
    assert (row(grader_db, first).lms_counts, row(grader_db, second).lms_counts) == (False, True)


def test_an_answer_older_than_the_one_kept_changes_nothing(
    answered, answering_lms, grader_db, release_row, submitted
):
    release_row()
    first, second = submitted(b"v1"), submitted(b"v2")
    run_all(answered)  # the LMS answered the second push after the first: the second counts
    stale = RecordedGrade(status="graded", score=1.0, max_score=10.0, late=False,
                          late_penalty=0.0, final_score=1.0, counts=True,
                          updated_at=answering_lms.clock - dt.timedelta(minutes=5))
    with grader_db.transaction() as session:
        keep_recorded_grade(session, second, stale, dt.datetime.now(dt.UTC))
        keep_recorded_grade(session, first, stale, dt.datetime.now(dt.UTC))
    assert (row(grader_db, first).lms_counts, row(grader_db, second).lms_counts) == (False, True)
    assert row(grader_db, second).lms_score == 7.5


def test_a_push_the_lms_refuses_leaves_no_grade_of_the_graders_own(
    answered, answering_lms, grader_db, release_row, submitted
):
    release_row(due_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=3))
    answering_lms.refuse = LMSRejected(400, "grace is not enrolled in the course python-101.")
    submission_id = submitted()
    run_all(answered)
    refused = row(grader_db, submission_id)
    assert (refused.status, refused.score, refused.pushed_at) == ("graded", 7.5, None)
    shown = submission_json(refused, Audience.ADMIN)
    assert (shown["late"], shown["recorded"]) == (None, None)


def test_an_answer_that_does_not_say_what_the_lms_recorded_keeps_nothing(
    answered, answering_lms, grader_db, release_row, submitted
):
    release_row()
    submission_id = submitted()
    run_all(answered)
    assert row(grader_db, submission_id).lms_counts is True
    answering_lms.decide = lambda grade: {"counts": "maybe"}
    services.regrade(grader_db, "python-101", "ps1-basics", None)
    run_all(answered)
    forgotten = row(grader_db, submission_id)
    assert (forgotten.lms_status, forgotten.lms_counts, forgotten.lms_late) == (None, None, None)
    assert [j.failed for j in jobs(grader_db)] == [False] * 4  # the pushes themselves are done


# -- failures: the grader's, never the learner's --------------------------------------------------


def test_a_failures_text_and_the_graders_paths_reach_only_admins(
    grader_settings, grader_db, grader, lms, release_row, submitted, caplog
):
    release_row()
    secret_path = grader_settings.root / "courses" / "python-101" / "gradebook.db"
    grader.error = RuntimeError(f"database is locked: {secret_path}")
    worker = Worker(grader_settings.model_copy(update={"max_attempts": 1}), grader_db, grader,
                    lms, "w1")
    submission_id = submitted()
    worker.run_once()
    failed = row(grader_db, submission_id)
    secrets = ("database is locked", "RuntimeError", "Traceback", str(grader_settings.root))
    for audience in (Audience.LEARNER, Audience.INSTRUCTOR):
        shown = json.dumps(submission_json(failed, audience))
        for secret in secrets:
            assert secret not in shown, (audience, secret)
    learner = submission_json(failed, Audience.LEARNER)
    assert (learner["status"], learner["message"]) == ("failed", GRADER_FAULT)
    assert "error_id" not in learner
    instructor = submission_json(failed, Audience.INSTRUCTOR)
    assert instructor["error_id"] == failed.error_id
    assert f"error {failed.error_id}" in caplog.text  # what the admin looks up in the log
    admin = submission_json(failed, Audience.ADMIN)
    assert "Traceback" in admin["details"] and str(secret_path) in admin["details"]


def test_an_unavailable_sandbox_is_waited_for_longer_each_time_then_grades(
    grader_settings, grader_db, grader, lms, release_row, submitted
):
    release_row()
    grader.error = SandboxUnavailable("no Docker engine answers: connection refused")
    worker = Worker(grader_settings.model_copy(update={"max_attempts": 1}), grader_db, grader,
                    lms, "w1")
    submission_id = submitted()
    delays = []
    for tries in range(1, 5):
        before = dt.datetime.now(dt.UTC)
        assert worker.run_once()
        (job,) = jobs(grader_db)
        assert (job.waits, job.attempts, job.done_at) == (tries, 0, None)  # no attempt spent
        delays.append((job.run_after - before).total_seconds())
        waiting = row(grader_db, submission_id)
        assert (waiting.status, waiting.message, waiting.error_id) == ("queued", "", None)
        (shown,) = waiting_jobs(grader_db)
        assert shown["reason"].endswith("no Docker engine answers: connection refused")
        with grader_db.transaction() as session:
            session.get(Job, job.id).run_after = dt.datetime.now(dt.UTC)  # its time came
    assert delays == sorted(delays) and len(set(delays)) == 4  # growing waits
    grader.error = None  # the engine is back
    run_all(worker)
    assert row(grader_db, submission_id).status == "graded"
    assert waiting_jobs(grader_db) == []


def test_a_sandbox_unavailable_past_the_graders_patience_fails_as_the_graders_fault(
    grader_settings, grader_db, grader, lms, release_row, submitted
):
    release_row()
    grader.error = SandboxUnavailable("the image 'pls-notebook:latest' is not on the engine")
    worker = Worker(grader_settings.model_copy(update={"sandbox_wait_seconds": 0}), grader_db,
                    grader, lms, "w1")
    submission_id = submitted()
    worker.run_once()  # waits: this is the first time
    with grader_db.transaction() as session:
        job = session.scalars(select(Job)).one()
        job.waiting_since -= dt.timedelta(minutes=1)
        job.run_after = dt.datetime.now(dt.UTC)
    worker.run_once()
    failed = row(grader_db, submission_id)
    assert (failed.status, failed.message) == ("failed", GRADER_FAULT)
    assert "waiting 1 min for the grading sandbox" in failed.error_details
    assert "is not on the engine" in failed.error_details


def idle_grade(settings, db):
    """A grade factory for worker processes that never get a job."""
    return lambda submission: None


POOL_PROGRAM = """
import sys, time
from grading.settings import Settings
from grading.worker import WorkerPool
from tests.unit.grading.test_service_worker import idle_grade
pool = WorkerPool(Settings.from_env({"STUDIO_VAR_DIR": sys.argv[1]}), 2, idle_grade)
pool.start()
print(" ".join(str(p.pid) for p in pool.processes), flush=True)
time.sleep(600)
"""


def test_workers_stop_when_the_grader_that_started_them_is_killed(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    parent = subprocess.Popen(
        [sys.executable, "-c", POOL_PROGRAM, str(tmp_path)], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[3],
    )
    try:
        workers = [int(pid) for pid in parent.stdout.readline().split()]
        assert len(workers) == 2
        started = 0
        while started < 2:  # both running their loop (not still unpickling from the parent)
            line = parent.stderr.readline()
            assert line, "the workers did not start"
            started += " started" in line
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 30  # a bound, not a measurement: they stop at once
        while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() for p in workers):
            time.sleep(0.1)
        alive = [p for p in workers if Path(f"/proc/{p}").exists()
                 and "Z" not in Path(f"/proc/{p}/stat").read_text().split()[2]]
        assert alive == []
    finally:
        parent.kill()


# -- what the metrics are told ------------------------------------------------------------------


def counted(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def gradings(outcome: str) -> float:
    return counted("grader_grading_duration_seconds_count", outcome=outcome)


@pytest.mark.parametrize(("status", "outcome"), [("graded", "graded"), ("invalid", "invalid")])
def test_each_grading_is_timed_by_its_outcome(worker, grader, release_row, submitted, status,
                                              outcome):
    release_row()
    grader.status = status
    before = gradings(outcome)
    submitted()
    worker.run_once()
    assert gradings(outcome) == before + 1


def test_a_grading_that_fails_or_finds_no_sandbox_is_timed_as_such(
    worker, grader, release_row, submitted
):
    release_row()
    errors, unavailable = gradings("error"), gradings("sandbox_unavailable")
    grader.error = RuntimeError("nbgrader broke")
    submitted()
    worker.run_once()
    grader.error = SandboxUnavailable("no Docker engine answers", "no_engine")
    submitted(learner="linus")
    worker.run_once()
    assert (gradings("error"), gradings("sandbox_unavailable")) == (errors + 1, unavailable + 1)


def test_an_unavailable_sandbox_is_counted_as_the_graders_failure_by_kind(
    worker, grader, release_row, submitted
):
    release_row()
    before = counted("grader_sandbox_failures_total", kind="no_image", fault="grader")
    grader.error = SandboxUnavailable("the image is not on the engine", "no_image")
    submitted()
    worker.run_once()
    assert counted("grader_sandbox_failures_total", kind="no_image", fault="grader") == before + 1


def pushes(outcome: str) -> float:
    return counted("grader_lms_pushes_total", outcome=outcome)


def test_a_push_the_lms_recorded_is_counted(answered, release_row, submitted):
    release_row()
    before = pushes("recorded")
    submitted()
    run_all(answered)
    assert pushes("recorded") == before + 1


@pytest.mark.parametrize(("answer", "outcome"), [
    (LMSRejected(400, "grace is not enrolled in the course python-101."), "rejected"),
    (LMSUnavailable("the LMS did not answer after 5 retries"), "unavailable"),
    (None, "unreadable"),  # the recording LMS answers {}: accepted, but says nothing
])
def test_each_push_is_counted_by_its_outcome(worker, lms, release_row, submitted, answer,
                                             outcome):
    release_row()
    before = pushes(outcome)
    lms.refuse = answer
    submitted()
    worker.run_once()  # the grading
    worker.run_once()  # the push
    assert pushes(outcome) == before + 1
