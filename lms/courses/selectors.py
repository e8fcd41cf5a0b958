"""Reads about courses: who sees which course, and what each page shows. One place decides each
rule; views, templates and the API ask here."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import PurePosixPath
from urllib.parse import quote

from django.conf import settings
from django.contrib.auth.models import Permission
from django.db.models import Count, F, Max, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce, Greatest
from django.template.defaultfilters import pluralize
from django.utils import timezone
from wagtail.models import Page
from wagtail.query import PageQuerySet

from courses import naming
from lms.accounts.models import User
from lms.base import versioned_cache
from lms.base.request_memo import forget, remembered
from lms.base.versioned_cache import CONTENT

from .models import (
    AssignmentPage,
    CoursePage,
    Enrollment,
    EnrollmentRole,
    LatePolicyMode,
    LessonPage,
    LessonProgress,
    ProgressStatus,
)


def live_courses() -> QuerySet[CoursePage]:
    return CoursePage.objects.live().order_by("title")


def viewer_enrollments(user: User) -> dict[int, Enrollment]:
    """``user``'s enrollments by course id, read once per request (``lms.base.request_memo``):
    a course page asks for the viewer's place in the course once per app that adds to it."""
    return remembered(
        _enrollments_key(user),
        # unordered: a dict by course (the model's ordering costs the query's compilation)
        lambda: {e.course_id: e for e in Enrollment.objects.filter(user_id=user.pk).order_by()},
    )


def _enrollments_key(user: User) -> tuple[str, int]:
    return ("lms.courses.enrollments", user.pk)


def forget_viewer_enrollments(user: User) -> None:
    """``user``'s enrollments changed: the rest of the request reads them again."""
    forget(_enrollments_key(user))


def enrollment_of(user: User, course: CoursePage) -> Enrollment | None:
    if not user.is_authenticated:
        return None
    return viewer_enrollments(user).get(course.pk)


def is_course_instructor(user: User, course: CoursePage) -> bool:
    """Staff count as instructors of every course (``course_standing``; staff without a
    query)."""
    if user.is_authenticated and user.is_studio_staff:
        return True
    return course_standing(user, course)[1]


def course_standing(user: User, course: CoursePage) -> tuple[bool, bool]:
    """``(enrolled, instructor)``: whether ``user`` is enrolled in ``course`` (in any role) and
    whether they are one of its instructors (enrolled as one; staff count as instructors of
    every course), from the viewer's enrollments (read once per request): what every page and
    API call of a course's board asks first."""
    enrollment = enrollment_of(user, course)
    if enrollment is None:
        return False, user.is_authenticated and user.is_studio_staff
    return True, user.is_studio_staff or enrollment.role == EnrollmentRole.INSTRUCTOR


def live_course_standing(user: User, slug: str) -> tuple[CoursePage, bool, bool] | None:
    """The live course ``slug`` with ``user``'s ``course_standing`` in it, ``(course, enrolled,
    instructor)``: what every page and API call of a course's board asks first. The course
    comes from the live courses kept per content version (``live_course_list``), the standing
    from the viewer's enrollments read once per request: no query of its own. None when there
    is no such live course."""
    course = next((c for c in live_course_list() if c.slug == slug), None)
    if course is None:
        return None
    return (course, *course_standing(user, course))


def taught_course_ids(user: User) -> QuerySet | list[int]:
    """Ids of the courses ``user`` teaches: all courses (a query) for staff, else from their
    enrollments (``viewer_enrollments``: read once per request)."""
    if user.is_studio_staff:
        return CoursePage.objects.values("pk")
    return [pk for pk, e in viewer_enrollments(user).items() if e.role == EnrollmentRole.INSTRUCTOR]


def hub_groups(user: User) -> list[str]:
    """The ``groups`` claim: ``staff`` for admins, and nbgrader's JupyterHub convention per
    enrollment: ``nbgrader-<slug>`` for learners, ``formgrade-<slug>`` for instructors."""
    groups = [naming.STAFF_GROUP] if user.is_studio_staff else []
    for role, slug in (
        Enrollment.objects.filter(user=user, course__live=True)
        .values_list("role", "course__slug")
        .order_by("course__slug")
    ):
        teaches = role == EnrollmentRole.INSTRUCTOR
        groups.append(naming.instructor_group(slug) if teaches else naming.learner_group(slug))
    return groups


