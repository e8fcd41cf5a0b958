"""Courses as editors see them (Wagtail pages) and learner state (plain models pointing at them).

The page tree is: home → course index → course → lessons and assignments. A course page carries
what the hub and grader need to know about the course (its notebook image and resource profile);
an assignment page carries what the grader needs (nbgrader name, points, dates, late policy).
Learner state (enrollments, lesson progress) lives in plain models, so a page edit never touches
it and the API can query it without page revisions in the way. What each page shows is assembled
by the providers of ``page_context`` (courses' own in ``wagtail_hooks``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from wagtail.admin.panels import FieldPanel, FieldRowPanel, MultiFieldPanel
from wagtail.fields import StreamField
from wagtail.models import Page
from wagtail.search import index

from courses import naming
from courses.course_file import LatePolicy, PeerReview
from lms.base.blocks import ContentStreamBlock
from lms.base.models import RoutedFromCache

from . import page_context
from .page_context import ContextFromProviders


class CourseIndexPage(RoutedFromCache, ContextFromProviders, Page):
    """The catalogue: every live course, with a button to enroll where enrollment is open."""

    intro = models.TextField(blank=True)

    content_panels = [*Page.content_panels, FieldPanel("intro")]
    subpage_types = ["courses.CoursePage"]
    max_count = 1
    context_hook = page_context.COURSE_INDEX_PAGE


class CoursePage(RoutedFromCache, ContextFromProviders, Page):
    """A course: its summary and syllabus for learners, and the notebook image and resource
    profile the hub starts learners' servers with. Its page slug is the course slug that names
    the course folder (courses/<slug>/), the hub groups (nbgrader-<slug>, formgrade-<slug>) and
    the nbgrader course."""

    summary = models.TextField()
    syllabus = StreamField(ContentStreamBlock(), blank=True)
    enrollment_open = models.BooleanField(
        default=True, help_text="Learners may enroll themselves (closed: instructors enroll them)."
    )
    notebook_image = models.CharField(
        max_length=200,
        blank=True,
        help_text="Docker image of the learners' notebook servers for this course "
        "(empty: the studio's default image).",
    )
    resource_profile = models.CharField(
        max_length=50,
        default="learner",
        help_text="Resource profile (memory, CPU, processes) of the learners' servers.",
    )
    grading_mode = models.CharField(
        max_length=16,
        choices=[("judge", "judge"), ("in-kernel", "in-kernel")],
        default="judge",
        editable=False,
        help_text="How the grader evaluates test cells (course.yml's grading, which the grader "
        "reads): by its judge, outside the learner's code, or in the learner's kernel.",
    )

    content_panels = [
        *Page.content_panels,
        FieldPanel("summary"),
        FieldPanel("syllabus"),
        MultiFieldPanel(
            [
                FieldPanel("enrollment_open"),
                FieldRowPanel([FieldPanel("notebook_image"), FieldPanel("resource_profile")]),
            ],
            heading="Enrollment and notebook servers",
        ),
    ]
    search_fields = [*Page.search_fields, index.SearchField("summary")]
    parent_page_types = ["courses.CourseIndexPage"]
    subpage_types = ["courses.LessonPage", "courses.AssignmentPage"]
    context_hook = page_context.COURSE_PAGE

    @property
    def course_slug(self) -> str:
        return self.slug

    @property
    def learner_group(self) -> str:
        """nbgrader's JupyterHub convention for the course's learners."""
        return naming.learner_group(self.slug)

    @property
    def instructor_group(self) -> str:
        """nbgrader's JupyterHub convention for the course's graders."""
        return naming.instructor_group(self.slug)


class CourseChildPage(RoutedFromCache, ContextFromProviders, Page):
    """What lessons and assignments share: they live under one course and know its slug."""

    class Meta:
        abstract = True

    parent_page_types = ["courses.CoursePage"]
    subpage_types: list[str] = []

    @property
    def course(self) -> CoursePage:
        return CoursePage.objects.get(pk=self.get_parent().pk)

    @property
    def course_slug(self) -> str:
        return self.get_parent().slug


class LessonPage(CourseChildPage):
    """A lesson: prose, highlighted code and rendered notebooks, with an "Open in JupyterLab"
    button that lands the learner in their own server at the lesson's notebook."""

    summary = models.TextField(blank=True)
    body = StreamField(ContentStreamBlock(), blank=True)
    notebook_path = models.CharField(
        max_length=255,
        blank=True,
        help_text="The lesson notebook inside the course folder, e.g. lessons/01-basics.ipynb; "
        "'Open in JupyterLab' opens the learner's copy of it.",
    )
    position = models.PositiveIntegerField(default=0, help_text="Order within the course.")

    content_panels = [
        *Page.content_panels,
        FieldPanel("summary"),
        FieldPanel("body"),
        FieldRowPanel([FieldPanel("notebook_path"), FieldPanel("position")]),
    ]
    search_fields = [*Page.search_fields, index.SearchField("summary"), index.SearchField("body")]
    context_hook = page_context.LESSON_PAGE


