"""The grader's metrics with several worker processes: what ``python -m grading serve`` does (its
workers are processes of their own, started by the API's process) gives one right sum.

The program below is such a grader without its API: it names the multiprocess folder as
``grading.__main__`` does, starts a ``WorkerPool`` of two processes whose ``grade`` holds each
grading until both workers hold one (so both count), waits until the queue is empty, and prints
what ``/metrics`` would answer (``servicekit.metrics.exposition``).
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import time
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from grading.settings import Settings
from grading.store import Database, Job, JobKind, Submission, SubmissionStatus
from tests.support.grade_results import Result

REPO = Path(__file__).resolve().parents[3]
SUBMISSIONS = 4

PROGRAM = """
import sys, time
from pathlib import Path
from servicekit.metrics import use_multiprocess_dir
from grading.settings import Settings

settings = Settings.from_env({"STUDIO_VAR_DIR": sys.argv[1], "GRADER_POLL_SECONDS": "0.05"})
use_multiprocess_dir(settings.metrics_dir)  # before prometheus_client is imported

from grading.store import Database
from grading.worker import WorkerPool
from servicekit.metrics import exposition
from tests.unit.grading.test_grader_metrics import all_done, grade_when_both_grade, no_sync

pool = WorkerPool(settings, 2, grade_when_both_grade, no_sync)
pool.start()
db = Database(settings.db_url)
deadline = time.monotonic() + 120
while not all_done(db) and time.monotonic() < deadline:
    time.sleep(0.1)
pool.stop()
print(exposition()[0].decode())
"""


def grade_when_both_grade(settings: Settings, db: Database):
    """A worker process's ``grade``: it says it started, then waits (at most a minute) until
    the other worker started one too, so each of the two processes grades."""
    started = settings.var_dir / "started"

    def grade(submission: Submission) -> Result:
        started.mkdir(exist_ok=True)
        (started / submission.id).touch()
        deadline = time.monotonic() + 60
        while len(list(started.iterdir())) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        return Result(status="graded", score=1, max_score=1)

    return grade


def no_sync(settings: Settings, db: Database):
    """No manual grades here (nbgrader's gradebook, which the default reads, takes seconds to
    import in each process)."""
    return lambda submission: None


def all_done(db: Database) -> bool:
    with db.transaction() as session:
        return session.query(Job).filter(Job.done_at.is_(None)).count() == 0


def queue_submissions(settings: Settings) -> None:
    db = Database(settings.db_url)
    now = dt.datetime.now(dt.UTC)
    with db.transaction() as session:
        for index in range(SUBMISSIONS):
            submission_id = f"{index:032x}"
            session.add(Submission(
                id=submission_id, course="python-101", assignment="ps1-basics",
                learner="grace", submitted_at=now, status=SubmissionStatus.QUEUED,
                files_path="/nowhere",
            ))
            session.flush()
            session.add(Job(submission_id=submission_id, kind=JobKind.AUTOGRADE, created_at=now,
                            run_after=now))
    db.dispose()


@pytest.fixture(scope="module")
def counted(tmp_path_factory) -> tuple[dict[str, float], Settings]:
    tmp_path = tmp_path_factory.mktemp("grader")
    settings = Settings.from_env({"STUDIO_VAR_DIR": str(tmp_path)})
    queue_submissions(settings)
    ran = subprocess.run([sys.executable, "-c", PROGRAM, str(tmp_path)], cwd=REPO,
                         capture_output=True, text=True, timeout=300, check=False)
    assert ran.returncode == 0, ran.stderr[-4000:]
    samples = {}
    for family in text_string_to_metric_families(ran.stdout):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}"] = sample.value
    return samples, settings


def test_the_gradings_of_every_worker_process_are_summed(counted):
    samples, settings = counted
    with Database(settings.db_url).transaction() as session:
        workers = {job.claimed_by.split(":")[1] for job in session.query(Job)}
    assert len(workers) == 2  # two processes graded
    assert samples["grader_grading_duration_seconds_count{outcome=graded}"] == SUBMISSIONS
    counted_by = {path.name for path in settings.metrics_dir.iterdir()
                  if path.name.startswith("histogram_")}
    assert {f"histogram_{pid}.db" for pid in workers} <= counted_by


def test_series_nothing_happened_to_yet_are_there_at_zero(counted):
    samples, _ = counted
    assert samples["grader_sandbox_failures_total{fault=grader,kind=no_engine}"] == 0
    assert samples["grader_lms_pushes_total{outcome=rejected}"] == 0
