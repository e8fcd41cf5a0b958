"""Peer review reads: who may see and do what, the round's participants, the pages' contents and
the review score export. Never writes (``services`` does).

Who sees what (every view and the assignment page's panel ask these):

- the reviewer: the review they were given (the peer's submission, their own comments), until
  it is cancelled;
- the author: the reviews of their work once submitted, unless an instructor hid them;
- the course's instructors and staff: every review of the course, hidden ones included;
- anyone else (another learner, another course's people, the anonymous): nothing, 403 (or the
  sign-in page).

Names follow the assignment's ``anonymity`` (course.yml): ``both`` hides each side's name from
the other, ``reviewers`` hides the reviewer's name from the author, ``none`` hides nothing;
instructors always see names.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.utils import timezone

from courses.course_file import PeerReview
from lms.accounts.models import User
from lms.courses.models import AssignmentPage, CoursePage, Enrollment, EnrollmentRole
from lms.courses.selectors import (
    course_of,
    enrollment_of,
    is_course_instructor,
    is_learner,
    live_assignments,
)
from lms.gradebook.grader import GraderClient, ReviewCopy
from lms.gradebook.models import Grade, GradeStatus
from lms.gradebook.selectors import counting_grades, final_score
from lms.groups.selectors import study_group_mates

from .models import Review, ReviewStatus

REVIEW_SCORES_CSV_COLUMNS = [
    "course", "assignment", "learner", "final_score", "max_score", "reviews", "review_score",
    "review_max", "review_weight", "score_with_reviews",
]


def review_exclusions(course: CoursePage) -> dict[int, set[int]]:
    """Who may not review whom in ``course``, by user id: study group mates."""
    return study_group_mates(course=course)


def may_manage_reviews(user: User, course: CoursePage) -> bool:
    """The course's instructors (and staff) assign, reassign, hide and export."""
    return is_course_instructor(user, course)


def require_review_rights(user: User, course: CoursePage) -> None:
    if not may_manage_reviews(user, course):
        raise PermissionDenied(f"Only the instructors of {course.title} manage its peer reviews.")


def is_course_learner(user: User, course: CoursePage) -> bool:
    return is_learner(enrollment_of(user, course))  # the enrollments read once per request


def participants(assignment: AssignmentPage) -> dict[int, Grade]:
    """The learners whose submission may be reviewed (and who review), with its grade: learners
    still enrolled in the course whose counting grade is ``graded`` (an invalid submission or
    one rejected as late is not reviewed; a learner who left the course is a dropout)."""
    course = course_of(assignment)
    enrolled = Enrollment.objects.filter(course=course, role=EnrollmentRole.LEARNER)
    grades = counting_grades(assignments=[assignment]).filter(
        status=GradeStatus.GRADED, learner_id__in=enrolled.values("user_id")
    )
    return {grade.learner_id: grade for grade in grades}


def reviewing_opens_at(assignment: AssignmentPage):
    """When reviewing opens for everyone (``after_due``: the due date), or None when it opens
    for each learner once they have submitted (``after_submit``)."""
    spec = assignment.peer_review_spec
    return assignment.due_at if spec.opens == "after_due" else None


def reviewing_open(assignment: AssignmentPage, now=None) -> bool:
    """Whether reviews may be assigned now: enabled, released, and past the due date for
    ``after_due``."""
    spec = assignment.peer_review_spec
    now = now or timezone.now()
    if not spec.enabled or not assignment.is_released(now):
        return False
    opens = reviewing_opens_at(assignment)
    return opens is None or opens <= now


def past_deadline(assignment: AssignmentPage, now=None) -> bool:
    deadline = assignment.peer_review_spec.deadline
    return deadline is not None and (now or timezone.now()) > deadline


def may_view_review(user: User, review: Review) -> bool:
    if not user.is_authenticated:
        return False
    if may_manage_reviews(user, course_of(review.assignment)):
        return True
    if review.status == ReviewStatus.CANCELLED:
        return False
    if user.pk == review.reviewer_id:
        return True
    return (user.pk == review.author_id and review.status == ReviewStatus.SUBMITTED
            and not review.hidden)


def require_view(user: User, review: Review) -> None:
    if not may_view_review(user, review):
        raise PermissionDenied("This review is not yours to see.")


def open_reviews_due(until) -> QuerySet[Review]:
    """Reviews still to do whose assignment's review deadline is before ``until`` (for
    deadline reminders: the deadline is course.yml's, so it is checked in Python)."""
    reviews = Review.objects.filter(status=ReviewStatus.ASSIGNED).select_related(
        "assignment", "reviewer")
    return reviews.filter(pk__in=[
        r.pk for r in reviews
        if r.assignment.peer_review_spec.deadline and r.assignment.peer_review_spec.deadline < until
    ])