# --- What the course pages, the dashboard and the instructor views show --------------------
# (page-context functions are courses' providers of lms.courses.page_context; they only read.
# What the dashboard and the learners view show of grades is the gradebook's.)


def course_of(page: Page) -> CoursePage:
    """The course a lesson or assignment page belongs to (its parent): one query per content
    version (``lms.base.versioned_cache``). ``CoursePage.DoesNotExist`` when it has none."""
    path = page.path[: -page.steplen]
    course = versioned_cache.cached(
        CONTENT, "lms.courses.course_at", path,
        lambda: CoursePage.objects.filter(path=path).first(),
    )
    if course is None:
        raise CoursePage.DoesNotExist(f"No course is the parent of the page at {page.path}.")
    return course


@dataclass(frozen=True)
class CourseOutline:
    """A course's published lessons and assignments, in the order its pages list them
    (``live_lessons``, ``live_assignments``), without their bodies (``StreamField`` s
    deferred)."""

    lessons: list[LessonPage]
    assignments: list[AssignmentPage]


def course_outline(course: CoursePage) -> CourseOutline:
    """``course``'s outline, read once per content version (``lms.base.versioned_cache``): the
    same for every viewer until a page changes."""
    return course_outlines([course])[course.pk]


def course_outlines(courses: Iterable[CoursePage]) -> dict[int, CourseOutline]:
    """The outline of each of ``courses``, by course id: those not cached in this content
    version are read together, in two queries however many."""
    by_pk = {c.pk: c for c in courses}
    return versioned_cache.cached_many(
        CONTENT, "lms.courses.outline", by_pk,
        lambda missing: _outlines([by_pk[pk] for pk in missing]),
    )


def _outlines(courses: list[CoursePage]) -> dict[int, CourseOutline]:
    outlines = {c.pk: CourseOutline([], []) for c in courses}
    course_pk = {c.path: c.pk for c in courses}
    children = _children_of_any(courses)
    lessons = LessonPage.objects.live().filter(children).order_by(*LESSON_ORDER)
    for lesson in lessons.defer_streamfields():
        outlines[course_pk[_course_path(lesson.path)]].lessons.append(lesson)
    assignments = AssignmentPage.objects.live().filter(children).order_by(*ASSIGNMENT_ORDER)
    for assignment in assignments.defer_streamfields():
        outlines[course_pk[_course_path(assignment.path)]].assignments.append(assignment)
    return outlines


def live_course_list() -> list[CoursePage]:
    """``live_courses()``, read once per content version: the catalogue's courses."""
    return versioned_cache.cached(
        CONTENT, "lms.courses.live", "", lambda: list(live_courses().defer_streamfields())
    )


# The order learners take lessons in, and assignments soonest due first (undated ones last).
LESSON_ORDER = ("position", "title", "pk")
ASSIGNMENT_ORDER = (F("due_at").asc(nulls_last=True), "title", "pk")


def live_lessons(course: CoursePage) -> PageQuerySet:
    """The course's published lessons, in the order learners take them."""
    return LessonPage.objects.live().child_of(course).order_by(*LESSON_ORDER)


def live_assignments(course: CoursePage) -> PageQuerySet:
    """The course's published assignments, soonest due first (undated ones last)."""
    return AssignmentPage.objects.live().child_of(course).order_by(*ASSIGNMENT_ORDER)


def jupyterlab_url(course_slug: str, notebook_path: str = "") -> str | None:
    """Deep link into the learner's own JupyterLab through the hub's ``user-redirect``.

    The hub places each course's materials in the learner's work folder under ``<course-slug>/``,
    so ``lessons/01-basics.ipynb`` of python-101 opens as
    ``{hub}/hub/user-redirect/lab/tree/python-101/lessons/01-basics.ipynb``. Without a path the
    link opens the course folder. None when the path would leave the course folder.
    """
    parts = [course_slug]
    if notebook_path:
        relative = PurePosixPath(notebook_path.replace("\\", "/"))
        if relative.is_absolute() or ".." in relative.parts:
            return None
        parts.extend(relative.parts)
    if not course_slug or any(part in {"", ".", ".."} for part in parts):
        return None
    tree = "/".join(quote(part, safe="") for part in parts)
    return f"{settings.STUDIO_HUB_URL}/hub/user-redirect/lab/tree/{tree}"


