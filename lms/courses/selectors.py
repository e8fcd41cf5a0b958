"""Reads about courses: who sees which course, and what each page shows. One place decides each
rule; views, templates and the API ask here."""

from __future__ import annotations

from django.db.models import QuerySet

from lms.accounts.models import User

from .models import CoursePage, Enrollment, EnrollmentRole


def live_courses() -> QuerySet[CoursePage]:
    return CoursePage.objects.live().order_by("title")


def enrollment_of(user: User, course: CoursePage) -> Enrollment | None:
    if not user.is_authenticated:
        return None
    return Enrollment.objects.filter(user=user, course=course).first()


def is_course_instructor(user: User, course: CoursePage) -> bool:
    """Staff count as instructors of every course."""
    if not user.is_authenticated:
        return False
    if user.is_studio_staff:
        return True
    return Enrollment.objects.filter(
        user=user, course=course, role=EnrollmentRole.INSTRUCTOR
    ).exists()


def taught_course_ids(user: User) -> QuerySet:
    """Ids of the courses ``user`` teaches (all courses for staff)."""
    if user.is_studio_staff:
        return CoursePage.objects.values("pk")
    return Enrollment.objects.filter(user=user, role=EnrollmentRole.INSTRUCTOR).values("course_id")


def hub_groups(user: User) -> list[str]:
    """The ``groups`` claim: ``staff`` for admins, and nbgrader's JupyterHub convention per
    enrollment: ``nbgrader-<slug>`` for learners, ``formgrade-<slug>`` for instructors."""
    groups = ["staff"] if user.is_studio_staff else []
    for role, slug in (
        Enrollment.objects.filter(user=user, course__live=True)
        .values_list("role", "course__slug")
        .order_by("course__slug")
    ):
        prefix = "formgrade" if role == EnrollmentRole.INSTRUCTOR else "nbgrader"
        groups.append(f"{prefix}-{slug}")
    return groups