# -- names and scores ---------------------------------------------------------------------------


YOU = "You"
A_CLASSMATE = "A classmate"  # an author hidden from the reviewer (``anonymity: both``)


def author_name(viewer: User, review: Review, spec: PeerReview) -> str:
    """The author as ``viewer`` may know them, standing alone (a name, "You", "A classmate")."""
    if viewer.pk == review.author_id:
        return YOU
    if viewer.pk == review.reviewer_id and spec.anonymity == "both":
        return A_CLASSMATE
    return review.author.display_name


def work_of(viewer: User, review: Review, spec: PeerReview) -> str:
    """Whose work ``review`` is of, as said inside a sentence ("Review of …"): "your work",
    "a classmate's work" (anonymity ``both``, for the reviewer), or the author's name's."""
    name = author_name(viewer, review, spec)
    if name == YOU:
        return "your work"
    if name == A_CLASSMATE:
        return "a classmate's work"
    return f"{name}'s work"


def reviewer_name(viewer: User, review: Review, spec: PeerReview, number: int = 0) -> str:
    if viewer.pk == review.reviewer_id:
        return YOU
    if viewer.pk == review.author_id and spec.anonymity in ("both", "reviewers"):
        return f"Reviewer {number}" if number else "A reviewer"
    return review.reviewer.display_name


def review_points(review: Review, spec: PeerReview) -> Decimal | None:
    """The points of the levels the reviewer chose, or None before it is submitted."""
    if review.status != ReviewStatus.SUBMITTED:
        return None
    total = Decimal(0)
    for criterion in spec.rubric:
        chosen = review.scores.get(criterion.criterion)
        level = next((lv for lv in criterion.levels if lv.label == chosen), None)
        total += Decimal(str(level.points)) if level else Decimal(0)
    return total


def review_score(reviews: list[Review], spec: PeerReview) -> Decimal | None:
    """An author's review score: the mean points of their submitted, visible reviews."""
    points = [review_points(r, spec) for r in reviews
              if r.status == ReviewStatus.SUBMITTED and not r.hidden]
    points = [p for p in points if p is not None]
    if not points:
        return None
    return (sum(points, Decimal(0)) / len(points)).quantize(Decimal("0.01"))


# -- pages --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewLine:
    review: Review
    author: str
    reviewer: str
    points: Decimal | None
    work: str  # whose work, inside a sentence (``work_of``)


@dataclass(frozen=True)
class AssignmentReviews:
    assignment: AssignmentPage
    course: CoursePage
    spec: PeerReview
    manage: bool
    is_open: bool
    past_deadline: bool
    to_do: list[ReviewLine]  # the viewer's reviews to write (and written)
    received: list[ReviewLine]  # reviews of the viewer's work they may read
    everyone: list[ReviewLine]  # instructors: every review
    short: list[User]  # instructors: participants with fewer reviewers than asked
    learners: list[User]  # instructors: whom a review may be reassigned to


def assignment_reviews(user: User, assignment: AssignmentPage) -> AssignmentReviews:
    """The assignment's review page for ``user``: a learner's reviews to do and received, and
    for instructors every review. ``PermissionDenied`` for anyone not in the course, and when
    the assignment has no peer review (``Http404`` is the view's)."""
    course = course_of(assignment)
    spec = assignment.peer_review_spec
    manage = may_manage_reviews(user, course)
    if not manage and not is_course_learner(user, course):
        raise PermissionDenied(f"Only the people of {course.title} see its peer reviews.")
    reviews = list(
        Review.objects.filter(assignment=assignment).exclude(status=ReviewStatus.CANCELLED)
        .select_related("author", "reviewer")
    )
    to_do = [ReviewLine(r, author_name(user, r, spec), YOU, review_points(r, spec),
                        work_of(user, r, spec))
             for r in reviews if r.reviewer_id == user.pk]
    visible = [r for r in reviews if r.author_id == user.pk and may_view_review(user, r)]
    received = [ReviewLine(r, YOU, reviewer_name(user, r, spec, i), review_points(r, spec),
                           work_of(user, r, spec))
                for i, r in enumerate(visible, start=1)]
    everyone: list[ReviewLine] = []
    short: list[User] = []
    learners: list[User] = []
    if manage:
        everyone = [ReviewLine(r, r.author.display_name, r.reviewer.display_name,
                               review_points(r, spec), work_of(user, r, spec))
                    for r in reviews]
        counts: dict[int, int] = {}
        for r in reviews:
            counts[r.author_id] = counts.get(r.author_id, 0) + 1
        grades = participants(assignment)
        if any(r for r in reviews):
            short = [g.learner for pk, g in grades.items()
                     if counts.get(pk, 0) < spec.reviews_per_submission]
        learners = list(User.objects.filter(
            enrollments__course=course, enrollments__role=EnrollmentRole.LEARNER
        ).order_by("username"))
    return AssignmentReviews(
        assignment=assignment, course=course, spec=spec, manage=manage,
        is_open=reviewing_open(assignment), past_deadline=past_deadline(assignment),
        to_do=to_do, received=received, everyone=everyone, short=short, learners=learners,
    )


