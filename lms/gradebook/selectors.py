"""Reads about grades: who may see which grade, which grades count, a course's gradebook and its
grade distribution. One place decides each rule; the API, the pages and the admin ask here.

Who sees a grade: the learner it belongs to, the instructors of its course, and staff. Nobody
else, not even the grader service that wrote it (its token may write grades and do nothing
else with them). ``grades_visible_to`` is that rule as a query, ``may_see_grades_of`` for one
learner.

Who manages grading (releases and unreleases assignments, regrades, releases feedback, exports
grades, sees the gradebook and every learner's submissions): the course's instructors and staff,
``may_manage_grading``. The grader trusts the LMS to decide this (see ``lms.gradebook.grader``).
The grade export (``grades_csv``) is the gradebook page's cells, from the LMS's own ``Grade``
rows: the LMS is the record of grades; the grader keeps its answers to pushes, nothing more.

Who may write grades: a user holding ``gradebook.push_grades`` *explicitly* (directly or through
a group). Superusers' implicit all-permissions do not count: grades come from the autograder (and
nbgrader's formgrader, through it), so a hand-written grade would bypass the grading pipeline.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Max, Q, QuerySet

from courses.lateness import days_late
from courses.naming import formgrader_service_name, service_url
from lms.accounts.models import User
from lms.accounts.usernames import normalize_username
from lms.courses.models import AssignmentPage, CoursePage, Enrollment, EnrollmentRole
from lms.courses.selectors import (
    CourseCard,
    Deadline,
    Progress,
    course_outlines,
    course_slug_of,
    courses_of,
    in_course,
    in_courses,
    is_course_instructor,
    learners_progress,
    learning_of,
    live_assignments,
    taught_course_ids,
)

from . import grader
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
class TestsSummary:
    full_marks: int  # tests with their whole score
    total: int


def tests_summary(grade: Grade) -> TestsSummary:
    """How many of the submission's tests (``breakdown``) got their whole score."""
    tests = [t for t in grade.breakdown or [] if isinstance(t, dict)]
    full = sum(1 for t in tests if float(t.get("score") or 0) >= float(t.get("max_score") or 0))
    return TestsSummary(full, len(tests))


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
    """Grades with what a list shows (learner, assignment, course slug) in one query: of the
    learner and the assignment only their names and title, not their whole rows (an assignment
    is a page: dozens of columns, and a page model to build, for every grade)."""
    return (
        Grade.objects.select_related("learner", "assignment")
        .only(*GRADE_FIELDS, "learner__username", "assignment__nbgrader_name", "assignment__title")
        .annotate(course_slug=course_slug_of("assignment__path"))
        .order_by("-submitted_at", "-pk")
    )


GRADE_FIELDS = [field.name for field in Grade._meta.concrete_fields]


def grades_visible_to(user: User) -> QuerySet[Grade]:
    """A learner's own grades, their courses' grades for instructors, every grade for staff."""
    grades = grades_with_details()
    if not user.is_authenticated:
        return grades.none()
    if user.is_studio_staff:
        return grades
    taught = taught_course_ids(user)
    if not taught:
        return grades.filter(learner_id=user.pk)
    return grades.filter(Q(learner_id=user.pk) | in_courses(taught, "assignment__path"))


def may_see_grades_of(viewer: User, learner: User, course: CoursePage) -> bool:
    """``grades_visible_to`` for one learner of one course: themselves, the course's
    instructors, staff."""
    if not viewer.is_authenticated:
        return False
    return viewer.pk == learner.pk or is_course_instructor(viewer, course)


def may_manage_grading(user: User, course: CoursePage) -> bool:
    """Only the course's instructors (and staff) release, regrade, release feedback, export
    grades, and see the gradebook and all submissions."""
    return is_course_instructor(user, course)


