"""Writes to the gradebook: recording a graded submission pushed by the grader service, deciding
which grade counts, and the grader's service account. Nothing else writes grades. And the
instructors' actions on the grader (release, unrelease, regrade, release feedback), which change
the grader's state, not the LMS's.

The rules, in one place:

**Late** and its cost are decided by the studio's one lateness rule,
:func:`courses.lateness.assess` (the grader uses the same function), from the LMS's own due date
and late policy (``AssignmentPage.late_policy``, ``late_percent_per_day``,
``late_cutoff_days``); a ``late`` or ``late_penalty`` sent by the grader is not trusted. A
submission the policy refuses is recorded with status ``late-rejected`` and never counts; an
accepted late one is recorded as late with its ``late_penalty`` points.

**Which grade counts** (at most one per learner and assignment): among the learner's graded
submissions (status ``graded``; ``invalid`` and ``late-rejected`` ones never count), the latest
submission made by the due date; if there is none, the latest accepted late one. So a late
resubmission never replaces an on-time grade, whatever its score. "Latest" is by
``submitted_at``, then ``graded_at``, then row id.
"""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from courses.lateness import Lateness, assess
from lms.accounts.models import User
from lms.accounts.service_accounts import ServiceAccount
from lms.courses.models import AssignmentPage, CoursePage, Enrollment
from lms.courses.selectors import course_of

from . import events, grader
from .models import Grade, GradeStatus
from .selectors import PUSH_GRADES, require_grading_rights

log = logging.getLogger(__name__)

def assess_lateness(
    assignment: AssignmentPage, submitted_at: dt.datetime, score: Decimal
) -> Lateness:
    """Whether a submission is late, and what the assignment's late policy does to it."""
    return assess(assignment.late_policy_spec, assignment.due_at, submitted_at, score)


def _apply_lateness(grade: Grade, assignment: AssignmentPage) -> None:
    """Set ``late``, ``late_penalty`` and (for graded submissions) the status from the policy."""
    lateness = assess_lateness(assignment, grade.submitted_at, grade.score)
    grade.late = lateness.late
    if grade.status == GradeStatus.INVALID:  # stays invalid: nothing to take off
        grade.late_penalty = Decimal(0)
        return
    grade.late_penalty = lateness.penalty
    grade.status = GradeStatus.LATE_REJECTED if lateness.rejected else GradeStatus.GRADED


def _counting_grade(grades: list[Grade]) -> Grade | None:
    """The module docstring's rule: the latest on-time graded submission, else the latest
    accepted late one."""
    graded = [g for g in grades if g.status == GradeStatus.GRADED]
    pool = [g for g in graded if not g.late] or graded
    return max(pool, key=lambda g: (g.submitted_at, g.graded_at, g.pk), default=None)


def _locked_grades(**filters) -> list[Grade]:
    # Always lock in primary-key order, so a recount and a push never deadlock. Which grade
    # counts does not depend on the feedback pages (~0.3 MB each), so they are not read.
    grades = Grade.objects.select_for_update().filter(**filters).defer("feedback_html")
    return list(grades.order_by("pk"))


def _recount(grades: list[Grade]) -> None:
    """Set ``counts`` on one learner's grades of one assignment (already locked)."""
    chosen = _counting_grade(grades)
    for grade in grades:
        grade.counts = grade is chosen


def record_grade(
    *,
    assignment: AssignmentPage,
    learner: User,
    submission_id: str,
    score: Decimal,
    max_score: Decimal,
    submitted_at: dt.datetime,
    status: str = GradeStatus.GRADED,
    graded_at: dt.datetime | None = None,
    feedback_html: str = "",
    breakdown: list | None = None,
) -> tuple[Grade, bool]:
    """Record the grade of one submission, idempotently: the same (assignment, learner,
    submission id) updates its one row. Returns the grade and whether it was created.

    The learner must be enrolled in the assignment's course (as a learner or an instructor
    testing the assignment). ``status`` ``invalid`` is kept; ``graded`` and ``late-rejected``
    are decided again by the late policy (see the module docstring), and which of the learner's
    grades counts is decided afresh. Raises ``ValidationError`` for a learner not enrolled.
    """
    course = course_of(assignment)
    with transaction.atomic():
        # Locking the enrollment serialises pushes for one learner in one course, so two
        # concurrent pushes cannot both decide that their submission counts.
        enrollment = (
            Enrollment.objects.select_for_update().filter(user=learner, course=course).first()
        )
        if enrollment is None:
            raise ValidationError(
                {"learner": f"{learner.username} is not enrolled in the course {course.slug}."}
            )
        grades = _locked_grades(assignment=assignment, learner=learner)
        grade = next((g for g in grades if g.submission_id == submission_id), None)
        created = grade is None
        had_feedback = not created and (
            Grade.objects.filter(pk=grade.pk).exclude(feedback_html="").exists()
        )
        if created:
            grade = Grade(assignment=assignment, learner=learner, submission_id=submission_id)
            grades.append(grade)
        grade.status = status
        grade.score = Decimal(score)
        grade.max_score = Decimal(max_score)
        grade.submitted_at = submitted_at
        grade.graded_at = graded_at or timezone.now()
        grade.feedback_html = feedback_html
        grade.breakdown = list(breakdown or [])
        _apply_lateness(grade, assignment)
        grade.save()
        _recount(grades)
        Grade.objects.bulk_update([g for g in grades if g.pk], ["counts"])
        released = bool(feedback_html) and not had_feedback
        transaction.on_commit(
            lambda: events.grade_recorded.send(
                Grade, grade=grade, created=created, feedback_released=released
            )
        )
    return grade, created


