"""Peer review writes: assigning a round (``lms.review.allocation``), reassigning, writing a
review and its comments, the author's replies and ratings, hiding abusive reviews. Each checks
who may (``selectors``) and raises ``PermissionDenied``, or :class:`ReviewError` with a sentence
for a person when the request cannot be done; signals (``signals``) are sent once committed.

Late submitters and dropouts: a round is not assigned once and frozen. :func:`assign_reviews`
runs again whenever an instructor presses "Assign reviews", the command ``assign_reviews`` runs
(every assignment whose reviewing is open), or a learner of an ``after_submit`` assignment asks
for reviews; each run keeps what was assigned and

- cancels the open reviews (not yet submitted) whose reviewer or author is no longer a
  participant (left the course, or their counting submission is no longer reviewable): a
  dropout's reviews to do go to others, and nobody reviews a dropout's work;
- adds the participants who were not in the round yet (a late submitter whose submission now
  counts): they get their reviewers and review the submissions with the fewest reviewers.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from lms.accounts.models import User
from lms.courses.models import AssignmentPage
from lms.courses.selectors import course_of

from . import selectors, signals
from .allocation import allocate
from .models import HELPFULNESS, Review, ReviewComment, ReviewReply, ReviewStatus

MAX_TEXT = 10_000  # characters of a comment, summary or reply
MAX_NOTEBOOK_NAME = 255


class ReviewError(ValueError):
    """A review action that cannot be done; ``message`` says why, for a person."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class RoundResult:
    assigned: int
    cancelled: int
    short: dict[int, int]  # participant id: reviewers missing

    def in_words(self) -> str:
        words = f"{self.assigned} review{'s' * (self.assigned != 1)} assigned"
        if self.cancelled:
            words += f", {self.cancelled} cancelled (dropouts)"
        if self.short:
            words += (f"; {len(self.short)} submission{'s' * (len(self.short) != 1)} could not "
                      "get all their reviewers (too few classmates may review them)")
        return words + "."


