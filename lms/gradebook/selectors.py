"""Reads about grades: who may see which grade, which grades count, a course's gradebook and its
grade distribution. One place decides each rule; the API, the pages and the admin ask here.

Who sees a grade: the learner it belongs to, the instructors of its course, and staff. Nobody
else, not even the grader service that wrote it (its token may write grades and do nothing
else with them).

Who may write grades: a user holding ``gradebook.push_grades`` *explicitly* (directly or through
a group). Superusers' implicit all-permissions do not count: grades come from the autograder (and
nbgrader's formgrader, through it), so a hand-written grade would bypass the grading pipeline.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet

from lms.accounts.models import User
from lms.accounts.usernames import normalize_username
from lms.courses.models import AssignmentPage, CoursePage, Enrollment, EnrollmentRole
from lms.courses.selectors import (
    course_slug_of,
    in_course,
    in_courses,
    live_assignments,
    taught_course_ids,
)

from .models import Grade, GradeStatus

PUSH_GRADES = ("gradebook", "push_grades")


def can_push_grades(user: User) -> bool:
    """Only an active account explicitly granted ``gradebook.push_grades`` writes grades."""
    if not user.is_authenticated or not user.is_active:
        return False
    app_label, codename = PUSH_GRADES
    return Permission.objects.filter(
        Q(user=user) | Q(group__user=user),
        content_type__app_label=app_label,
        codename=codename,
    ).exists()


def final_score(grade: Grade) -> Decimal:
    """The score after the late penalty (never below zero): what the gradebook adds up."""
    return max(grade.score - grade.late_penalty, Decimal(0))


def final_percent(grade: Grade) -> float:
    return float(final_score(grade)) / float(grade.max_score) * 100 if grade.max_score else 0.0


@dataclass(frozen=True)
class SubmissionTarget:
    course: CoursePage
    assignment: AssignmentPage
    learner: User


def submission_target(course_slug: str, assignment_name: str, username: str) -> SubmissionTarget:
    """Find what a grade push names by its natural keys: the course by slug, the assignment by
    nbgrader name within it, the learner by username. Raises ``ValidationError`` by field."""
    course = CoursePage.objects.filter(slug=course_slug).first()
    if course is None:
        raise ValidationError({"course": f"No course with the slug {course_slug!r}."})
    assignment = (
        AssignmentPage.objects.filter(in_course(course), nbgrader_name=assignment_name)
        .defer_streamfields()
        .first()
    )
    if assignment is None:
        raise ValidationError(
            {"assignment": f"No assignment {assignment_name!r} in the course {course.slug}."}
        )
    learner = User.objects.filter(username=normalize_username(username)).first()
    if learner is None:
        raise ValidationError({"learner": f"No user {username!r}."})
    return SubmissionTarget(course, assignment, learner)


def grades_with_details() -> QuerySet[Grade]:
    """Grades with what a list shows (learner, assignment, course slug) in one query."""
    return (
        Grade.objects.select_related("learner", "assignment")
        .defer("assignment__instructions")
        .annotate(course_slug=course_slug_of("assignment__path"))
        .order_by("-submitted_at", "-pk")
    )


def grades_visible_to(user: User) -> QuerySet[Grade]:
    """A learner's own grades, their courses' grades for instructors, every grade for staff."""
    grades = grades_with_details()
    if not user.is_authenticated:
        return grades.none()
    if user.is_studio_staff:
        return grades
    return grades.filter(
        Q(learner_id=user.pk) | in_courses(taught_course_ids(user), "assignment__path")
    )


def grades_in_course(grades: QuerySet[Grade], course: CoursePage) -> QuerySet[Grade]:
    return grades.filter(in_course(course, "assignment"))


def counting_grades(
    *,
    course: CoursePage | None = None,
    assignments: Iterable[AssignmentPage] | None = None,
    learner: User | None = None,
) -> QuerySet[Grade]:
    """The grades that count (at most one per learner and assignment, chosen by
    ``gradebook.services.recount_grades``), optionally narrowed to a course, some assignments
    or one learner."""
    grades = Grade.objects.filter(counts=True)
    if course is not None:
        grades = grades_in_course(grades, course)
    if assignments is not None:
        grades = grades.filter(assignment__in=list(assignments))
    if learner is not None:
        grades = grades.filter(learner=learner)
    return grades


@dataclass(frozen=True)
class GradebookRow:
    learner: User
    grades: list[Grade | None]  # the counting grade per assignment, in the gradebook's order

    @property
    def total(self) -> Decimal:
        return sum((final_score(g) for g in self.grades if g is not None), Decimal(0))


@dataclass(frozen=True)
class CourseGradebook:
    course: CoursePage
    assignments: list[AssignmentPage]
    rows: list[GradebookRow]

    @property
    def points(self) -> Decimal:
        return sum((a.points for a in self.assignments), Decimal(0))


def course_gradebook(course: CoursePage) -> CourseGradebook:
    """The course's learners (enrolled as learners, by username) x its live assignments (released
    or not, soonest due first), each cell the counting grade or None. Three queries, however many
    learners and assignments."""
    assignments = list(live_assignments(course).defer_streamfields())
    enrollments = Enrollment.objects.filter(course=course, role=EnrollmentRole.LEARNER)
    learners = [e.user for e in enrollments.select_related("user").order_by("user__username")]
    by_pk = {a.pk: a for a in assignments}
    counting = {}
    for grade in counting_grades(assignments=assignments).filter(
        learner_id__in=enrollments.values("user_id")
    ):
        grade.assignment = by_pk[grade.assignment_id]  # no query per cell for its assignment
        counting[grade.learner_id, grade.assignment_id] = grade
    rows = [GradebookRow(u, [counting.get((u.pk, a.pk)) for a in assignments]) for u in learners]
    return CourseGradebook(course, assignments, rows)


HISTOGRAM_BINS = 10  # [0, 10) %, [10, 20) %, ..., [90, 100] % (100 % falls in the last bin)


@dataclass(frozen=True)
class Distribution:
    """How the counting grades of one assignment spread, in percent of the maximum score after
    late penalties."""

    count: int
    mean: float | None
    median: float | None
    minimum: float | None
    maximum: float | None
    histogram: list[int]


def distribution_of(percents: list[float]) -> Distribution:
    histogram = [0] * HISTOGRAM_BINS
    for p in percents:
        histogram[min(max(int(p // (100 / HISTOGRAM_BINS)), 0), HISTOGRAM_BINS - 1)] += 1
    if not percents:
        return Distribution(0, None, None, None, None, histogram)
    return Distribution(
        count=len(percents),
        mean=round(statistics.fmean(percents), 2),
        median=round(statistics.median(percents), 2),
        minimum=round(min(percents), 2),
        maximum=round(max(percents), 2),
        histogram=histogram,
    )


def grade_distribution(assignments: Iterable[AssignmentPage]) -> dict[int, Distribution]:
    """Per assignment id: the distribution of its counting grades (one query). Only graded
    submissions count, so invalid and rejected ones never enter it."""
    assignments = list(assignments)
    percents: dict[int, list[float]] = {a.pk: [] for a in assignments}
    grades = (
        counting_grades(assignments=assignments)
        .filter(status=GradeStatus.GRADED)
        .only("assignment_id", "score", "late_penalty", "max_score")
        .order_by()
    )
    for grade in grades:
        if grade.max_score:
            percents[grade.assignment_id].append(final_percent(grade))
    return {pk: distribution_of(values) for pk, values in percents.items()}