@transaction.atomic
def recount_grades(assignment: AssignmentPage) -> int:
    """Apply the assignment's current due date and late policy to all its grades again (after an
    instructor moved the due date or changed the policy). Returns how many grades changed."""
    grades = _locked_grades(assignment=assignment)
    before = {g.pk: (g.late, g.late_penalty, g.status, g.counts) for g in grades}
    by_learner: dict[int, list[Grade]] = {}
    for grade in grades:
        _apply_lateness(grade, assignment)
        by_learner.setdefault(grade.learner_id, []).append(grade)
    for learner_grades in by_learner.values():
        _recount(learner_grades)
    changed = [g for g in grades if before[g.pk] != (g.late, g.late_penalty, g.status, g.counts)]
    Grade.objects.bulk_update(changed, ["late", "late_penalty", "status", "counts"])
    return len(changed)


# --- The grader's service account -----------------------------------------------------------

GRADER_ACCOUNT = ServiceAccount(
    service="grader",
    username="svc-grader",
    first_name="Grader",
    permission=PUSH_GRADES,
    token_variable="LMS_GRADER_TOKEN",  # noqa: S106 - the variable's name, not a token
)
"""Registered with ``lms.accounts`` by ``GradebookConfig.ready``: ``ensure_service_account
grader`` sets its token from ``LMS_GRADER_TOKEN``."""


def ensure_grader_account(token_key: str) -> tuple[User, bool]:
    """Create or update the grader's service account ``svc-grader``: an active learner-role user
    with an unusable password (it never signs in), the ``gradebook.push_grades`` permission and
    exactly one DRF token, ``token_key``. Idempotent. Returns the user and whether it was
    created."""
    return GRADER_ACCOUNT.ensure(token_key)


# --- Instructors' actions on the grader -----------------------------------------------------
# Each checks who may (lms.gradebook.selectors.may_manage_grading), then calls the grader as
# that instructor. They raise PermissionDenied, or a grader.GraderError with a sentence to show.


def release_options(assignment: AssignmentPage) -> grader.ReleaseOptions:
    """What the grader is told at release: the page's due date and late policy; feedback is
    released to learners as soon as a submission is graded."""
    return grader.ReleaseOptions(
        due_at=assignment.due_at,
        late_policy=assignment.late_policy_spec,
        feedback="auto",
    )


def _client(user: User, course: CoursePage, action: str, assignment: AssignmentPage | None):
    require_grading_rights(user, course)
    what = f"{course.slug}/{assignment.nbgrader_name}" if assignment else course.slug
    log.info("grader: %s %s by %s", action, what, user.username)
    return grader.GraderClient.for_user(user.username)


def release_assignment(user: User, assignment: AssignmentPage) -> grader.Release:
    """Release the assignment to learners (again: with the page's current due date and late
    policy)."""
    course = course_of(assignment)
    client = _client(user, course, "release", assignment)
    return client.release(course.slug, assignment.nbgrader_name, release_options(assignment))


def unrelease_assignment(user: User, assignment: AssignmentPage) -> None:
    """Withdraw the assignment from learners; the grader keeps their submissions."""
    course = course_of(assignment)
    _client(user, course, "unrelease", assignment).unrelease(course.slug, assignment.nbgrader_name)


def regrade_submissions(
    user: User, assignment: AssignmentPage, submission_ids: list[str] | None = None
) -> list[str]:
    """Queue all the assignment's submissions (or the named ones) for autograding again; the ids
    queued (those already waiting are left alone)."""
    course = course_of(assignment)
    client = _client(user, course, "regrade", assignment)
    return client.regrade(course.slug, assignment.nbgrader_name, submission_ids)


def release_feedback(user: User, assignment: AssignmentPage) -> list[str]:
    """Let learners see the feedback of every graded submission; the ids released."""
    course = course_of(assignment)
    client = _client(user, course, "release feedback", assignment)
    return client.release_feedback(course.slug, assignment.nbgrader_name)