def is_learner(enrollment: Enrollment | None) -> bool:
    """Learners (not instructors) are the ones whose lesson progress is tracked."""
    return enrollment is not None and enrollment.role == EnrollmentRole.LEARNER


@dataclass(frozen=True)
class Progress:
    completed: int
    total: int

    @property
    def percent(self) -> int:
        """Completed lessons over live lessons, as a whole percentage (0 without lessons)."""
        return round(100 * self.completed / self.total) if self.total else 0


@dataclass(frozen=True)
class CatalogueEntry:
    course: CoursePage
    role: str | None
    lesson_count: int

    @property
    def is_enrolled(self) -> bool:
        return self.role is not None

    @property
    def can_enroll(self) -> bool:
        return self.role is None and self.course.enrollment_open


def _children_of_any(courses) -> Q:
    """Pages that are direct children of any of ``courses`` (a tree query, no FK exists)."""
    query = Q(pk__in=[])
    for course in courses:
        query |= Q(path__startswith=course.path, depth=course.depth + 1)
    return query


def _course_path(page_path: str) -> str:
    return page_path[: -CoursePage.steplen]


def catalogue_for(user: User) -> list[CatalogueEntry]:
    """Every live course with ``user``'s place in it and its number of lessons (the courses
    and their lessons cached per content version; one query for the enrollments)."""
    courses = live_course_list()
    outlines = course_outlines(courses)
    roles = {}
    if user.is_authenticated:
        roles = {pk: e.role for pk, e in viewer_enrollments(user).items()}
    return [CatalogueEntry(c, roles.get(c.pk), len(outlines[c.pk].lessons)) for c in courses]


@dataclass(frozen=True)
class LessonItem:
    lesson: LessonPage
    status: str | None

    @property
    def is_completed(self) -> bool:
        return self.status == ProgressStatus.COMPLETED


@dataclass(frozen=True)
class AssignmentItem:
    assignment: AssignmentPage
    is_released: bool


def course_page_context(course: CoursePage, user: User) -> dict:
    """What the course page shows ``user``: the lessons with their progress, the assignments with
    their dates, and which actions are open to them. (The learner's grades: the gradebook's
    provider, ``lms.gradebook.wagtail_hooks``.)"""
    enrollment = enrollment_of(user, course)
    outline = course_outline(course)
    lessons, assignments = outline.lessons, outline.assignments
    statuses: dict[int, str] = {}
    if enrollment is not None:
        statuses = dict(
            LessonProgress.objects.filter(user=user, lesson__in=lessons).values_list(
                "lesson_id", "status"
            )
        )
    now = timezone.now()
    items = [LessonItem(lesson, statuses.get(lesson.pk)) for lesson in lessons]
    instructor = is_course_instructor(user, course)
    return {
        "course": course,
        "enrollment": enrollment,
        "is_learner": is_learner(enrollment),
        "is_instructor": instructor,
        "can_enroll": enrollment is None and course.enrollment_open,
        "lessons": items,
        "assignments": [AssignmentItem(a, a.is_released(now)) for a in assignments],
        "progress": Progress(sum(item.is_completed for item in items), len(items)),
        "can_edit": instructor and course.permissions_for_user(user).can_edit(),
        "jupyterlab_url": jupyterlab_url(course.slug) if enrollment is not None else None,
    }


def lesson_page_context(lesson: LessonPage, request) -> dict:
    """What a lesson page shows: the "Open in JupyterLab" link for enrolled people, the
    learner's progress on it, and the previous and next lessons of the course."""
    user = request.user
    course = course_of(lesson)
    enrollment = enrollment_of(user, course)
    progress = lesson_progress_of(user, lesson) if is_learner(enrollment) else None
    siblings = course_outline(course).lessons
    index = next((i for i, s in enumerate(siblings) if s.pk == lesson.pk), None)
    previous_lesson = next_lesson = None
    if index is not None:
        previous_lesson = siblings[index - 1] if index > 0 else None
        next_lesson = siblings[index + 1] if index + 1 < len(siblings) else None
    open_url = None
    if enrollment is not None:
        open_url = jupyterlab_url(course.slug, lesson.notebook_path)
    return {
        "course": course,
        "enrollment": enrollment,
        "is_learner": is_learner(enrollment),
        "progress": progress,
        "is_completed": progress is not None and progress.status == ProgressStatus.COMPLETED,
        "jupyterlab_url": open_url,
        "previous_lesson": previous_lesson,
        "next_lesson": next_lesson,
    }