class LatePolicyMode(models.TextChoices):
    REJECT = "reject", "Reject late submissions"
    ACCEPT = "accept", "Accept late submissions (flagged)"
    PENALTY = "penalty", "Accept with a penalty per day, until a cutoff"


class TutorPolicy(models.TextChoices):
    OFF = "off", "Off (e.g. during an exam)"
    HINTS_ONLY = "hints-only", "Hints only"
    FULL = "full", "Full tutoring (still never the solution)"


class AssignmentPage(CourseChildPage):
    """An nbgrader assignment: the grader releases ``source/<nbgrader_name>/`` of the course
    folder; the dates and late policy decide which submission counts and how much."""

    summary = models.TextField(blank=True)
    instructions = StreamField(ContentStreamBlock(), blank=True)
    nbgrader_name = models.CharField(
        max_length=100, help_text="nbgrader assignment id: the folder under source/."
    )
    points = models.DecimalField(max_digits=7, decimal_places=2)
    release_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    late_policy = models.CharField(
        max_length=16, choices=LatePolicyMode.choices, default=LatePolicyMode.REJECT
    )
    late_percent_per_day = models.DecimalField(max_digits=5, decimal_places=2, default=0)
    late_cutoff_days = models.PositiveIntegerField(default=0)
    tutor_policy = models.CharField(
        max_length=16, choices=TutorPolicy.choices, default=TutorPolicy.HINTS_ONLY
    )
    hints = models.JSONField(
        default=list, blank=True, help_text="Instructor-written hints the tutor may give."
    )
    peer_review = models.JSONField(
        default=dict, blank=True, editable=False,
        help_text="The peer review settings of course.yml (empty: no peer review).",
    )

    @property
    def peer_review_spec(self) -> PeerReview:
        """The peer review settings as course.yml's reader gives them (``PeerReview``; off when
        course.yml has none). course.yml is their source: the import writes them."""
        return PeerReview.from_json(self.peer_review)

    @property
    def late_policy_spec(self) -> LatePolicy:
        """The late policy as the studio's lateness rule (``courses.lateness``) takes it."""
        return LatePolicy(
            mode=str(self.late_policy),
            percent_per_day=self.late_percent_per_day,
            cutoff_days=self.late_cutoff_days,
        )

    content_panels = [
        *Page.content_panels,
        FieldPanel("summary"),
        FieldPanel("instructions"),
        FieldRowPanel([FieldPanel("nbgrader_name"), FieldPanel("points")]),
        FieldRowPanel([FieldPanel("release_at"), FieldPanel("due_at")]),
        MultiFieldPanel(
            [
                FieldPanel("late_policy"),
                FieldRowPanel([FieldPanel("late_percent_per_day"), FieldPanel("late_cutoff_days")]),
            ],
            heading="Late submissions",
        ),
        FieldPanel("tutor_policy"),
        FieldPanel("hints"),
    ]
    # Dates and policies for everybody (courses); the learner's grade and the instructors'
    # grading panel come from the gradebook's provider.
    context_hook = page_context.ASSIGNMENT_PAGE

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(due_at__isnull=True)
                | models.Q(release_at__isnull=True)
                | models.Q(due_at__gt=models.F("release_at")),
                name="assignment_due_after_release",
            )
        ]
        permissions = [
            (
                "read_tutor_settings",
                "Can read every course's tutor policy and hints (the tutor's service account)",
            )
        ]

    def is_released(self, now=None) -> bool:
        return self.release_at is None or self.release_at <= (now or timezone.now())


class EnrollmentRole(models.TextChoices):
    LEARNER = "learner", "Learner"
    INSTRUCTOR = "instructor", "Instructor"


class Enrollment(models.Model):
    """A person's place in a course: a learner takes it, an instructor teaches it."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="enrollments"
    )
    course = models.ForeignKey(CoursePage, on_delete=models.CASCADE, related_name="enrollments")
    role = models.CharField(
        max_length=16, choices=EnrollmentRole.choices, default=EnrollmentRole.LEARNER
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "course"], name="one_enrollment_per_course")
        ]
        indexes = [models.Index(fields=["course", "role"])]
        ordering = ["course_id", "user_id"]

    def __str__(self) -> str:
        return f"{self.user} in {self.course} as {self.role}"


class ProgressStatus(models.TextChoices):
    OPENED = "opened", "Opened"
    COMPLETED = "completed", "Completed"


class LessonProgress(models.Model):
    """How far a learner got with one lesson: opened when first viewed, completed when they
    mark it done. Progress % of a course is completed lessons over all live lessons."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="lesson_progress"
    )
    lesson = models.ForeignKey(LessonPage, on_delete=models.CASCADE, related_name="progress")
    status = models.CharField(
        max_length=16, choices=ProgressStatus.choices, default=ProgressStatus.OPENED
    )
    opened_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "lesson"], name="one_progress_per_lesson")
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.status} {self.lesson}"
