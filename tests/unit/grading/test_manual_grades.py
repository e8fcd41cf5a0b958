"""Manual grades reach the LMS: a real nbgrader course directory and gradebook in a temporary
folder, the grader's own worker and queue, and a recording LMS.

Grades are changed the way nbgrader's formgrader changes them (``Grade.manual_score``,
``Grade.extra_credit``, ``Comment.manual_comment``, then a commit); then ``scan`` must notice
and queue a ``sync``, the worker must record the new score, breakdown and feedback and push them
under the same submission id. No learner code runs anywhere: the "sandbox" hands the notebook
back with the outputs a test chooses (``tests.support.sandboxes.ChosenOutputs``).
"""

from __future__ import annotations

import asyncio
import copy
import io
import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from nbgrader.api import Gradebook
from sqlalchemy import select

from courses.course_file import LatePolicy
from grading import services
from grading.autograde import autograde
from grading.course_directory import open_course, prepare_course
from grading.manual_grades import GradebookWatcher, scan
from grading.queue import enqueue
from grading.release import release
from grading.settings import Settings
from grading.store import Database, GradebookState, Job, JobKind, Submission
from grading.worker import Worker, nbgrader_sync
from tests.support.sandboxes import ChosenOutputs

REPO = Path(__file__).resolve().parents[3]
COURSE = "python-101"
ASSIGNMENT = "ps1-basics"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"


class RecordingLMS:
    def __init__(self) -> None:
        self.pushes = []

    def push(self, grade):
        self.pushes.append(grade)
        return {}


@pytest.fixture(scope="module")
def grader_root(tmp_path_factory) -> Path:
    """One nbgrader course directory for the module, ps1-basics released (nbgrader's own
    generate_assignment); each test grades learners of its own."""
    root = tmp_path_factory.mktemp("grader-root")
    course_dir = root / "courses" / COURSE
    prepare_course(course_dir, REPO / "courses" / COURSE)
    release(course_dir, ASSIGNMENT)
    return root


@pytest.fixture
def settings(grader_root, tmp_path) -> Settings:
    return Settings.from_env({
        "STUDIO_VAR_DIR": str(tmp_path / "var"),
        "GRADER_ROOT": str(grader_root),
        "STUDIO_COURSES_DIR": str(REPO / "courses"),
    })


@pytest.fixture
def db(settings) -> Iterator[Database]:
    database = Database(settings.db_url)
    yield database
    database.dispose()


@pytest.fixture
def sandbox() -> Iterator[ChosenOutputs]:
    box = ChosenOutputs(pool_size=0)
    box.failing = frozenset({"ps1-grade-tests"})  # 6 of 10 points: letter_grade's tests fail
    yield box
    box.close()


@pytest.fixture
def lms() -> RecordingLMS:
    return RecordingLMS()


@pytest.fixture
def worker(settings, db, sandbox, lms) -> Worker:
    def grade(submission: Submission):
        return autograde(
            settings.nbgrader_course_dir(submission.course), submission.assignment,
            submission.learner, Path(submission.files_path), None, LatePolicy("accept"),
            submitted_at=submission.submitted_at, sandbox=sandbox,
        )

    return Worker(settings, db, grade, lms, "w1", nbgrader_sync(settings, db))


@pytest.fixture
def released_notebook(grader_root) -> dict[str, Any]:
    path = grader_root / "courses" / COURSE / "release" / ASSIGNMENT / NOTEBOOK
    return json.loads(path.read_text())


@pytest.fixture
def submit(db, settings, released_notebook, tar_of, release_row) -> Callable[[str], str]:
    release_row(mode="accept")

    def make(learner: str) -> str:
        data = tar_of({NOTEBOOK: json.dumps(copy.deepcopy(released_notebook)).encode()})
        return services.submit(db, settings, COURSE, ASSIGNMENT, learner, io.BytesIO(data)).id

    return make


@pytest.fixture
def learner() -> str:
    return f"l{uuid.uuid4().hex[:10]}"


def run_all(worker: Worker) -> None:
    while worker.run_once():
        pass


def grade_by_hand(settings: Settings, learner: str, grade_id: str, **values: Any) -> None:
    """What nbgrader's formgrader does when an instructor saves a score or a comment."""
    course = open_course(settings.nbgrader_course_dir(COURSE))
    with Gradebook(course.db_url, course.slug) as gb:
        if "manual_comment" in values:
            comment = gb.find_comment(grade_id, ASSIGNMENT, ASSIGNMENT, learner)
            comment.manual_comment = values.pop("manual_comment")
        if values:
            grade = gb.find_grade(grade_id, ASSIGNMENT, ASSIGNMENT, learner)
            for name, value in values.items():
                setattr(grade, name, value)
            grade.needs_manual_grade = False
        gb.db.commit()


def row(db: Database, submission_id: str) -> Submission:
    with db.transaction() as session:
        return session.get(Submission, submission_id)


