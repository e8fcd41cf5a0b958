"""Enrollments and course pages change in ``lms.courses`` (its services, the course import, the
API), which never imports this app; Django's signals tell it. Each change queues the Discourse
work it calls for (``services``), which runs after the change commits."""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save
from wagtail.signals import page_published

from lms.courses.models import CoursePage, Enrollment

from . import services


def enrollment_saved(sender, instance: Enrollment, **kwargs) -> None:
    services.queue_member(instance.course_id, instance.user_id)


def enrollment_deleted(sender, instance: Enrollment, origin=None, **kwargs) -> None:
    """A person left a course. Not when the enrollment goes because its user or course is being
    deleted: the queued task would go with them (``discourse-sync`` tidies the group)."""
    if isinstance(origin, Enrollment) or getattr(origin, "model", None) is Enrollment:
        services.queue_member(instance.course_id, instance.user_id)


def course_published(sender, instance: CoursePage, **kwargs) -> None:
    services.queue_course(instance)


def connect() -> None:
    post_save.connect(enrollment_saved, sender=Enrollment,
                      dispatch_uid="discourse.enrollment_saved")
    post_delete.connect(enrollment_deleted, sender=Enrollment,
                        dispatch_uid="discourse.enrollment_deleted")
    page_published.connect(course_published, sender=CoursePage,
                           dispatch_uid="discourse.course_published")