def require_grading_rights(user: User, course: CoursePage) -> None:
    if not may_manage_grading(user, course):
        raise PermissionDenied(
            f"Only the instructors of {course.title} manage its assignments and grades."
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
class GradebookCell:
    grade: Grade | None  # the counting grade
    problem: str | None  # a later submission that does not count: "invalid" or "late-rejected"


@dataclass(frozen=True)
class GradebookRow:
    learner: User
    grades: list[Grade | None]  # the counting grade per assignment, in the gradebook's order
    problems: list[str | None] | None = None  # per assignment, see GradebookCell

    @property
    def total(self) -> Decimal:
        return sum((final_score(g) for g in self.grades if g is not None), Decimal(0))

    @property
    def cells(self) -> list[GradebookCell]:
        problems = self.problems or [None] * len(self.grades)
        return [GradebookCell(g, p) for g, p in zip(self.grades, problems, strict=True)]


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
    or not, soonest due first), each cell the counting grade or None, and a marker where the
    learner's newest submission did not count (invalid, or rejected as late). Four queries,
    however many learners and assignments."""
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
    refused = (
        Grade.objects.filter(
            assignment__in=assignments,
            learner_id__in=enrollments.values("user_id"),
            status__in=[GradeStatus.INVALID, GradeStatus.LATE_REJECTED],
        )
        .order_by("submitted_at", "pk")
        .values_list("learner_id", "assignment_id", "status", "submitted_at")
    )
    problems: dict[tuple[int, int], str] = {}
    for learner_id, assignment_id, status, submitted_at in refused:
        kept = counting.get((learner_id, assignment_id))
        if kept is None or submitted_at > kept.submitted_at:
            problems[learner_id, assignment_id] = status  # the newest one wins (ordered)
    rows = [
        GradebookRow(
            u,
            [counting.get((u.pk, a.pk)) for a in assignments],
            [problems.get((u.pk, a.pk)) for a in assignments],
        )
        for u in learners
    ]
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


def counting_grades_by_assignment(
    learner: User, assignments: Iterable[AssignmentPage]
) -> dict[int, Grade]:
    """``learner``'s counting grade of each of ``assignments`` that has one, by assignment id
    (the course page's "Your grade" column). One query."""
    return {g.assignment_id: g for g in counting_grades(assignments=assignments, learner=learner)}


# --- The assignment page: a learner's grade, and the instructors' grading panel ------------


@dataclass(frozen=True)
class LearnerGrades:
    """One learner's grades of one assignment, as someone allowed to see them sees them."""

    learner: User
    is_own: bool  # the viewer is that learner
    counting: Grade | None
    latest: Grade | None  # the newest submission, when it is not the counting one

    @property
    def has_grades(self) -> bool:
        return self.counting is not None or self.latest is not None


def learner_grades(
    viewer: User, assignment: AssignmentPage, course: CoursePage, learner: User | None = None
) -> LearnerGrades | None:
    """``learner``'s (default: the viewer's) grades of ``assignment``. ``PermissionDenied`` when
    the viewer may not see them; None for an anonymous viewer."""
    if not viewer.is_authenticated:
        return None
    learner = learner or viewer
    if not may_see_grades_of(viewer, learner, course):
        raise PermissionDenied("You may see only your own grades.")
    # One learner's grades of one assignment, which the viewer may see (checked above): read
    # without the joins of ``grades_visible_to``, the assignment and learner being known.
    grades = list(
        Grade.objects.filter(assignment=assignment, learner=learner)
        .order_by("-submitted_at", "-pk")
    )
    for grade in grades:
        grade.assignment, grade.learner = assignment, learner
    counting = next((g for g in grades if g.counts), None)
    latest = grades[0] if grades else None
    return LearnerGrades(
        learner=learner,
        is_own=learner.pk == viewer.pk,
        counting=counting,
        latest=latest if latest is not None and latest != counting else None,
    )


def assignment_grading_context(
    assignment: AssignmentPage,
    course: CoursePage,
    viewer: User,
    learner: User | None = None,
    submitting: bool = False,
) -> dict:
    """The assignment page's grades part: ``learner``'s (default: the viewer's) grades, when
    the viewer may see them (``PermissionDenied`` otherwise), the grading panel for the
    course's instructors and, when the viewer ``submitting`` is a learner of a released
    assignment looking at their own grades, where their newest submission stands."""
    grades = learner_grades(viewer, assignment, course, learner)
    own = submitting and grades is not None and grades.is_own
    return {
        "learner_grades": grades,
        "grade": grades.counting if grades else None,
        "latest_submission": grades.latest if grades else None,
        "submission_status": newest_submission_status(assignment, course, viewer) if own else None,
        "grading": grading_panel(viewer, assignment, course),
    }


GRADER_SILENT = (
    "The grader does not answer right now, so the status of your newest submission is not "
    "shown; your grade below is the LMS's record."
)


@dataclass(frozen=True)
class SubmissionStatusLine:
    """The assignment page's line about a learner's newest submission: the grader's status,
    or ``problem`` (why it is not shown)."""

    status: grader.GradingStatus | None
    problem: str = ""


def newest_submission_status(
    assignment: AssignmentPage, course: CoursePage, learner: User
) -> SubmissionStatusLine | None:
    """Where ``learner``'s newest submission of ``assignment`` stands, from the grader (one call,
    no database; at most ``grader.STATUS_SECONDS``): None without a grader or a submission, a
    line with ``problem`` when the grader is down, slow or refuses."""
    try:
        client = grader.GraderClient.for_user(learner.username, at_most=grader.STATUS_SECONDS)
    except grader.GraderNotConfigured:
        return None
    try:
        status = client.latest_status(course.slug, assignment.nbgrader_name, learner.username)
    except grader.GraderError:
        return SubmissionStatusLine(None, GRADER_SILENT)
    return SubmissionStatusLine(status) if status is not None else None


@dataclass(frozen=True)
class SubmissionRow:
    submission: grader.Submission
    learner: User | None  # the LMS account of the submitter (None: unknown to the LMS)


@dataclass(frozen=True)
class GradingPanel:
    """What the assignment page shows the course's instructors about the grader."""

    available: bool  # a grader is configured
    problem: str  # why the grader's state is missing ("" when it is shown)
    released: grader.ReleasedAssignment | None
    due_date_changed: bool  # released with another due date than the page's
    submissions: list[SubmissionRow]
    formgrader_url: str = ""  # nbgrader's formgrader of the course ("" without a grader)

    @property
    def state_known(self) -> bool:
        return self.available and not self.problem


def formgrader_url(course: CoursePage) -> str:
    """nbgrader's formgrader of ``course``, the hub service ``formgrader-<slug>`` (the hub lets
    in only the course's instructors and hub admins), where instructors grade by hand: on a
    host of its own below the hub's, since it shows learners' work."""
    return service_url(settings.STUDIO_HUB_URL, formgrader_service_name(course.slug), "formgrader")


def grading_panel(
    user: User, assignment: AssignmentPage, course: CoursePage
) -> GradingPanel | None:
    """For the course's instructors (None for everybody else): whether the grader has the
    assignment released (and with which due date) and every learner's submissions, newest first,
    and where to grade by hand. Two calls to the grader; a grader that is missing or down gives
    a panel with ``problem`` (the formgrader runs beside the grader: no grader, no link)."""
    if not may_manage_grading(user, course):
        return None
    try:
        client = grader.GraderClient.for_user(user.username)
    except grader.GraderNotConfigured as missing:
        return GradingPanel(False, missing.message, None, False, [])
    by_hand = formgrader_url(course)
    try:
        released = client.released_assignments(course.slug).get(assignment.nbgrader_name)
        submissions = client.submissions(course.slug, assignment.nbgrader_name)
    except grader.GraderError as failed:
        return GradingPanel(True, failed.message, None, False, [], by_hand)
    users = {
        u.username: u for u in User.objects.filter(username__in={s.learner for s in submissions})
    }
    rows = [
        SubmissionRow(s, users.get(s.learner))
        for s in sorted(
            submissions,
            key=lambda s: s.submitted_at or dt.datetime.min.replace(tzinfo=dt.UTC),
            reverse=True,
        )
    ]
    changed = released is not None and released.due_at != assignment.due_at
    return GradingPanel(True, "", released, changed, rows, by_hand)


def grader_submissions(
    user: User, assignment: AssignmentPage, course: CoursePage, learner: str | None = None
) -> list[grader.Submission]:
    """Every learner's submissions of ``assignment`` (or one learner's), from the grader: the
    course's instructors only. Raises ``PermissionDenied`` or a ``GraderError``."""
    require_grading_rights(user, course)
    client = grader.GraderClient.for_user(user.username)
    return client.submissions(course.slug, assignment.nbgrader_name, learner)


# --- The grade export -------------------------------------------------------------------------

GRADES_CSV_COLUMNS = [
    "course", "assignment", "learner", "submission_id", "submitted_at", "late", "days_late",
    "score", "max_score", "late_penalty", "final_score",
]


@dataclass(frozen=True)
class GradesCSV:
    filename: str
    content: bytes


def grades_csv_rows(course: CoursePage) -> list[list[str]]:
    """The gradebook page's cells as CSV rows (the grades that count, from the LMS's own
    ``Grade`` rows, of the course's learners and live assignments): by assignment in the
    gradebook's order, then by learner. ``assignment`` is the nbgrader name, ``submitted_at``
    ISO 8601 in UTC, ``late`` yes or no, ``days_late`` started days after the due date
    (``courses.lateness``), scores with two decimals; ``final_score`` is what the gradebook
    adds up."""
    book = course_gradebook(course)
    rows = []
    for column, assignment in enumerate(book.assignments):
        for row in book.rows:
            grade = row.grades[column]
            if grade is None:
                continue
            days = days_late(assignment.due_at, grade.submitted_at) if grade.late else 0
            rows.append([
                course.slug, assignment.nbgrader_name, row.learner.username, grade.submission_id,
                grade.submitted_at.astimezone(dt.UTC).isoformat(), "yes" if grade.late else "no",
                str(days), f"{grade.score:.2f}", f"{grade.max_score:.2f}",
                f"{grade.late_penalty:.2f}", f"{final_score(grade):.2f}",
            ])
    return rows


def grades_csv(user: User, course: CoursePage) -> GradesCSV:
    """The course's grade export, ``<slug>-grades.csv``: :data:`GRADES_CSV_COLUMNS`, then
    :func:`grades_csv_rows`. The course's instructors (and staff) only: ``PermissionDenied``
    for anyone else."""
    require_grading_rights(user, course)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(GRADES_CSV_COLUMNS)
    writer.writerows(grades_csv_rows(course))
    return GradesCSV(filename=f"{course.slug}-grades.csv", content=out.getvalue().encode())


@dataclass(frozen=True)
class GradebookColumn:
    assignment: AssignmentPage
    distribution: Distribution


@dataclass(frozen=True)
class GradebookPage:
    book: CourseGradebook
    columns: list[GradebookColumn]


def gradebook_page(course: CoursePage) -> GradebookPage:
    """The instructors' gradebook page: learners x assignments and each assignment's grade
    distribution. Five queries, however many learners and assignments."""
    book = course_gradebook(course)
    distribution = grade_distribution(book.assignments)
    return GradebookPage(book, [GradebookColumn(a, distribution[a.pk]) for a in book.assignments])


# --- Pages that combine courses and grades: the dashboard and the learners view --------------
# Courses know a person's courses, progress and deadlines (lms.courses.selectors); these add the
# grades, which courses, below the gradebook, never read.


@dataclass(frozen=True)
class GradeLine:
    grade: Grade
    course: CoursePage | None


@dataclass(frozen=True)
class Dashboard:
    courses: list[CourseCard]
    deadlines: list[Deadline]
    grades: list[GradeLine]
    taught: list[CoursePage]

    @property
    def is_learning(self) -> bool:
        """Whether the learner's part applies: they take a course or have grades."""
        return bool(self.courses or self.grades)


def dashboard_for(user: User, *, deadlines: int = 10, grades: int = 10) -> Dashboard:
    """A learner's dashboard: their courses with progress, upcoming deadlines (released, due in
    the future, soonest first) and newest counting grades, one per assignment (annotated with
    ``has_feedback``); the courses they teach. A fixed number of queries, however many
    courses."""
    learning = learning_of(user, deadlines=deadlines)
    recent = list(
        Grade.objects.filter(learner=user, counts=True)
        .defer("feedback_html")
        .annotate(has_feedback=~Q(feedback_html=""))
        .order_by("-graded_at", "-pk")[:grades]
    )
    # The assignments of the learner's courses are in their outlines (cached with the content);
    # any other (a course left, an assignment unpublished) is read, in one query.
    outlines = course_outlines([c.course for c in learning.courses])
    known = {a.pk: a for outline in outlines.values() for a in outline.assignments}
    missing = {g.assignment_id for g in recent} - known.keys()
    if missing:
        known.update(AssignmentPage.objects.filter(pk__in=missing).defer_streamfields().in_bulk())
    for grade in recent:
        grade.assignment = known[grade.assignment_id]
    courses = courses_of([g.assignment for g in recent], known=[c.course for c in learning.courses])
    return Dashboard(
        courses=learning.courses,
        deadlines=learning.deadlines,
        grades=[GradeLine(g, courses.get(g.assignment_id)) for g in recent],
        taught=learning.taught,
    )


@dataclass(frozen=True)
class LearnerRow:
    learner: User
    progress: Progress
    last_activity: dt.datetime | None  # a lesson opened or completed, or a submission
    grades: list[Grade | None]  # the counting grade per assignment of the report


@dataclass(frozen=True)
class LearnersReport:
    course: CoursePage
    lesson_count: int
    assignments: list[AssignmentPage]
    rows: list[LearnerRow]


def course_learners_report(course: CoursePage) -> LearnersReport:
    """Each learner of ``course``: lessons completed of the live ones, last activity (lesson
    opened or completed, or a submission) and the counting grade of each live assignment.
    Six queries, however many learners."""
    progress = learners_progress(course)
    learner_ids = [row.learner.pk for row in progress.rows]
    assignments = list(live_assignments(course).defer_streamfields())
    course_grades = Grade.objects.filter(learner_id__in=learner_ids, assignment__in=assignments)
    last_submission = dict(
        course_grades.values("learner_id")
        .annotate(last=Max("submitted_at"))
        .values_list("learner_id", "last")
    )
    counting = {(g.learner_id, g.assignment_id): g for g in course_grades.filter(counts=True)}
    rows = []
    for row in progress.rows:
        uid = row.learner.pk
        moments = [m for m in (row.last_activity, last_submission.get(uid)) if m is not None]
        rows.append(
            LearnerRow(
                learner=row.learner,
                progress=row.progress,
                last_activity=max(moments, default=None),
                grades=[counting.get((uid, a.pk)) for a in assignments],
            )
        )
    return LearnersReport(course, progress.lesson_count, assignments, rows)