def open_jobs(db: Database) -> list[tuple[str, str]]:
    with db.transaction() as session:
        return [(j.kind, j.submission_id)
                for j in session.scalars(select(Job).where(Job.done_at.is_(None)))]


def test_an_autograded_submission_is_not_taken_for_a_manual_change(
    db, settings, worker, submit, learner, lms
):
    submission_id = submit(learner)
    run_all(worker)
    assert [(p.submission_id, p.score) for p in lms.pushes] == [(submission_id, 6.0)]
    with db.transaction() as session:
        assert session.get(GradebookState, submission_id) is not None
    assert scan(db, settings) == []


def test_a_manual_score_reaches_the_lms_with_breakdown_and_fresh_feedback(
    db, settings, worker, submit, learner, lms
):
    submission_id = submit(learner)
    run_all(worker)
    grade_by_hand(settings, learner, "ps1-grade-tests", manual_score=4.0)
    grade_by_hand(settings, learner, "ps1-grade-answer", manual_comment="Nicely structured.")
    assert scan(db, settings) == [submission_id]
    assert scan(db, settings) == []  # already waiting for its sync
    run_all(worker)
    first, second = lms.pushes
    assert second.submission_id == first.submission_id == submission_id  # one LMS grade
    assert (second.score, second.max_score, second.status) == (10.0, 10.0, "graded")
    scores = {item["id"]: item for item in second.breakdown}
    assert scores["ps1-grade-tests"]["score"] == 4.0
    assert scores["ps1-grade-tests"]["graded_by"] == "instructor"
    assert "graded_by" not in scores["ps1-celsius-tests"]
    assert "Nicely structured." in second.feedback_html
    assert "Nicely structured." not in first.feedback_html
    synced = row(db, submission_id)
    assert (synced.score, synced.status) == (10.0, "graded")
    assert "graded some of it by hand" in synced.message
    assert scan(db, settings) == []  # what was sent is what the gradebook holds
    assert open_jobs(db) == []


def test_extra_credit_is_kept_in_the_breakdown_and_the_lms_gets_at_most_the_maximum(
    db, settings, worker, submit, learner, lms
):
    submission_id = submit(learner)
    run_all(worker)
    grade_by_hand(settings, learner, "ps1-grade-tests", manual_score=4.0, extra_credit=2.0)
    assert scan(db, settings) == [submission_id]
    run_all(worker)
    pushed = lms.pushes[-1]
    assert (pushed.score, pushed.max_score) == (10.0, 10.0)
    extra = {item["id"]: item.get("extra_credit") for item in pushed.breakdown}
    assert extra["ps1-grade-tests"] == 2.0
    assert row(db, submission_id).score == 12.0  # the grader keeps what nbgrader says


def test_a_manual_grade_goes_to_the_submission_the_gradebook_holds(
    db, settings, worker, submit, learner, lms
):
    older = submit(learner)
    run_all(worker)
    newer = submit(learner)  # nbgrader keeps one entry per learner: now the newer one's
    run_all(worker)
    grade_by_hand(settings, learner, "ps1-grade-tests", manual_score=1.0)
    assert scan(db, settings) == [newer]
    run_all(worker)
    assert (row(db, older).score, row(db, newer).score) == (6.0, 7.0)
    assert [p.submission_id for p in lms.pushes] == [older, newer, newer]


def test_no_sync_is_queued_while_the_submission_waits_to_be_regraded(
    db, settings, worker, submit, learner
):
    submission_id = submit(learner)
    run_all(worker)
    grade_by_hand(settings, learner, "ps1-grade-tests", manual_score=4.0)
    services.regrade(db, COURSE, ASSIGNMENT, [submission_id])
    assert scan(db, settings) == []  # the regrade records the gradebook afresh
    assert open_jobs(db) == [(JobKind.AUTOGRADE, submission_id)]


def test_a_sync_for_a_submission_the_gradebook_no_longer_holds_changes_nothing(
    db, settings, worker, submit, learner, lms
):
    older = submit(learner)
    run_all(worker)
    newer = submit(learner)
    run_all(worker)
    with db.transaction() as session:  # queued by a scan just before the newer one was graded
        enqueue(session, older, JobKind.SYNC)
    run_all(worker)
    assert row(db, older).score == 6.0
    assert [p.submission_id for p in lms.pushes] == [older, newer]
    assert open_jobs(db) == []


def test_the_watcher_scans_from_the_event_loop(db, settings, worker, submit, learner):
    submission_id = submit(learner)
    run_all(worker)
    grade_by_hand(settings, learner, "ps1-grade-tests", manual_score=4.0)
    watcher = GradebookWatcher(db, settings)
    asyncio.run(watcher.tick())
    assert open_jobs(db) == [(JobKind.SYNC, submission_id)]
    assert watcher.busy is False
