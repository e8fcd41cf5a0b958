"""What the API changes (grading.services) and the grades it reports (grading.selectors):
submissions kept durably or not at all, releases, regrades, and grades shown as the LMS
recorded them."""

from __future__ import annotations

import datetime as dt
import io
import os
import time

import pytest
from sqlalchemy import select

from grading import selectors, services
from grading.services import ServiceError
from grading.settings import Settings
from grading.store import Job, JobKind, Release, Submission, SubmissionStatus


def rows(db, model):
    with db.transaction() as session:
        return list(session.scalars(select(model)))


def submit(db, settings, data: bytes, learner: str = "grace", assignment: str = "ps1-basics"):
    return services.submit(db, settings, "python-101", assignment, learner, io.BytesIO(data))


# -- submitting ----------------------------------------------------------------------------------


def test_a_submission_is_kept_with_its_files_row_and_autograde_job(
    grader_db, grader_settings, release_row, tar_of, notebook_bytes
):
    release_row()
    submission = submit(grader_db, grader_settings, tar_of({"ps1-basics.ipynb": notebook_bytes}))
    assert len(submission.id) == 32
    folder = grader_settings.submissions_dir / submission.id / "files"
    assert (folder / "ps1-basics.ipynb").read_bytes() == notebook_bytes
    (row,) = rows(grader_db, Submission)
    assert (row.learner, row.status, row.files_path) == (
        "grace", SubmissionStatus.QUEUED, str(folder)
    )
    (job,) = rows(grader_db, Job)
    assert (job.submission_id, job.kind, job.done_at) == (submission.id, JobKind.AUTOGRADE, None)


def test_every_submission_is_kept(grader_db, grader_settings, release_row, tar_of):
    release_row()
    first = submit(grader_db, grader_settings, tar_of({"a.ipynb": b"1"}))
    second = submit(grader_db, grader_settings, tar_of({"a.ipynb": b"2"}))
    assert first.id != second.id
    assert len(rows(grader_db, Submission)) == 2
    assert (grader_settings.submissions_dir / first.id / "files" / "a.ipynb").read_bytes() == b"1"


