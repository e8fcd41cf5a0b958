"""Writes about courses: the course index in the site's page tree, enrollments and lesson
progress. Views, the API and the course import call these; nothing else writes those models."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from wagtail.models import GroupPagePermission

from courses.naming import COURSE_INDEX_SLUG
from lms.accounts.models import Role, User
from lms.base.services import ensure_home_page

from .models import (
    CourseIndexPage,
    CoursePage,
    Enrollment,
    EnrollmentRole,
    LessonPage,
    LessonProgress,
    ProgressStatus,
)
from .selectors import forget_lesson_progress, forget_viewer_enrollments


@transaction.atomic
def ensure_site_structure() -> CourseIndexPage:
    """Make sure the page tree is home → courses (the catalogue), with the default site pointing
    at home; the course index to add courses under. Idempotent."""
    home = ensure_home_page()
    index = CourseIndexPage.objects.child_of(home).first()
    if index is None:
        index = home.add_child(
            instance=CourseIndexPage(
                title="Courses", slug=COURSE_INDEX_SLUG, intro="Courses you can take in the studio."
            )
        )
    return index


# What an instructor may do in the Wagtail admin, on their own course's pages only.
INSTRUCTOR_PAGE_PERMISSIONS = ("add_page", "change_page", "publish_page")


def instructor_admin_group(course: CoursePage) -> Group:
    """The Wagtail group whose members may edit ``course`` (and only it) in the admin.

    Created on demand with admin access and page permissions rooted at the course page, so
    Wagtail's own permission system keeps instructors inside their courses.
    """
    group, created = Group.objects.get_or_create(name=f"Instructors of {course.slug}")
    if created:
        group.permissions.add(
            Permission.objects.get(content_type__app_label="wagtailadmin", codename="access_admin")
        )
        for codename in INSTRUCTOR_PAGE_PERMISSIONS:
            GroupPagePermission.objects.get_or_create(
                group=group,
                page=course,
                permission=Permission.objects.get(
                    content_type__app_label="wagtailcore", codename=codename
                ),
            )
    return group


@transaction.atomic
def enroll(user: User, course: CoursePage, role: str = EnrollmentRole.LEARNER) -> Enrollment:
    """Put ``user`` in ``course`` with ``role``; idempotent, and a role change is applied."""
    enrollment, _ = Enrollment.objects.update_or_create(
        user=user, course=course, defaults={"role": role}
    )
    forget_viewer_enrollments(user)
    group = instructor_admin_group(course)
    if role == EnrollmentRole.INSTRUCTOR:
        user.groups.add(group)
        if user.role == Role.LEARNER:
            user.role = Role.INSTRUCTOR
            user.save(update_fields=["role"])
    else:
        user.groups.remove(group)
    return enrollment


def self_enroll(user: User, course: CoursePage) -> Enrollment:
    """A learner enrolls themselves: allowed only where the course's enrollment is open."""
    existing = Enrollment.objects.filter(user=user, course=course).first()
    if existing is not None:
        return existing
    if not course.enrollment_open:
        raise PermissionDenied("Enrollment in this course is closed: ask its instructors.")
    return enroll(user, course, EnrollmentRole.LEARNER)


@transaction.atomic
def leave(user: User, course: CoursePage) -> None:
    """Remove ``user`` from ``course``. Their grades stay in the gradebook."""
    Enrollment.objects.filter(user=user, course=course).delete()
    forget_viewer_enrollments(user)
    user.groups.remove(instructor_admin_group(course))


def mark_lesson_opened(user: User, lesson: LessonPage) -> LessonProgress:
    """Record the first visit of a lesson; later visits change nothing."""
    progress, _ = LessonProgress.objects.get_or_create(user=user, lesson=lesson)
    forget_lesson_progress(user, lesson)
    return progress


def mark_lesson_completed(user: User, lesson: LessonPage, completed: bool = True) -> LessonProgress:
    """Mark a lesson done (or not done again)."""
    progress, _ = LessonProgress.objects.get_or_create(user=user, lesson=lesson)
    progress.status = ProgressStatus.COMPLETED if completed else ProgressStatus.OPENED
    progress.completed_at = timezone.now() if completed else None
    progress.save(update_fields=["status", "completed_at"])
    forget_lesson_progress(user, lesson)
    return progress
