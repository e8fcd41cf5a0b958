"""factory-boy factories of the LMS's models, for tests and benchmarks only (factory-boy is a
``dev`` dependency: nothing under ``lms/`` imports this).

Pages are added to the Wagtail tree under their parent: a course under the course index (created
on demand), lessons and assignments under the course given as ``parent=``.
"""

from __future__ import annotations

import datetime as dt

import factory
from django.utils import timezone

from lms.accounts.models import Role, User
from lms.community.models import Post, PostKind, Thread, ThreadKind
from lms.courses.models import (
    AssignmentPage,
    CoursePage,
    Enrollment,
    EnrollmentRole,
    LessonPage,
    LessonProgress,
    ProgressStatus,
)
from lms.courses.services import ensure_site_structure
from lms.gradebook.models import Grade

PASSWORD = "correct-horse-battery"  # every factory-made account's password

# --- Accounts -------------------------------------------------------------------------------


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"learner{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    role = Role.LEARNER
    password = factory.django.Password(PASSWORD)


class InstructorFactory(UserFactory):
    username = factory.Sequence(lambda n: f"instructor{n}")
    role = Role.INSTRUCTOR


class StaffFactory(UserFactory):
    username = factory.Sequence(lambda n: f"staff{n}")
    role = Role.STAFF
    is_staff = True
    is_superuser = True


# --- Course pages and learner state ---------------------------------------------------------


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


# --- Grades ---------------------------------------------------------------------------------


class GradeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Grade

    learner = factory.SubFactory(UserFactory)
    submission_id = factory.Sequence(lambda n: f"sub-{n}")
    score = 8
    max_score = 10
    counts = True
    submitted_at = factory.LazyFunction(timezone.now)
    graded_at = factory.LazyFunction(timezone.now)


# --- The course community -------------------------------------------------------------------


class ThreadFactory(factory.django.DjangoModelFactory):
    """A published thread with its opening post (``opening__body=``), written straight to the
    models:
    no solution check, rate limit or notification (``lms.community.services`` does those)."""

    class Meta:
        model = Thread
        skip_postgeneration_save = True

    course = factory.SubFactory(CourseFactory)
    kind = ThreadKind.QUESTION
    title = factory.Sequence(lambda n: f"Question {n}")
    author = factory.SubFactory(UserFactory)

    @factory.post_generation
    def opening(thread, create, extracted, **kwargs):
        body = kwargs.get("body") or "How do I start?"
        thread.opening_post = Post.objects.create(
            thread=thread, kind=PostKind.OPENING, author=thread.author,
            anonymous=thread.anonymous, body=body, html=f"<p>{body}</p>",
        )
        thread.save(update_fields=["opening_post"])


class PostFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Post

    thread = factory.SubFactory(ThreadFactory)
    kind = PostKind.ANSWER
    author = factory.SubFactory(UserFactory)
    body = "Try a loop."
    html = "<p>Try a loop.</p>"