def test_a_submissions_lateness_is_unknown_until_the_lms_records_it(
    grader_db, grader_settings, release_row, tar_of
):
    release_row(due_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
    shown = selectors.submission_json(submit(grader_db, grader_settings, tar_of({"a.ipynb": b"1"})))
    assert (shown["late"], shown["recorded"]) == (None, None)


def test_an_unreleased_assignment_takes_no_submission(grader_db, grader_settings, tar_of):
    with pytest.raises(ServiceError, match="not released") as refused:
        submit(grader_db, grader_settings, tar_of({"a.ipynb": b"1"}))
    assert refused.value.status == 404
    assert rows(grader_db, Submission) == []


@pytest.mark.parametrize(
    "upload",
    [b"garbage", "traversal", "too-many", "link"],
)
def test_a_refused_upload_leaves_nothing_behind(
    grader_db, grader_settings, release_row, tar_of, upload
):
    release_row()
    data = {
        "traversal": lambda: tar_of({"ok.ipynb": b"1", "../../evil.py": b"x"}),
        "too-many": lambda: tar_of({f"f{i}": b"x" for i in range(11)}),
        "link": lambda: tar_of({"ok.ipynb": b"1"}, links={"l": "/etc/passwd"}),
    }.get(upload, lambda: upload)()
    with pytest.raises(ServiceError, match="The upload was refused") as refused:
        submit(grader_db, grader_settings, data)
    assert refused.value.status == 400
    assert rows(grader_db, Submission) == [] and rows(grader_db, Job) == []
    leftovers = [p for p in grader_settings.submissions_dir.rglob("*") if p.is_file()]
    assert leftovers == []


def test_half_unpacked_uploads_from_a_crash_are_swept_after_an_hour(grader_settings):
    incoming = grader_settings.submissions_dir / services.INCOMING
    (incoming / "old" / "files").mkdir(parents=True)
    (incoming / "new").mkdir()
    two_hours_ago = time.time() - 7200
    os.utime(incoming / "old", (two_hours_ago, two_hours_ago))
    services.remove_stale_incoming(grader_settings)
    assert [p.name for p in incoming.iterdir()] == ["new"]


# -- regrade and feedback -------------------------------------------------------------------------


def test_regrade_queues_each_submission_once(grader_db, grader_settings, release_row, tar_of):
    release_row()
    first = submit(grader_db, grader_settings, tar_of({"a.ipynb": b"1"}))
    assert services.regrade(grader_db, "python-101", "ps1-basics", None) == []  # still queued
    with grader_db.transaction() as session:
        for job in session.scalars(select(Job)):
            job.done_at = dt.datetime.now(dt.UTC)
        session.get(Submission, first.id).status = SubmissionStatus.GRADED
    assert services.regrade(grader_db, "python-101", "ps1-basics", [first.id]) == [first.id]
    with grader_db.transaction() as session:
        assert session.get(Submission, first.id).status == SubmissionStatus.QUEUED
    assert len([j for j in rows(grader_db, Job) if j.done_at is None]) == 1


def test_regrading_unknown_submissions_is_refused(grader_db, release_row):
    release_row()
    with pytest.raises(ServiceError, match=r"no submissions f+") as refused:
        services.regrade(grader_db, "python-101", "ps1-basics", ["f" * 32])
    assert refused.value.status == 400


def test_feedback_is_released_for_graded_submissions_only(
    grader_db, grader_settings, release_row, tar_of
):
    release_row(feedback_auto=False)
    graded = submit(grader_db, grader_settings, tar_of({"a.ipynb": b"1"}))
    waiting = submit(grader_db, grader_settings, tar_of({"a.ipynb": b"2"}))
    with grader_db.transaction() as session:
        session.get(Submission, graded.id).status = SubmissionStatus.GRADED
    released = services.release_feedback(grader_db, "python-101", "ps1-basics", None, push=True)
    assert released == [graded.id]
    pushes = [j for j in rows(grader_db, Job) if j.kind == JobKind.PUSH]
    assert [j.submission_id for j in pushes] == [graded.id]
    with grader_db.transaction() as session:
        assert session.get(Submission, waiting.id).feedback_released is False


# -- release ------------------------------------------------------------------------------------


def test_a_release_takes_due_date_and_late_policy_from_course_yml(
    grader_db, grader_settings, course_ops
):
    release, created = services.release(
        grader_db, grader_settings, course_ops, "python-101", "ps1-basics", {}
    )
    assert created is True
    assert course_ops.calls == [
        ("release", grader_settings.nbgrader_course_dir("python-101"), "ps1-basics")
    ]
    assert release.due_at == dt.datetime(2027, 1, 31, 23, 59, tzinfo=dt.UTC)
    assert release.late_policy == {"mode": "penalty", "percent_per_day": 10.0, "cutoff_days": 3}
    assert release.notebooks == ["ps1-basics.ipynb"]
    assert release.feedback_auto is True


def test_the_lms_may_give_its_own_due_date_policy_and_feedback_mode(
    grader_db, grader_settings, course_ops
):
    services.release(grader_db, grader_settings, course_ops, "python-101", "ps1-basics", {})
    release, created = services.release(
        grader_db, grader_settings, course_ops, "python-101", "ps1-basics",
        {"due_at": "2027-02-01T12:00:00+01:00", "late_policy": {"mode": "reject"},
         "feedback": "manual"},
    )
    assert created is False
    assert release.due_at == dt.datetime(2027, 2, 1, 11, 0, tzinfo=dt.UTC)
    assert release.policy.mode == "reject"
    assert release.feedback_auto is False
    assert len(rows(grader_db, Release)) == 1


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"due_at": "tomorrow"}, "ISO 8601"),
        ({"due_at": "2027-02-01T12:00:00"}, "time zone"),
        ({"late_policy": {"mode": "forgive"}}, "late_policy"),
        ({"late_policy": {"mode": "penalty", "percent_per_day": 120}}, "percent_per_day"),
        ({"feedback": "sometimes"}, "feedback"),
        ({"colour": "blue"}, "unknown release options"),
    ],
)
def test_bad_release_options_are_refused_before_anything_happens(
    grader_db, grader_settings, course_ops, options, problem
):
    with pytest.raises(ServiceError, match=problem) as refused:
        services.release(grader_db, grader_settings, course_ops, "python-101", "ps1-basics",
                         options)
    assert refused.value.status == 400
    assert course_ops.calls == []


