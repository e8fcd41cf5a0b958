"""Test factories for course pages and learner state. Pages are added to the Wagtail tree
under their parent (a course under the course index, lessons and assignments under a course)."""

from __future__ import annotations

import datetime as dt

import factory
from django.utils import timezone

from lms.accounts.factories import InstructorFactory, UserFactory

from .models import (
    AssignmentPage,
    CoursePage,
    Enrollment,
    EnrollmentRole,
    LessonPage,
    LessonProgress,
    ProgressStatus,
)


class PageFactory(factory.django.DjangoModelFactory):
    """Creates a page as a child of ``parent`` (a page), as Wagtail's tree requires."""

    class Meta:
        abstract = True

    @classmethod
    def _create(cls, model_class, *args, parent=None, **kwargs):
        if parent is None:
            parent = cls.default_parent()
        return parent.add_child(instance=model_class(*args, **kwargs))

    @classmethod
    def default_parent(cls):
        raise NotImplementedError(f"{cls.__name__} needs parent=")


class CourseFactory(PageFactory):
    class Meta:
        model = CoursePage

    title = factory.Sequence(lambda n: f"Course {n}")
    slug = factory.Sequence(lambda n: f"course-{n}")
    summary = "A course about Python."
    enrollment_open = True

    @classmethod
    def default_parent(cls):
        from lms.base.services import ensure_site_structure

        return ensure_site_structure()


class LessonFactory(PageFactory):
    class Meta:
        model = LessonPage

    title = factory.Sequence(lambda n: f"Lesson {n}")
    slug = factory.Sequence(lambda n: f"lesson-{n}")
    summary = "What this lesson teaches."
    position = factory.Sequence(int)


class AssignmentFactory(PageFactory):
    class Meta:
        model = AssignmentPage

    title = factory.Sequence(lambda n: f"Problem set {n}")
    slug = factory.Sequence(lambda n: f"ps-{n}")
    nbgrader_name = factory.LazyAttribute(lambda a: a.slug)
    points = 10
    release_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(days=7))
    due_at = factory.LazyFunction(lambda: timezone.now() + dt.timedelta(days=7))


class EnrollmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Enrollment

    user = factory.SubFactory(UserFactory)
    course = factory.SubFactory(CourseFactory)
    role = EnrollmentRole.LEARNER


class InstructorEnrollmentFactory(EnrollmentFactory):
    user = factory.SubFactory(InstructorFactory)
    role = EnrollmentRole.INSTRUCTOR


class LessonProgressFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LessonProgress

    user = factory.SubFactory(UserFactory)
    status = ProgressStatus.COMPLETED
    completed_at = factory.LazyFunction(timezone.now)