@dataclass(frozen=True)
class CellView:
    index: int
    html: str
    lines: int
    comments: list


@dataclass(frozen=True)
class NotebookView:
    name: str
    problem: str
    cells: list[CellView]


@dataclass(frozen=True)
class ReviewPage:
    review: Review
    spec: PeerReview
    course: CoursePage
    author: str
    work: str  # whose work, inside a sentence (``work_of``)
    reviewer: str
    is_reviewer: bool
    is_author: bool
    manage: bool
    may_edit: bool
    points: Decimal | None
    replies: list


def review_page(user: User, review: Review) -> ReviewPage:
    """What ``user`` sees of ``review`` (``PermissionDenied`` unless :func:`may_view_review`);
    the notebook itself comes from the grader (``services.submitted_notebook``)."""
    require_view(user, review)
    spec = review.assignment.peer_review_spec
    course = course_of(review.assignment)
    is_reviewer = user.pk == review.reviewer_id
    number = 0
    if user.pk == review.author_id:
        visible = [r.pk for r in Review.objects.filter(
            assignment=review.assignment, author=review.author, status=ReviewStatus.SUBMITTED,
            hidden=False)]
        number = visible.index(review.pk) + 1 if review.pk in visible else 0
    return ReviewPage(
        review=review, spec=spec, course=course,
        author=author_name(user, review, spec), work=work_of(user, review, spec),
        reviewer=reviewer_name(user, review, spec, number),
        is_reviewer=is_reviewer, is_author=user.pk == review.author_id,
        manage=may_manage_reviews(user, course),
        may_edit=is_reviewer and review.status != ReviewStatus.CANCELLED
        and not past_deadline(review.assignment),
        points=review_points(review, spec),
        replies=[(reply, YOU if reply.author_id == user.pk else (
            "Instructor" if reply.author_id != review.author_id
            else author_name(user, review, spec))) for reply in review.replies.select_related(
                "author")],
    )


def submitted_notebook(user: User, review: Review) -> ReviewCopy:
    """The reviewed submission from the grader, as a reviewer may see it (hidden tests never
    included; the per-test results when course.yml's ``show_test_results`` says so). The LMS
    calls as itself, acting for ``user``; raises ``GraderError`` (a sentence) when the grader
    cannot answer."""
    require_view(user, review)
    spec = review.assignment.peer_review_spec
    return GraderClient.for_user(user.username).review_copy(
        course_of(review.assignment).slug, review.assignment.nbgrader_name,
        review.submission_id, review.author.username, tests=spec.show_test_results,
    )


# -- the export ---------------------------------------------------------------------------------


def review_scores_csv(user: User, course: CoursePage) -> tuple[str, bytes]:
    """``<slug>-review-scores.csv``: per learner and assignment with peer review, the grade
    that counts (the gradebook's ``final_score``), the review score (mean points of the
    submitted, visible reviews) and, for an assignment whose review counts towards the grade,
    ``score_with_reviews``: ``(1 - weight) x final_score + weight x max_score x review_score /
    review_max``. Instructors only."""
    require_review_rights(user, course)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(REVIEW_SCORES_CSV_COLUMNS)
    for assignment in live_assignments(course).specific().order_by("due_at", "pk"):
        spec = assignment.peer_review_spec
        if not spec.enabled:
            continue
        grades = counting_grades(assignments=[assignment]).select_related("learner").order_by(
            "learner__username")
        reviews: dict[int, list[Review]] = {}
        for r in Review.objects.filter(assignment=assignment, status=ReviewStatus.SUBMITTED):
            reviews.setdefault(r.author_id, []).append(r)
        review_max = Decimal(str(spec.max_points))
        for grade in grades:
            score = review_score(reviews.get(grade.learner_id, []), spec)
            final = final_score(grade)
            combined = ""
            if spec.counts_towards_grade and review_max:
                weight = Decimal(str(spec.weight))
                fraction = (score or Decimal(0)) / review_max
                combined = f"{(1 - weight) * final + weight * grade.max_score * fraction:.2f}"
            writer.writerow([
                course.slug, assignment.nbgrader_name, grade.learner.username, f"{final:.2f}",
                f"{grade.max_score:.2f}", len(reviews.get(grade.learner_id, [])),
                "" if score is None else f"{score:.2f}", f"{review_max:.2f}",
                f"{spec.weight:g}" if spec.counts_towards_grade else "", combined,
            ])
    return f"{course.slug}-review-scores.csv", out.getvalue().encode()