def test_a_broken_course_file_is_refused_without_the_graders_path_to_it(
    grader_db, grader_env, course_ops, tmp_path
):
    courses = tmp_path / "private-courses"
    (courses / "broken-101").mkdir(parents=True)
    (courses / "broken-101" / "course.yml").write_text("title: Broken\ncolour: blue\n")
    settings = Settings.from_env({**grader_env, "STUDIO_COURSES_DIR": str(courses)})
    with pytest.raises(ServiceError) as refused:
        services.release(grader_db, settings, course_ops, "broken-101", "ps1-basics", {})
    assert (refused.value.status, refused.value.code) == (409, "course-file")
    assert refused.value.message.startswith("The course file (course.yml) cannot be used: colour")
    assert str(tmp_path) not in refused.value.message


@pytest.mark.parametrize(("course", "assignment"), [("nope-101", "ps1-basics"),
                                                    ("python-101", "ps9-nothing")])
def test_releasing_what_the_course_files_do_not_have_is_not_found(
    grader_db, grader_settings, course_ops, course, assignment
):
    with pytest.raises(ServiceError) as refused:
        services.release(grader_db, grader_settings, course_ops, course, assignment, {})
    assert refused.value.status == 404
    assert course_ops.calls == []


def test_unrelease_withdraws_the_assignment_and_keeps_its_submissions(
    grader_db, grader_settings, course_ops, tar_of
):
    services.release(grader_db, grader_settings, course_ops, "python-101", "ps1-basics", {})
    submit(grader_db, grader_settings, tar_of({"a.ipynb": b"1"}))
    services.unrelease(grader_db, grader_settings, course_ops, "python-101", "ps1-basics")
    assert course_ops.calls[-1][0] == "unrelease"
    assert rows(grader_db, Release) == []
    assert len(rows(grader_db, Submission)) == 1
    with pytest.raises(ServiceError) as again:
        services.unrelease(grader_db, grader_settings, course_ops, "python-101", "ps1-basics")
    assert again.value.status == 404


# -- grades as the LMS recorded them -------------------------------------------------------------

DUE = dt.datetime(2027, 1, 31, 12, 0, tzinfo=dt.UTC)


def graded(db, learner: str, submitted_at: dt.datetime, score: float, **lms) -> str:
    submission_id = f"{len(rows(db, Submission)):032x}"
    with db.transaction() as session:
        session.add(Submission(
            id=submission_id, course="python-101", assignment="ps1-basics", learner=learner,
            submitted_at=submitted_at, status="graded", score=score, max_score=10.0,
            files_path="/nowhere", graded_at=submitted_at, **lms,
        ))
    return submission_id


def test_a_grade_is_shown_as_the_lms_recorded_it_never_recomputed(grader_db, release_row):
    """The release's policy (reject) would refuse this late submission; the LMS, whose page
    says otherwise, took it with a penalty: the grader shows the LMS's answer."""
    release_row(due_at=DUE, mode="reject")
    submission_id = graded(
        grader_db, "grace", DUE + dt.timedelta(hours=30), 9, lms_status="graded",
        lms_score=9.0, lms_max_score=10.0, lms_late=True, lms_late_penalty=1.8,
        lms_final_score=7.2, lms_counts=True, lms_updated_at=DUE + dt.timedelta(days=2),
        pushed_at=DUE + dt.timedelta(days=2),
    )
    (shown,) = selectors.submissions(grader_db, "python-101", "ps1-basics", "grace")
    answer = selectors.submission_json(shown)
    assert (answer["id"], answer["late"], answer["score"]) == (submission_id, True, 9.0)
    assert answer["recorded"] == {
        "status": "graded", "score": 9.0, "max_score": 10.0, "late": True, "late_penalty": 1.8,
        "final_score": 7.2, "counts": True, "recorded_at": "2027-02-02T12:00:00+00:00",
    }


def test_a_grade_the_lms_has_not_recorded_shows_no_lateness_and_no_record(
    grader_db, release_row
):
    release_row(due_at=DUE, mode="accept")
    graded(grader_db, "grace", DUE + dt.timedelta(days=3), 10)
    (shown,) = selectors.submissions(grader_db, "python-101", "ps1-basics")
    answer = selectors.submission_json(shown, selectors.Audience.ADMIN)
    assert (answer["status"], answer["score"]) == ("graded", 10.0)
    assert (answer["late"], answer["recorded"]) == (None, None)
    assert not {"days_late", "late_penalty", "final_score", "counts"} & set(answer)
