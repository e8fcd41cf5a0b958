"""Keep grades in step with their assignment: publishing an assignment page (perhaps with a new
due date or late policy) applies the late policy to its grades again."""

from __future__ import annotations

from wagtail.signals import page_published

from lms.courses.models import AssignmentPage

from .services import recount_grades


def recount_published_assignment(sender, instance, **kwargs) -> None:
    recount_grades(instance)


def connect() -> None:
    page_published.connect(
        recount_published_assignment,
        sender=AssignmentPage,
        dispatch_uid="gradebook.recount_published_assignment",
    )
