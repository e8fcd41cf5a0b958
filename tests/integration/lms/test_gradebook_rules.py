"""Which grade counts, and what the late policies do (lms.gradebook.services docstring)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from lms.courses.models import LatePolicyMode
from lms.gradebook.models import Grade, GradeStatus
from lms.gradebook.selectors import (
    counting_grades,
    course_gradebook,
    final_score,
    grade_distribution,
)
from lms.gradebook.services import assess_lateness, record_grade, recount_grades
from tests.support.lms_factories import AssignmentFactory, UserFactory

DUE = timezone.now().replace(microsecond=0) - dt.timedelta(days=10)
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)


@pytest.fixture
def make_assignment(course):
    def make(policy=LatePolicyMode.REJECT, percent=0, cutoff=0, due_at=DUE, **kwargs):
        return AssignmentFactory(
            parent=course,
            release_at=DUE - dt.timedelta(days=30),
            due_at=due_at,
            late_policy=policy,
            late_percent_per_day=Decimal(percent),
            late_cutoff_days=cutoff,
            **kwargs,
        )

    return make


def submit(assignment, learner, submission_id, submitted_at, score=8, status="graded"):
    grade, _ = record_grade(
        assignment=assignment,
        learner=learner,
        submission_id=submission_id,
        score=Decimal(score),
        max_score=Decimal(10),
        submitted_at=submitted_at,
        status=status,
    )
    return grade


def counting(assignment, learner) -> list[str]:
    return list(
        Grade.objects.filter(assignment=assignment, learner=learner, counts=True).values_list(
            "submission_id", flat=True
        )
    )


def test_the_latest_on_time_submission_counts(make_assignment, learner):
    ps = make_assignment()
    submit(ps, learner, "first", DUE - 5 * HOUR, score=9)
    submit(ps, learner, "second", DUE - HOUR, score=4)
    assert counting(ps, learner) == ["second"]


def test_a_submission_exactly_at_the_due_date_is_on_time(make_assignment, learner):
    ps = make_assignment()
    grade = submit(ps, learner, "s", DUE)
    assert (grade.late, grade.status) == (False, GradeStatus.GRADED)


def test_pushes_arriving_out_of_order_still_count_the_latest_submission(make_assignment, learner):
    ps = make_assignment()
    submit(ps, learner, "newer", DUE - HOUR)
    submit(ps, learner, "older", DUE - 3 * HOUR)
    assert counting(ps, learner) == ["newer"]


def test_reject_policy_records_a_late_submission_that_never_counts(make_assignment, learner):
    ps = make_assignment(LatePolicyMode.REJECT)
    submit(ps, learner, "on-time", DUE - HOUR, score=3)
    late = submit(ps, learner, "late", DUE + HOUR, score=10)
    late.refresh_from_db()
    assert (late.status, late.late, late.counts) == (GradeStatus.LATE_REJECTED, True, False)
    assert counting(ps, learner) == ["on-time"]


def test_reject_policy_with_only_late_submissions_leaves_nothing_counting(make_assignment, learner):
    ps = make_assignment(LatePolicyMode.REJECT)
    submit(ps, learner, "late", DUE + HOUR)
    assert counting(ps, learner) == []


def test_accept_policy_counts_a_late_submission_at_full_score_when_none_was_on_time(
    make_assignment, learner
):
    ps = make_assignment(LatePolicyMode.ACCEPT)
    late = submit(ps, learner, "late", DUE + 3 * DAY, score=9)
    assert (late.status, late.late, late.late_penalty) == (GradeStatus.GRADED, True, 0)
    assert counting(ps, learner) == ["late"]
    assert final_score(Grade.objects.get()) == 9


def test_accept_policy_never_lets_a_late_resubmission_replace_an_on_time_grade(
    make_assignment, learner
):
    ps = make_assignment(LatePolicyMode.ACCEPT)
    submit(ps, learner, "on-time", DUE - HOUR, score=2)
    submit(ps, learner, "late-1", DUE + HOUR, score=10)
    assert counting(ps, learner) == ["on-time"]


def test_accept_policy_counts_the_latest_late_submission(make_assignment, learner):
    ps = make_assignment(LatePolicyMode.ACCEPT)
    submit(ps, learner, "late-1", DUE + HOUR)
    submit(ps, learner, "late-2", DUE + 2 * DAY)
    assert counting(ps, learner) == ["late-2"]


@pytest.mark.parametrize(
    ("late_by", "penalty"),
    [
        (dt.timedelta(seconds=1), Decimal("0.80")),  # 1 started day: 10 % of 8 points
        (DAY, Decimal("0.80")),
        (DAY + dt.timedelta(seconds=1), Decimal("1.60")),  # 2 started days
        (3 * DAY, Decimal("2.40")),  # the last day before the cutoff
    ],
)
def test_penalty_policy_takes_a_percentage_of_the_score_per_started_day(
    make_assignment, learner, late_by, penalty
):
    ps = make_assignment(LatePolicyMode.PENALTY, percent=10, cutoff=3)
    grade = submit(ps, learner, "late", DUE + late_by, score=8)
    assert (grade.status, grade.late, grade.late_penalty) == (GradeStatus.GRADED, True, penalty)
    assert final_score(grade) == Decimal(8) - penalty
    assert counting(ps, learner) == ["late"]


def test_penalty_policy_rejects_submissions_after_the_cutoff(make_assignment, learner):
    ps = make_assignment(LatePolicyMode.PENALTY, percent=10, cutoff=3)
    grade = submit(ps, learner, "too-late", DUE + 3 * DAY + dt.timedelta(seconds=1))
    assert (grade.status, grade.late_penalty) == (GradeStatus.LATE_REJECTED, 0)
    assert counting(ps, learner) == []


def test_penalty_never_takes_more_than_the_whole_score(make_assignment, learner):
    ps = make_assignment(LatePolicyMode.PENALTY, percent=40, cutoff=5)
    grade = submit(ps, learner, "late", DUE + 4 * DAY, score=8)
    assert grade.late_penalty == 8
    assert final_score(grade) == 0


def test_penalty_with_a_cutoff_of_zero_has_no_cutoff(make_assignment, learner):
    ps = make_assignment(LatePolicyMode.PENALTY, percent=5, cutoff=0)
    grade = submit(ps, learner, "much-later", DUE + 30 * DAY, score=10)
    assert (grade.status, grade.late_penalty) == (GradeStatus.GRADED, 10)


def test_penalty_policy_prefers_an_on_time_grade_to_a_better_late_one(make_assignment, learner):
    ps = make_assignment(LatePolicyMode.PENALTY, percent=10, cutoff=3)
    submit(ps, learner, "on-time", DUE - HOUR, score=2)
    submit(ps, learner, "late", DUE + HOUR, score=10)
    assert counting(ps, learner) == ["on-time"]


def test_an_assignment_without_due_date_is_never_late(make_assignment, learner):
    ps = make_assignment(LatePolicyMode.REJECT, due_at=None)
    grade = submit(ps, learner, "whenever", timezone.now() + 300 * DAY)
    assert (grade.late, grade.counts) == (False, True)


def test_an_invalid_submission_never_counts(make_assignment, learner):
    ps = make_assignment(LatePolicyMode.ACCEPT)
    submit(ps, learner, "good", DUE - 2 * HOUR, score=6)
    invalid = submit(ps, learner, "broken", DUE - HOUR, score=0, status="invalid")
    assert invalid.status == GradeStatus.INVALID
    assert counting(ps, learner) == ["good"]


def test_a_late_rejected_status_from_the_grader_is_decided_again_by_the_lms(
    make_assignment, learner
):
    ps = make_assignment(LatePolicyMode.REJECT)
    grade = submit(ps, learner, "on-time", DUE - HOUR, status="late-rejected")
    assert (grade.status, grade.counts) == (GradeStatus.GRADED, True)


def test_one_learners_submissions_do_not_change_what_counts_for_another(
    make_assignment, learner, other_learner
):
    ps = make_assignment()
    submit(ps, learner, "grace", DUE - 2 * HOUR)
    submit(ps, other_learner, "linus", DUE - HOUR)
    assert counting(ps, learner) == ["grace"]
    assert counting(ps, other_learner) == ["linus"]


def test_recording_a_grade_for_someone_not_enrolled_is_refused(make_assignment, db):
    ps = make_assignment()
    stranger = UserFactory(username="stranger")
    with pytest.raises(ValidationError) as error:
        submit(ps, stranger, "s", DUE - HOUR)
    assert error.value.message_dict == {
        "learner": ["stranger is not enrolled in the course python-101."]
    }
    assert not Grade.objects.exists()


def test_moving_the_due_date_and_publishing_recounts_the_grades(make_assignment, learner):
    ps = make_assignment(LatePolicyMode.REJECT)
    late = submit(ps, learner, "late", DUE + DAY)
    assert late.status == GradeStatus.LATE_REJECTED
    ps.due_at = DUE + 2 * DAY  # an extension
    ps.save_revision().publish()
    late.refresh_from_db()
    assert (late.status, late.late, late.counts) == (GradeStatus.GRADED, False, True)


def test_recount_applies_a_changed_policy_and_reports_what_changed(make_assignment, learner):
    ps = make_assignment(LatePolicyMode.REJECT)
    submit(ps, learner, "late", DUE + DAY, score=10)
    ps.late_policy = LatePolicyMode.PENALTY
    ps.late_percent_per_day = Decimal(25)
    ps.late_cutoff_days = 2
    ps.save()
    assert recount_grades(ps) == 1
    grade = Grade.objects.get()
    assert (grade.status, grade.late_penalty, grade.counts) == (GradeStatus.GRADED, 2.5, True)
    assert recount_grades(ps) == 0


def test_assess_lateness_is_on_time_before_the_due_date(make_assignment):
    ps = make_assignment(LatePolicyMode.PENALTY, percent=10, cutoff=1)
    lateness = assess_lateness(ps, DUE - HOUR, Decimal(5))
    assert (lateness.late, lateness.rejected, lateness.penalty, lateness.days_late) == (
        False,
        False,
        0,
        0,
    )


def test_the_gradebook_holds_each_learners_counting_grade_per_assignment(
    make_assignment, learner, other_learner, instructor
):
    ps_a = make_assignment(title="A")
    ps_b = make_assignment(title="B", due_at=DUE + DAY)
    submit(ps_a, learner, "a-old", DUE - 2 * HOUR, score=2)
    submit(ps_a, learner, "a-new", DUE - HOUR, score=7)
    submit(ps_b, other_learner, "b", DUE - HOUR, score=5)
    book = course_gradebook(ps_a.get_parent().specific)
    names = [a.nbgrader_name for a in book.assignments]
    assert names == [ps_a.nbgrader_name, ps_b.nbgrader_name, "ps1-basics"]  # soonest due first
    rows = {row.learner.username: row for row in book.rows}
    assert set(rows) == {"grace", "linus"}
    grace = dict(zip(names, rows["grace"].grades, strict=True))
    assert grace[ps_a.nbgrader_name].submission_id == "a-new"
    assert grace[ps_b.nbgrader_name] is None
    assert rows["grace"].total == 7
    assert rows["linus"].total == 5


def test_the_distribution_counts_final_scores_of_counting_grades_only(
    make_assignment, learner, other_learner
):
    ps = make_assignment(LatePolicyMode.PENALTY, percent=50, cutoff=2)
    submit(ps, learner, "old", DUE - 2 * HOUR, score=1)  # replaced: not counted
    submit(ps, learner, "new", DUE - HOUR, score=10)
    submit(ps, other_learner, "late", DUE + HOUR, score=10)  # 50 % off: 5 points
    stats = grade_distribution([ps])[ps.pk]
    assert (stats.count, stats.minimum, stats.maximum, stats.mean) == (2, 50.0, 100.0, 75.0)
    assert stats.histogram == [0, 0, 0, 0, 0, 1, 0, 0, 0, 1]
    assert counting_grades(assignments=[ps]).count() == 2