def _text(value: str, what: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ReviewError(f"The {what} is empty.")
    if len(value) > MAX_TEXT:
        raise ReviewError(f"The {what} is longer than {MAX_TEXT} characters.")
    return value


def assign_reviews(assignment: AssignmentPage, *, now=None) -> RoundResult:
    """Assign (or top up) the assignment's round (see the module's docstring). Raises
    :class:`ReviewError` when the assignment has no peer review or reviewing is not open."""
    spec = assignment.peer_review_spec
    if not spec.enabled:
        raise ReviewError("This assignment has no peer review (course.yml).")
    if not selectors.reviewing_open(assignment, now):
        raise ReviewError("Reviewing has not opened yet: it opens at the due date.")
    with transaction.atomic():
        AssignmentPage.objects.select_for_update().filter(pk=assignment.pk).first()  # one at a time
        grades = selectors.participants(assignment)
        current = list(Review.objects.filter(assignment=assignment)
                       .exclude(status=ReviewStatus.CANCELLED))
        gone = [r for r in current if r.status == ReviewStatus.ASSIGNED
                and (r.reviewer_id not in grades or r.author_id not in grades)]
        Review.objects.filter(pk__in=[r.pk for r in gone]).update(status=ReviewStatus.CANCELLED)
        kept = [(r.reviewer_id, r.author_id) for r in current if r not in gone]
        result = allocate(grades, spec.reviews_per_submission,
                          selectors.review_exclusions(course_of(assignment)),
                          existing=kept, seed=str(assignment.pk))
        created = Review.objects.bulk_create([
            Review(assignment=assignment, reviewer_id=reviewer, author_id=author,
                   submission_id=grades[author].submission_id)
            for reviewer, author in result.new
        ])
        by_reviewer: dict[int, list[Review]] = {}
        for review in created:
            by_reviewer.setdefault(review.reviewer_id, []).append(review)
        transaction.on_commit(lambda: _announce(assignment, by_reviewer))
    return RoundResult(len(created), len(gone), result.short)


def _announce(assignment: AssignmentPage, by_reviewer: dict[int, list[Review]]) -> None:
    reviewers = User.objects.in_bulk(list(by_reviewer))
    for pk, reviews in by_reviewer.items():
        signals.reviews_assigned.send(
            sender=Review, assignment=assignment, reviewer=reviewers[pk], reviews=reviews,
            deadline=assignment.peer_review_spec.deadline,
        )


def reassign(review: Review, to: User, by: User) -> Review:
    """An instructor gives ``review`` (not yet submitted) to another learner of the course: the
    old one is cancelled, a new one made. Nobody reviews themselves, a study group mate, or one
    author twice."""
    assignment = review.assignment
    course = course_of(assignment)
    selectors.require_review_rights(by, course)
    if review.status != ReviewStatus.ASSIGNED:
        raise ReviewError("Only a review not yet submitted can be reassigned.")
    if not selectors.is_course_learner(to, course):
        raise ReviewError(f"{to.username} is not a learner of {course.title}.")
    if to.pk == review.author_id:
        raise ReviewError("Nobody reviews their own work.")
    if to.pk in selectors.review_exclusions(course).get(review.author_id, set()) or \
            review.author_id in selectors.review_exclusions(course).get(to.pk, set()):
        raise ReviewError(f"{to.username} is in the author's study group.")
    if Review.objects.filter(assignment=assignment, reviewer=to, author_id=review.author_id) \
            .exclude(status=ReviewStatus.CANCELLED).exists():
        raise ReviewError(f"{to.username} already reviews this submission.")
    with transaction.atomic():
        review.status = ReviewStatus.CANCELLED
        review.save(update_fields=["status"])
        new = Review.objects.create(assignment=assignment, reviewer=to, author_id=review.author_id,
                                    submission_id=review.submission_id, assigned_by=by)
        transaction.on_commit(lambda: _announce(assignment, {to.pk: [new]}))
    return new


def _require_reviewer(review: Review, user: User) -> None:
    if user.pk != review.reviewer_id or review.status == ReviewStatus.CANCELLED:
        raise PermissionDenied("Only the reviewer writes this review.")
    if selectors.past_deadline(review.assignment):
        raise ReviewError("The review deadline has passed.")


def submit_review(review: Review, user: User, scores: dict[str, str], summary: str) -> Review:
    """The reviewer fills the rubric (a level for every criterion) and a summary; submitted
    again, it is updated (until the deadline)."""
    _require_reviewer(review, user)
    spec = review.assignment.peer_review_spec
    chosen = {}
    for criterion in spec.rubric:
        label = scores.get(criterion.criterion, "")
        if label not in {level.label for level in criterion.levels}:
            raise ReviewError(f"Choose a level for {criterion.criterion}.")
        chosen[criterion.criterion] = label
    first = review.status == ReviewStatus.ASSIGNED
    review.scores = chosen
    review.summary = _text(summary, "summary")
    review.status = ReviewStatus.SUBMITTED
    review.submitted_at = timezone.now()
    with transaction.atomic():
        review.save(update_fields=["scores", "summary", "status", "submitted_at"])
        if first and not review.hidden:
            transaction.on_commit(lambda: signals.work_reviewed.send(
                sender=Review, assignment=review.assignment, author=review.author, review=review))
    return review


def add_comment(review: Review, user: User, notebook: str, cell: int, line: int | None,
                body: str) -> ReviewComment:
    """A reviewer's comment on a cell (``line`` None) or a line of it."""
    _require_reviewer(review, user)
    if not notebook or len(notebook) > MAX_NOTEBOOK_NAME or not notebook.endswith(".ipynb"):
        raise ReviewError("Choose a notebook of the submission.")
    if cell < 0 or (line is not None and line < 1):
        raise ReviewError("Choose a cell (and a line) of the notebook.")
    return ReviewComment.objects.create(review=review, notebook=notebook, cell=cell, line=line,
                                        body=_text(body, "comment"))


def reply(review: Review, user: User, body: str) -> ReviewReply:
    """The author (who may see the review) or an instructor answers it."""
    manage = selectors.may_manage_reviews(user, course_of(review.assignment))
    if not manage and not (user.pk == review.author_id and selectors.may_view_review(user, review)):
        raise PermissionDenied("Only the author of the work answers its reviews.")
    with transaction.atomic():
        answer = ReviewReply.objects.create(review=review, author=user, body=_text(body, "reply"))
        transaction.on_commit(lambda: signals.review_replied.send(
            sender=Review, assignment=review.assignment, review=review, reply=answer))
    return answer


def rate(review: Review, user: User, helpfulness: int) -> Review:
    """The author rates how helpful a review was, 1 to 5 (again: the new rating counts)."""
    if user.pk != review.author_id or not selectors.may_view_review(user, review):
        raise PermissionDenied("Only the author of the work rates its reviews.")
    if helpfulness not in HELPFULNESS:
        raise ReviewError("Rate the review from 1 (not helpful) to 5 (very helpful).")
    review.helpfulness = helpfulness
    review.save(update_fields=["helpfulness"])
    return review


def hide(review: Review, by: User, hidden: bool = True) -> Review:
    """An instructor hides an abusive review from its author (or shows it again); hidden
    reviews do not count in the review score."""
    selectors.require_review_rights(by, course_of(review.assignment))
    review.hidden = hidden
    review.hidden_by = by if hidden else None
    with transaction.atomic():
        review.save(update_fields=["hidden", "hidden_by"])
        if hidden:
            transaction.on_commit(lambda: signals.review_hidden.send(
                sender=Review, assignment=review.assignment, review=review, by=by))
    return review
