"""A submission's grading status for the learner (``grading.selectors.submission_status``): its
state in the learner's words, its place in line from the queue, the score, the link to the
feedback and a sentence, never the grader's error. On SQLite; the HTTP side is in
tests/integration/grading/test_service_api.py."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import event

from grading.queue import GRADER_FAULT, claim, enqueue, fail, place_in_line
from grading.selectors import latest_submission, submission_status
from grading.store import JobKind, Submission, SubmissionStatus

LMS = "https://lms.example.org"
LEASE = 30.0
T0 = dt.datetime(2030, 1, 1, 10, 0, tzinfo=dt.UTC)


def submit(db, number: int, learner: str = "grace", assignment: str = "ps1-basics",
           at: dt.datetime | None = None, job: bool = True, **fields) -> Submission:
    """A submission (and its autograde job), as ``grading.services.submit`` leaves it."""
    row = Submission(
        id=f"{number:032x}", course="python-101", assignment=assignment, learner=learner,
        submitted_at=at or T0 + dt.timedelta(minutes=number), status=SubmissionStatus.QUEUED,
        files_path="/nowhere", message="", breakdown=[], feedback_released=False,
    )
    for name, value in fields.items():
        setattr(row, name, value)
    with db.transaction() as session:
        session.add(row)
        session.flush()
        if job:
            enqueue(session, row.id, JobKind.AUTOGRADE)
    return row


def status_of(db, row: Submission) -> dict:
    return submission_status(db, row, LMS)


def test_a_queued_submission_says_how_many_gradings_are_ahead_of_it(grader_db):
    rows = [submit(grader_db, n, learner=f"l{n}") for n in range(1, 5)]
    assert [status_of(grader_db, r)["ahead"] for r in rows] == [0, 1, 2, 3]
    assert {status_of(grader_db, r)["state"] for r in rows} == {"queued"}


def test_a_claimed_submission_is_grading_and_no_longer_counts_for_those_behind(grader_db):
    first, second = submit(grader_db, 1), submit(grader_db, 2, learner="linus")
    claim(grader_db, "worker-1", LEASE, 3)  # the worker has the job, not yet marked grading
    assert status_of(grader_db, first)["state"] == "grading"
    assert status_of(grader_db, first)["ahead"] is None
    assert (status_of(grader_db, second)["state"], status_of(grader_db, second)["ahead"]) == (
        "queued", 0
    )


def test_pushes_and_retries_waiting_for_later_are_not_ahead(grader_db):
    graded = submit(grader_db, 1, job=False, status=SubmissionStatus.GRADED, score=8.0,
                    max_score=10.0)
    retried = submit(grader_db, 2, learner="linus")
    retry = claim(grader_db, "worker-1", LEASE, 3)
    fail(grader_db, retry, "the engine is away", max_attempts=3)  # retried in a few seconds
    with grader_db.transaction() as session:
        enqueue(session, graded.id, JobKind.PUSH)  # waiting: milliseconds, claimed first
    mine = submit(grader_db, 3, learner="ada")
    assert status_of(grader_db, retried)["state"] == "queued"
    assert status_of(grader_db, mine)["ahead"] == 0


def test_a_job_whose_worker_died_is_queued_again_with_its_place(grader_db):
    first = submit(grader_db, 1)
    later = T0 + dt.timedelta(days=1)
    claim(grader_db, "worker-1", LEASE, 3, now=T0)
    with grader_db.transaction() as session:
        session.get(Submission, first.id).status = SubmissionStatus.GRADING
        place = place_in_line(session, first.id, now=later)  # the lease ran out long ago
    assert (place.running, place.ahead) == (False, 0)


def test_a_graded_submission_has_its_score_the_feedback_page_and_its_sentences(grader_db):
    row = submit(grader_db, 1, job=False, status=SubmissionStatus.GRADED, score=8.0,
                 max_score=10.0, message="8 of 10 points.")
    status = status_of(grader_db, row)
    assert status == {
        "id": row.id, "course": "python-101", "assignment": "ps1-basics", "learner": "grace",
        "submitted_at": "2030-01-01T10:01:00+00:00", "late": None, "state": "graded",
        "ahead": None, "score": 8.0, "max_score": 10.0,
        "feedback_url": "https://lms.example.org/courses/python-101/ps1-basics/",
        "message": "8 of 10 points.",
    }


def test_an_invalid_submission_says_why_in_the_learners_words(grader_db):
    row = submit(grader_db, 1, job=False, status=SubmissionStatus.INVALID, score=0.0,
                 max_score=10.0, message="ps1-basics.ipynb is not a notebook.")
    status = status_of(grader_db, row)
    assert (status["state"], status["message"], status["score"]) == (
        "invalid", "ps1-basics.ipynb is not a notebook.", None
    )
    assert status["feedback_url"].endswith("/courses/python-101/ps1-basics/")


def test_a_failed_grading_never_shows_the_graders_error_to_the_learner(grader_db):
    error = ('Traceback (most recent call last):\n  File "/srv/studio/grading/sandbox.py", '
             'line 12\nDockerException: /var/run/docker.sock refused')
    row = submit(grader_db, 1, job=False, status=SubmissionStatus.FAILED, message=error)
    status = status_of(grader_db, row)
    assert (status["state"], status["message"]) == ("could-not-be-graded", GRADER_FAULT)
    assert "/" not in status["message"] and "Traceback" not in str(status)
    assert status["feedback_url"] is None and status["score"] is None


def test_the_status_takes_the_same_few_statements_however_long_the_queue(grader_db):
    def statements_for(row: Submission) -> int:
        seen: list[str] = []

        def count(*args) -> None:
            seen.append(args[2])

        event.listen(grader_db.engine, "before_cursor_execute", count)
        try:
            status_of(grader_db, row)
        finally:
            event.remove(grader_db.engine, "before_cursor_execute", count)
        return len([s for s in seen if s.lstrip().upper().startswith("SELECT")])

    short = submit(grader_db, 1)
    few = statements_for(short)
    for n in range(2, 40):
        submit(grader_db, n, learner=f"l{n}")
    last = submit(grader_db, 40, learner="last")
    assert status_of(grader_db, last)["ahead"] == 39
    assert statements_for(last) == few <= 3


def test_the_newest_submission_is_the_learners_own_latest_of_that_assignment(grader_db):
    submit(grader_db, 1)
    newest = submit(grader_db, 2)
    submit(grader_db, 3, learner="linus")
    submit(grader_db, 4, assignment="ps2-loops")
    assert latest_submission(grader_db, "python-101", "ps1-basics", "grace").id == newest.id
    assert latest_submission(grader_db, "python-101", "ps1-basics", "ada") is None
