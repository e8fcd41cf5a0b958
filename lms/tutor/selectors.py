"""What the instructors' tutor page shows, and who may see it.

The exchanges themselves live in the tutor service (``tutor/``); the LMS reads them with its
hub token (``lms.tutor.client``) only for someone this module lets in: the course's instructors
and staff (``may_review_tutor``). The tutor is never asked for anyone else.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lms.accounts.models import User
from lms.accounts.usernames import USERNAME_PATTERN
from lms.courses.models import AssignmentPage, CoursePage, Enrollment, EnrollmentRole
from lms.courses.selectors import is_course_instructor, live_assignments

from .client import Exchange, Summary, TutorClient, TutorError

MODES = {"explain": "Explain an error", "hint": "Hint", "chat": "Question"}


def may_review_tutor(user: User, course: CoursePage) -> bool:
    """The course's instructors (and staff) read its tutor exchanges; learners read their own in
    JupyterLab."""
    return is_course_instructor(user, course)


@dataclass(frozen=True)
class Learner:
    username: str
    name: str


@dataclass(frozen=True)
class ExchangeRow:
    exchange: Exchange
    learner_name: str
    asked: str
    """What the learner asked for, in words (``MODES``)."""
    assignment_title: str | None


@dataclass
class TutorPage:
    summary: Summary | None = None
    rows: list[ExchangeRow] = field(default_factory=list)
    learners: list[Learner] = field(default_factory=list)
    selected: str | None = None
    selected_name: str = ""
    older_than: int | None = None
    problem: str | None = None
    """Why nothing can be shown (no tutor configured, the tutor down or refusing)."""


def _learners(course: CoursePage) -> list[Learner]:
    enrolled = (Enrollment.objects.filter(course=course, role=EnrollmentRole.LEARNER)
                .select_related("user").order_by("user__username"))
    return [Learner(e.user.username, e.user.display_name) for e in enrolled]


def tutor_page(user: User, course: CoursePage, learner: str | None = None,
               before: int | None = None, page_size: int = 100) -> TutorPage:
    """The course's tutor summary and its exchanges (one learner's, or everyone's), newest
    first; for instructors only (the caller checks :func:`may_review_tutor`)."""
    learners = _learners(course)
    selected = learner if learner and USERNAME_PATTERN.match(learner) else None
    page = TutorPage(learners=learners, selected=selected)
    try:
        client = TutorClient.for_user(user.username)
        page.summary = client.summary(course.slug)
        exchanges = client.history(course.slug, selected, before)
    except TutorError as failed:
        page.problem = failed.message
        return page
    titles = {a.nbgrader_name: a.title for a in live_assignments(course).defer_streamfields()
              if isinstance(a, AssignmentPage)}
    names = {item.username: item.name for item in learners}
    missing = {e.learner for e in exchanges} - set(names)  # e.g. learners who left the course
    names |= {u.username: u.display_name for u in User.objects.filter(username__in=missing)}
    page.rows = [
        ExchangeRow(e, names.get(e.learner, e.learner), MODES.get(e.mode, e.mode),
                    titles.get(e.assignment, e.assignment) if e.assignment else None)
        for e in exchanges
    ]
    page.selected_name = names.get(selected, selected or "") if selected else ""
    if len(exchanges) >= page_size:
        page.older_than = exchanges[-1].id
    return page