def lesson_progress_of(user: User, lesson: LessonPage) -> LessonProgress | None:
    """``user``'s progress on ``lesson``, read once per request: the lesson page records the
    visit (``record_lesson_opened``) and shows the progress."""
    return remembered(
        _progress_key(user, lesson),
        lambda: LessonProgress.objects.filter(user_id=user.pk, lesson_id=lesson.pk).first(),
    )


def _progress_key(user: User, lesson: LessonPage) -> tuple[str, int, int]:
    return ("lms.courses.lesson_progress", user.pk, lesson.pk)


def forget_lesson_progress(user: User, lesson: LessonPage) -> None:
    """``user``'s progress on ``lesson`` changed: the rest of the request reads it again."""
    forget(_progress_key(user, lesson))


def late_policy_in_words(assignment: AssignmentPage) -> str:
    """The assignment's late policy as a sentence a learner understands."""
    if assignment.late_policy == LatePolicyMode.ACCEPT:
        return "Late submissions are accepted without penalty; they are marked as late."
    if assignment.late_policy == LatePolicyMode.PENALTY:
        percent = f"{Decimal(str(assignment.late_percent_per_day)).normalize():f}"
        days = assignment.late_cutoff_days
        cutoff = (
            f"up to {days} day{pluralize(days)} after the due date"
            if days
            else "at any time after the due date"
        )
        return (
            f"Late submissions are accepted {cutoff}, losing {percent}% of the score for each "
            "started day."
        )
    return "Late submissions are not accepted: only work submitted by the due date counts."


def assignment_page_context(assignment: AssignmentPage, user: User) -> dict:
    """What an assignment page shows: dates and policies, and the actions open to ``user``.
    Grades and the instructors' grading panel are the gradebook's provider's
    (``lms.gradebook.selectors.assignment_grading_context``)."""
    course = course_of(assignment)
    enrollment = enrollment_of(user, course)
    return {
        "course": course,
        "enrollment": enrollment,
        "is_learner": is_learner(enrollment),
        "is_instructor": is_course_instructor(user, course),
        "is_released": assignment.is_released(),
        "late_policy_text": late_policy_in_words(assignment),
        "jupyterlab_url": jupyterlab_url(course.slug) if enrollment is not None else None,
    }


@dataclass(frozen=True)
class CourseCard:
    course: CoursePage
    progress: Progress


@dataclass(frozen=True)
class Deadline:
    assignment: AssignmentPage
    course: CoursePage


@dataclass(frozen=True)
class Learning:
    """What courses know of a person for their dashboard: the courses they take, with their
    progress, the upcoming deadlines in them, and the courses they teach. The dashboard adds
    their grades (``lms.gradebook.selectors.dashboard_for``)."""

    courses: list[CourseCard]
    deadlines: list[Deadline]
    taught: list[CoursePage]


def learning_of(user: User, *, deadlines: int = 10) -> Learning:
    """``user``'s live courses as a learner with their progress, upcoming deadlines (released,
    due in the future, soonest first) and the courses they teach. A fixed number of queries,
    however many courses: the enrollments and the completed lessons (the courses and their
    outlines are cached per content version), and the taught courses for those who teach."""
    enrollments = viewer_enrollments(user)
    live = {c.pk: c for c in live_course_list()}
    courses = sorted(
        (live[pk] for pk, e in enrollments.items()
         if e.role == EnrollmentRole.LEARNER and pk in live),
        key=lambda c: (c.title, c.pk),
    )
    cards: list[CourseCard] = []
    upcoming: list[Deadline] = []
    if courses:
        outlines = course_outlines(courses)
        course_of_lesson = {lesson.pk: c.pk for c in courses for lesson in outlines[c.pk].lessons}
        done = LessonProgress.objects.filter(
            user_id=user.pk, status=ProgressStatus.COMPLETED, lesson_id__in=course_of_lesson
        ).values_list("lesson_id", flat=True)
        completed = Counter(course_of_lesson[pk] for pk in done)
        cards = [
            CourseCard(c, Progress(completed[c.pk], len(outlines[c.pk].lessons))) for c in courses
        ]
        now = timezone.now()
        due = [
            Deadline(a, c)
            for c in courses for a in outlines[c.pk].assignments
            if a.due_at is not None and a.due_at > now and a.is_released(now)
        ]
        upcoming = sorted(due, key=lambda d: (d.assignment.due_at, d.assignment.title))
        upcoming = upcoming[:deadlines]
    taught = []
    taught_ids = taught_course_ids(user)
    if user.is_studio_staff or taught_ids:
        taught = list(CoursePage.objects.filter(pk__in=taught_ids).order_by("title"))
    return Learning(courses=cards, deadlines=upcoming, taught=taught)


def courses_of(pages: Iterable[Page], known: Iterable[CoursePage] = ()) -> dict[int, CoursePage]:
    """The course of each lesson or assignment page (its parent), by page id: one query for all
    of them, none when every course is in ``known``. A page whose course is gone is left out."""
    pages = list(pages)
    by_path = {c.path: c for c in known}
    missing = {_course_path(p.path) for p in pages} - by_path.keys()
    if missing:
        by_path.update({c.path: c for c in CoursePage.objects.filter(path__in=missing)})
    return {p.pk: by_path[_course_path(p.path)] for p in pages if _course_path(p.path) in by_path}


@dataclass(frozen=True)
class LearnerProgress:
    learner: User
    progress: Progress
    last_activity: dt.datetime | None  # the last lesson opened or completed


@dataclass(frozen=True)
class LearnersProgress:
    course: CoursePage
    lesson_count: int
    rows: list[LearnerProgress]


def may_view_learners(user: User, course: CoursePage) -> bool:
    """Only the course's instructors (and staff) see its learners' progress and grades."""
    return is_course_instructor(user, course)


def learners_progress(course: CoursePage) -> LearnersProgress:
    """Each learner of ``course`` (enrolled as a learner, by username): lessons completed of the
    live ones and their last lesson activity (opened or completed). Three queries, however many
    learners; the learners view adds their grades (``lms.gradebook.selectors``)."""
    enrollments = list(
        Enrollment.objects.filter(course=course, role=EnrollmentRole.LEARNER)
        .select_related("user")
        .order_by("user__username")
    )
    learner_ids = [e.user_id for e in enrollments]
    lesson_ids = list(live_lessons(course).values_list("pk", flat=True))
    activity = Greatest("opened_at", Coalesce("completed_at", "opened_at"))
    progress = {
        row["user_id"]: row
        for row in LessonProgress.objects.filter(user_id__in=learner_ids, lesson_id__in=lesson_ids)
        .values("user_id")
        .annotate(
            completed=Count("pk", filter=Q(status=ProgressStatus.COMPLETED)),
            last=Max(activity),
        )
    }
    rows = [
        LearnerProgress(
            learner=e.user,
            progress=Progress(progress.get(e.user_id, {}).get("completed", 0), len(lesson_ids)),
            last_activity=progress.get(e.user_id, {}).get("last"),
        )
        for e in enrollments
    ]
    return LearnersProgress(course, len(lesson_ids), rows)


# --- What the API lists, and to whom (lms.api) ----------------------------------------------
# Lessons and assignments have no foreign key to their course: the course is the parent in the
# page tree. These helpers express "the course of this page" in SQL, so that lists annotate or
# filter by course in the same query instead of one query per row.


def _parent_path_of(path_ref: str):
    """SQL for the tree path of the parent of the page whose path is at ``path_ref`` (an
    ``OuterRef`` lookup such as ``"lesson__path"``)."""
    from django.db.models.functions import Length, Substr

    return Substr(OuterRef(path_ref), 1, Length(OuterRef(path_ref)) - CoursePage.steplen)


def course_slug_of(path_ref: str = "path"):
    """A subquery: the slug of the course that the page at ``path_ref`` belongs to; annotate
    lesson, assignment, progress or grade querysets with it."""
    return Subquery(CoursePage.objects.filter(path=_parent_path_of(path_ref)).values("slug")[:1])


def in_courses(course_ids, path_ref: str = "path"):
    """A filter: the page at ``path_ref`` belongs to one of ``course_ids`` (ids or a values
    queryset such as ``taught_course_ids(user)``)."""
    from django.db.models import Exists

    return Exists(CoursePage.objects.filter(pk__in=course_ids, path=_parent_path_of(path_ref)))


def in_course(course: CoursePage, page_field: str = "") -> Q:
    """A filter: the page (or the page at ``page_field``, e.g. ``"lesson"``) is one of
    ``course``'s lessons or assignments."""
    prefix = f"{page_field}__" if page_field else ""
    return Q(**{f"{prefix}path__startswith": course.path, f"{prefix}depth": course.depth + 1})


def courses_for_api(user: User) -> QuerySet[CoursePage]:
    """Live courses, each annotated with ``my_role``: ``user``'s enrollment role in it, or None."""
    role = Enrollment.objects.filter(user_id=user.pk, course=OuterRef("pk")).values("role")[:1]
    return live_courses().defer_streamfields().annotate(my_role=Subquery(role))


READ_TUTOR_SETTINGS = ("courses", "read_tutor_settings")


def can_read_tutor_settings(user: User) -> bool:
    """Only an active account explicitly granted ``courses.read_tutor_settings`` (the tutor's
    service account) reads every course's tutor policy and hints; being a superuser is not
    enough, so the permission says exactly who has it."""
    if not user.is_authenticated or not user.is_active:
        return False
    app_label, codename = READ_TUTOR_SETTINGS
    return Permission.objects.filter(
        Q(user=user) | Q(group__user=user),
        content_type__app_label=app_label,
        codename=codename,
    ).exists()


def sees_assignment_details(user: User, course: CoursePage) -> bool:
    """An assignment's hints and tutor policy are for the course's people: its enrolled learners
    and instructors (staff count as instructors), and the tutor's service account."""
    if not user.is_authenticated:
        return False
    if user.is_studio_staff or Enrollment.objects.filter(user=user, course=course).exists():
        return True
    return can_read_tutor_settings(user)


def assignments_visible_to(user: User, course: CoursePage) -> PageQuerySet:
    """The course's live assignments ``user`` may see: released ones for everybody, unreleased
    ones too for the course's instructors (and staff), and for the tutor's service account,
    which needs their policy when instructors try the tutor on them."""
    assignments = live_assignments(course).defer_streamfields()
    if is_course_instructor(user, course) or can_read_tutor_settings(user):
        return assignments
    return assignments.filter(Q(release_at__isnull=True) | Q(release_at__lte=timezone.now()))


def enrollments_visible_to(user: User) -> QuerySet[Enrollment]:
    """A person sees their own enrollments; instructors also their courses'; staff all."""
    enrollments = (
        Enrollment.objects.select_related("user", "course")
        .defer("course__syllabus")
        .order_by("course__slug", "role", "user__username")
    )
    if user.is_studio_staff:
        return enrollments
    taught = taught_course_ids(user)
    if not taught:
        return enrollments.filter(user_id=user.pk)
    return enrollments.filter(Q(user_id=user.pk) | Q(course_id__in=taught))


PROGRESS_FIELDS = [field.name for field in LessonProgress._meta.concrete_fields]


def progress_visible_to(user: User) -> QuerySet[LessonProgress]:
    """A learner sees their own lesson progress; instructors also their courses' learners';
    staff all. Annotated with ``course_slug``."""
    progress = (
        LessonProgress.objects.select_related("user", "lesson")
        # of the learner and the lesson (a page: dozens of columns) only what a list shows
        .only(*PROGRESS_FIELDS, "user__username", "lesson__slug")
        .annotate(course_slug=course_slug_of("lesson__path"))
        .order_by("lesson__path", "user__username")
    )
    if user.is_studio_staff:
        return progress
    taught = taught_course_ids(user)
    if not taught:
        return progress.filter(user_id=user.pk)
    return progress.filter(Q(user_id=user.pk) | in_courses(taught, "lesson__path"))
