"""How the API shows and reads things. Serializers only translate: who may see what is decided in
the selectors, what a write does in the services."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from lms.accounts.models import User
from lms.community import selectors as board_selectors
from lms.community.models import AuditEntry, Ban, Post, Report, Thread, ThreadKind
from lms.courses.models import (
    AssignmentPage,
    CoursePage,
    Enrollment,
    EnrollmentRole,
    LessonPage,
    LessonProgress,
    ProgressStatus,
    TutorPolicy,
)
from lms.courses.selectors import hub_groups
from lms.gradebook.grader import SUBMISSION_STATUSES
from lms.gradebook.models import Grade, GradeStatus
from lms.gradebook.selectors import final_percent, final_score

from .query import LARGEST_PAGE_NUMBER


class DecimalInput(serializers.DecimalField):
    """A decimal the API reads, as a JSON number (the grader sends numbers) or a string; the
    schema says both (``lms.api.schema.DecimalInputExtension``)."""


def decimal_as_sent(max_digits: int = 7) -> serializers.DecimalField:
    """The schema of a decimal the API computes and sends as a string with two decimals, the
    way DRF sends decimal fields (COERCE_DECIMAL_TO_STRING)."""
    return serializers.DecimalField(max_digits=max_digits, decimal_places=2)


class PageURLMixin(serializers.Serializer):
    url = serializers.SerializerMethodField(help_text="The page on the LMS site.")

    def get_url(self, page) -> str | None:
        return page.get_full_url(self.context.get("request"))


class MeSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="display_name", read_only=True)
    groups = serializers.SerializerMethodField(
        help_text="As in the OIDC `groups` claim: `staff`, `nbgrader-<slug>`, `formgrade-<slug>`."
    )

    class Meta:
        model = User
        fields = ["username", "name", "email", "role", "groups"]
        read_only_fields = fields

    def get_groups(self, user) -> list[str]:
        return hub_groups(user)


class CourseSerializer(PageURLMixin, serializers.ModelSerializer):
    my_role = serializers.CharField(
        read_only=True,
        allow_null=True,
        help_text="The caller's role in the course (learner or instructor), null if not enrolled.",
    )

    class Meta:
        model = CoursePage
        fields = [
            "slug",
            "title",
            "summary",
            "enrollment_open",
            "notebook_image",
            "resource_profile",
            "url",
            "my_role",
        ]
        read_only_fields = fields


class LessonSerializer(PageURLMixin, serializers.ModelSerializer):
    class Meta:
        model = LessonPage
        fields = ["slug", "title", "summary", "notebook_path", "position", "url"]
        read_only_fields = fields


class AssignmentSerializer(PageURLMixin, serializers.ModelSerializer):
    """``tutor_policy`` and ``hints`` are null unless the caller is enrolled in the course (or
    staff): the view says so through the serializer context's ``show_details``."""

    released = serializers.SerializerMethodField()
    tutor_policy = serializers.SerializerMethodField()
    hints = serializers.SerializerMethodField()

    class Meta:
        model = AssignmentPage
        fields = [
            "nbgrader_name",
            "slug",
            "title",
            "summary",
            "points",
            "release_at",
            "due_at",
            "released",
            "late_policy",
            "late_percent_per_day",
            "late_cutoff_days",
            "tutor_policy",
            "hints",
            "url",
        ]
        read_only_fields = fields

    def get_released(self, assignment) -> bool:
        return assignment.is_released()

    @extend_schema_field(serializers.ChoiceField(choices=TutorPolicy.choices, allow_null=True))
    def get_tutor_policy(self, assignment):
        return assignment.tutor_policy if self.context.get("show_details") else None

    @extend_schema_field(serializers.ListField(child=serializers.CharField(), allow_null=True))
    def get_hints(self, assignment):
        return assignment.hints if self.context.get("show_details") else None


class EnrollmentSerializer(serializers.ModelSerializer):
    course = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    user = serializers.SlugRelatedField(slug_field="username", read_only=True)
    name = serializers.CharField(source="user.display_name", read_only=True)

    class Meta:
        model = Enrollment
        fields = ["id", "course", "user", "name", "role", "created_at"]
        read_only_fields = fields


class ProgressSerializer(serializers.ModelSerializer):
    course = serializers.CharField(source="course_slug", read_only=True)
    lesson = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    user = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = LessonProgress
        fields = ["id", "course", "lesson", "user", "status", "opened_at", "completed_at"]
        read_only_fields = fields


class ProgressWriteSerializer(serializers.Serializer):
    """The caller's progress on one lesson, named by course slug and lesson slug."""

    course = serializers.SlugField()
    lesson = serializers.SlugField()
    status = serializers.ChoiceField(choices=ProgressStatus.choices)


class BreakdownItemSerializer(serializers.Serializer):
    """One test (nbgrader grade cell) of a submission; other keys are kept as sent."""

    id = serializers.CharField(max_length=200, help_text="The test's id (nbgrader grade_id).")
    score = DecimalInput(max_digits=7, decimal_places=2, min_value=0)
    max_score = DecimalInput(max_digits=7, decimal_places=2, min_value=0)

    def to_internal_value(self, data):
        checked = super().to_internal_value(data)
        return {**data, "score": float(checked["score"]), "max_score": float(checked["max_score"])}


def requested_fields(request) -> list[str] | None:
    """The field names a ``?fields=a,b`` query asks for, or None (all fields)."""
    wanted = request.query_params.get("fields") if request is not None else None
    if not wanted:
        return None
    return [name.strip() for name in wanted.split(",") if name.strip()] or None


class SparseFieldsSerializer(serializers.ModelSerializer):
    """Reads only the fields a ``?fields=a,b`` query names (all without it): a client watching
    scores need not download every grade's feedback page, which is ~0.3 MB of HTML each. A name
    the serializer does not have is a 400 that lists the ones it has."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        names = requested_fields(self.context.get("request"))
        if names is None:
            return
        unknown = sorted(set(names) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({
                "fields": f"unknown: {', '.join(unknown)}; known: {', '.join(self.fields)}"
            })
        for name in set(self.fields) - set(names):
            self.fields.pop(name)


class GradeSerializer(SparseFieldsSerializer):
    course = serializers.CharField(source="course_slug", read_only=True)
    assignment = serializers.CharField(source="assignment.nbgrader_name", read_only=True)
    assignment_title = serializers.CharField(source="assignment.title", read_only=True)
    learner = serializers.CharField(source="learner.username", read_only=True)
    final_score = serializers.SerializerMethodField(
        help_text="score minus late_penalty: what the gradebook adds up."
    )
    percent = serializers.SerializerMethodField(help_text="final_score of max_score, in %.")

    class Meta:
        model = Grade
        fields = [
            "id",
            "course",
            "assignment",
            "assignment_title",
            "learner",
            "submission_id",
            "status",
            "score",
            "max_score",
            "late",
            "late_penalty",
            "final_score",
            "percent",
            "counts",
            "submitted_at",
            "graded_at",
            "feedback_html",
            "breakdown",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(decimal_as_sent())
    def get_final_score(self, grade) -> str:
        return f"{final_score(grade):.2f}"

    def get_percent(self, grade) -> float:
        return round(final_percent(grade), 2)


class GradeWriteSerializer(serializers.Serializer):
    """A graded submission pushed by the grader. (course, assignment, learner, submission_id)
    is the key: pushing it again updates the same grade."""

    course = serializers.SlugField(help_text="The course slug.")
    assignment = serializers.CharField(max_length=100, help_text="The nbgrader assignment name.")
    learner = serializers.CharField(max_length=32, help_text="The learner's username.")
    submission_id = serializers.CharField(max_length=100)
    score = DecimalInput(max_digits=7, decimal_places=2, min_value=0)
    max_score = DecimalInput(max_digits=7, decimal_places=2, min_value=0)
    status = serializers.ChoiceField(choices=GradeStatus.choices, default=GradeStatus.GRADED)
    submitted_at = serializers.DateTimeField()
    graded_at = serializers.DateTimeField(required=False)
    feedback_html = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    breakdown = BreakdownItemSerializer(many=True, required=False)
    late = serializers.BooleanField(
        required=False,
        write_only=True,
        help_text="Ignored: the LMS decides lateness from the assignment's due date.",
    )
    late_penalty = DecimalInput(
        max_digits=7,
        decimal_places=2,
        required=False,
        write_only=True,
        help_text="Ignored: the LMS applies the assignment's late policy.",
    )

    def validate(self, attrs):
        if attrs["score"] > attrs["max_score"]:
            raise serializers.ValidationError({"score": "The score is above max_score."})
        return attrs


class GradebookCellSerializer(serializers.Serializer):
    assignment = serializers.CharField(source="assignment.nbgrader_name")
    score = serializers.DecimalField(max_digits=7, decimal_places=2)
    max_score = serializers.DecimalField(max_digits=7, decimal_places=2)
    late_penalty = serializers.DecimalField(max_digits=7, decimal_places=2)
    final_score = serializers.SerializerMethodField()
    late = serializers.BooleanField()
    submitted_at = serializers.DateTimeField()

    @extend_schema_field(decimal_as_sent())
    def get_final_score(self, grade) -> str:
        return f"{final_score(grade):.2f}"


class GradebookRowSerializer(serializers.Serializer):
    learner = serializers.CharField(source="learner.username")
    name = serializers.CharField(source="learner.display_name")
    total = serializers.DecimalField(max_digits=9, decimal_places=2)
    grades = serializers.ListField(
        child=GradebookCellSerializer(allow_null=True),
        help_text="The counting grade per assignment, in the order of `assignments`; null: none.",
    )


class DistributionSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    mean = serializers.FloatField(allow_null=True)
    median = serializers.FloatField(allow_null=True)
    minimum = serializers.FloatField(allow_null=True)
    maximum = serializers.FloatField(allow_null=True)
    histogram = serializers.ListField(
        child=serializers.IntegerField(), help_text="Counts in 10 % bins of the final percent."
    )


class GradebookAssignmentSerializer(serializers.Serializer):
    nbgrader_name = serializers.CharField()
    title = serializers.CharField()
    points = serializers.DecimalField(max_digits=7, decimal_places=2)
    due_at = serializers.DateTimeField(allow_null=True)
    distribution = DistributionSerializer()


class GradebookSerializer(serializers.Serializer):
    course = serializers.CharField(source="course.slug")
    points = serializers.DecimalField(max_digits=9, decimal_places=2)
    assignments = GradebookAssignmentSerializer(many=True)
    learners = GradebookRowSerializer(many=True, source="rows")


# --- The instructors' actions on the grader (answers the LMS relays) ------------------------


class LatePolicySerializer(serializers.Serializer):
    mode = serializers.ChoiceField(choices=["reject", "accept", "penalty"])
    percent_per_day = serializers.FloatField()
    cutoff_days = serializers.IntegerField()


class ReleaseSerializer(serializers.Serializer):
    """The grader's release: the due date and late policy it got from the assignment page."""

    assignment = serializers.CharField(help_text="The nbgrader assignment name.")
    released_at = serializers.DateTimeField(allow_null=True)
    due_at = serializers.DateTimeField(allow_null=True)
    late_policy = LatePolicySerializer()
    feedback = serializers.ChoiceField(
        choices=["auto", "manual"], help_text="auto: learners get feedback once graded."
    )
    notebooks = serializers.ListField(child=serializers.CharField())
    created = serializers.BooleanField(help_text="False when it was released already.")


class GraderSubmissionSerializer(serializers.Serializer):
    """A submission as the grader keeps it (docs/grading.md)."""

    id = serializers.CharField(help_text="The grader's submission id: the grade's submission_id.")
    learner = serializers.CharField()
    submitted_at = serializers.DateTimeField(allow_null=True)
    status = serializers.ChoiceField(choices=SUBMISSION_STATUSES)
    late = serializers.BooleanField(
        allow_null=True,
        help_text="As the LMS recorded the submission's grade; null until it has one.",
    )
    score = serializers.DecimalField(max_digits=9, decimal_places=2, allow_null=True)
    max_score = serializers.DecimalField(max_digits=9, decimal_places=2, allow_null=True)
    message = serializers.CharField(
        allow_blank=True, help_text="A sentence: what the grading found, or why it failed."
    )


class GraderSubmissionsSerializer(serializers.Serializer):
    submissions = GraderSubmissionSerializer(many=True)


class RegradeSerializer(serializers.Serializer):
    submissions = serializers.ListField(
        child=serializers.CharField(max_length=100),
        required=False,
        allow_empty=False,
        help_text="The submission ids to regrade; leave out to regrade every submission.",
    )


class QueuedSerializer(serializers.Serializer):
    submissions = serializers.ListField(
        child=serializers.CharField(), help_text="The ids queued for grading again."
    )


class FeedbackReleasedSerializer(serializers.Serializer):
    released = serializers.ListField(
        child=serializers.CharField(), help_text="The ids whose feedback was released now."
    )


# --- Query parameters (read with lms.api.query.read_query) --------------------------------


def _only(help_text: str) -> serializers.CharField:
    """A filter by name: left out, it filters nothing; given empty (``?user=``), it is a 400,
    not a filter that quietly matches everyone (the schema says ``minLength: 1``)."""
    return serializers.CharField(
        required=False,
        allow_blank=False,
        trim_whitespace=False,
        help_text=help_text,
        error_messages={"blank": "Give a name, or leave the parameter out to filter nothing."},
    )


@extend_schema_field(
    {"type": "array", "items": {"type": "string", "enum": GradeSerializer.Meta.fields}}
)
class GradeFieldNames(serializers.CharField):
    """``?fields=a,b``: read by ``SparseFieldsSerializer``, which refuses an unknown name."""


class FieldsQuery(serializers.Serializer):
    fields = GradeFieldNames(
        required=False,
        allow_blank=True,
        help_text="Only these fields, comma-separated (e.g. submission_id,score); all when "
        "empty or left out.",
    )


class EnrollmentQuery(serializers.Serializer):
    course = _only("Only this course (slug).")
    role = serializers.ChoiceField(
        choices=EnrollmentRole.choices, required=False, help_text="Only this role."
    )
    user = _only("Only this user (username).")


class ProgressQuery(serializers.Serializer):
    course = _only("Only this course (slug).")
    user = _only("Only this user (username).")


class GradeQuery(FieldsQuery):
    course = _only("Only this course (slug).")
    assignment = _only("Only this nbgrader assignment.")
    learner = _only("Only this learner (username).")
    counts = serializers.BooleanField(
        required=False, help_text="Only counting grades (true), or only the others (false)."
    )


class SubmissionsQuery(serializers.Serializer):
    learner = _only("Only this learner (username).")


# --- The course board (lms.community) ---------------------------------------------------------
# The viewer (``lms.community.selectors.Viewer``) is in the context: who sees an author, what
# text of a deleted post, are the selectors' rules, asked here.


class BoardQuery(serializers.Serializer):
    """The filters of a course's thread list, as on the board's page."""

    q = serializers.CharField(
        required=False, max_length=200,
        help_text="Search words (full text: \"a phrase\", or, -word), in titles and posts.",
    )
    anchor = serializers.CharField(
        required=False, max_length=255,
        help_text="Only threads about this lesson or assignment (its slug).",
    )
    kind = serializers.ChoiceField(choices=ThreadKind.choices, required=False)
    unanswered = serializers.BooleanField(required=False, help_text="Only unanswered questions.")
    following = serializers.BooleanField(required=False, help_text="Only threads I follow.")
    mine = serializers.BooleanField(required=False, help_text="Only threads I started.")


class _ShownAuthor(serializers.Serializer):
    author = serializers.SerializerMethodField(
        help_text="The author's username; null when anonymous to the caller."
    )

    def get_author(self, item) -> str | None:
        viewer = self.context["viewer"]
        return item.author.username if board_selectors.shows_author(viewer, item) else None


class CommentSerializer(_ShownAuthor, serializers.ModelSerializer):
    """A post as the caller sees it: ``html`` is the rendered text (or why it is not shown);
    ``body`` (the Markdown) is null where the caller may not read it (a deleted post)."""

    html = serializers.SerializerMethodField()
    body = serializers.SerializerMethodField()
    deleted = serializers.BooleanField(source="is_deleted", read_only=True)
    vote_count = serializers.IntegerField(read_only=True)
    voted = serializers.BooleanField(read_only=True, help_text="The caller upvoted it.")
    may_edit = serializers.SerializerMethodField(help_text="The caller may edit and delete it.")

    class Meta:
        model = Post
        fields = [
            "id", "kind", "parent", "author", "anonymous", "body", "html", "status", "endorsed",
            "hidden", "deleted", "created_at", "edited_at", "vote_count", "voted", "may_edit",
        ]
        read_only_fields = fields

    def get_html(self, post) -> str:
        return board_selectors.shown_html(self.context["viewer"], post)

    def get_body(self, post) -> str | None:
        viewer = self.context["viewer"]
        return None if post.is_deleted and not viewer.is_moderator else post.body

    def get_may_edit(self, post) -> bool:
        return board_selectors.may_edit(self.context["viewer"], post)


class PostSerializer(CommentSerializer):
    """The opening post or an answer, with its comments."""

    comments = CommentSerializer(many=True, read_only=True, source="comment_list")

    class Meta(CommentSerializer.Meta):
        fields = [*CommentSerializer.Meta.fields, "comments"]
        read_only_fields = fields


class PostedSerializer(CommentSerializer):
    held = serializers.CharField(
        allow_null=True, read_only=True,
        help_text="Why the post is held for the instructors' review (it may show a solution); "
        "null when it is published.",
    )

    class Meta(CommentSerializer.Meta):
        fields = [*CommentSerializer.Meta.fields, "held"]
        read_only_fields = fields


class ThreadSerializer(_ShownAuthor, serializers.ModelSerializer):
    anchor = serializers.SlugRelatedField(
        source="anchor_page", slug_field="slug", read_only=True, allow_null=True,
        help_text="The lesson or assignment (its slug) the thread is about; null for none.",
    )
    reply_count = serializers.IntegerField(read_only=True)
    vote_count = serializers.IntegerField(read_only=True, help_text="Upvotes of its question.")
    following = serializers.BooleanField(source="is_following", read_only=True)
    url = serializers.SerializerMethodField(help_text="The thread's page on the LMS site.")

    class Meta:
        model = Thread
        fields = [
            "id", "kind", "title", "author", "anonymous", "private", "anchor", "anchor_cell",
            "pinned", "locked", "answered", "hidden", "created_at", "last_activity_at",
            "reply_count", "vote_count", "following", "url",
        ]
        read_only_fields = fields

    def get_url(self, thread) -> str:
        path = reverse("community-thread", args=[self.context["viewer"].course.slug, thread.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


class ThreadDetailSerializer(ThreadSerializer):
    posts = PostSerializer(
        many=True, read_only=True, source="post_list",
        help_text="The opening post first, then the answers (endorsed first, then by votes), "
        "each with its comments.",
    )
    may_mark_answered = serializers.SerializerMethodField()

    class Meta(ThreadSerializer.Meta):
        fields = [*ThreadSerializer.Meta.fields, "may_mark_answered", "posts"]
        read_only_fields = fields

    def get_may_mark_answered(self, thread) -> bool:
        return board_selectors.may_mark_answered(self.context["viewer"], thread)


class ThreadCreatedSerializer(ThreadDetailSerializer):
    held = serializers.CharField(
        allow_null=True, read_only=True,
        help_text="Why the opening post is held for the instructors' review; null when "
        "it is published.",
    )

    class Meta(ThreadDetailSerializer.Meta):
        fields = [*ThreadDetailSerializer.Meta.fields, "held"]
        read_only_fields = fields


class ThreadWriteSerializer(serializers.Serializer):
    """A new thread. Length, rate, ban, announcement and held-solution rules are the board's
    (``lms.community.services``): a refusal is a 400, 403 or 429 with its sentence."""

    kind = serializers.ChoiceField(choices=ThreadKind.choices)
    title = serializers.CharField(max_length=200)
    body = serializers.CharField(help_text="Markdown.")
    anonymous = serializers.BooleanField(default=False)
    private = serializers.BooleanField(
        default=False, help_text="Only the course's instructors (and staff) see it."
    )
    anchor = serializers.CharField(
        required=False, max_length=255,
        help_text="A lesson or assignment of the course (its slug).",
    )
    cell = serializers.CharField(required=False, max_length=100, help_text="A notebook cell id.")


class ReplyWriteSerializer(serializers.Serializer):
    body = serializers.CharField(help_text="Markdown.")
    parent = serializers.IntegerField(
        required=False, min_value=1, max_value=LARGEST_PAGE_NUMBER,
        help_text="Comment on this post (the question or an answer); without it, an answer.",
    )
    anonymous = serializers.BooleanField(default=False)


class PostEditSerializer(serializers.Serializer):
    body = serializers.CharField(help_text="Markdown: the post's new text.")


class ReportWriteSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


class ReviewWriteSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(
        choices=[("approve", "Publish the held post"),
                 ("reject", "Reject it (its author still sees it)")],
    )


class MoveWriteSerializer(serializers.Serializer):
    course = serializers.CharField(
        required=False, max_length=255,
        help_text="Move to this course's board (staff, or an instructor of both courses).",
    )
    anchor = serializers.CharField(
        required=False, max_length=255,
        help_text="A lesson or assignment (its slug) of the course the thread ends up in; "
        "without it, the course in general.",
    )


class BanSerializer(serializers.ModelSerializer):
    user = serializers.SlugRelatedField(slug_field="username", read_only=True)
    banned_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Ban
        fields = ["id", "user", "until", "reason", "banned_by", "created_at"]
        read_only_fields = fields


class BanWriteSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    days = serializers.IntegerField(min_value=1, max_value=365)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500)


class ReportSerializer(serializers.ModelSerializer):
    thread = serializers.IntegerField(source="post.thread_id", read_only=True)
    reporter = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Report
        fields = ["id", "post", "thread", "reporter", "reason", "created_at"]
        read_only_fields = fields


class HeldPostSerializer(serializers.ModelSerializer):
    """A post waiting for review: moderators always see its author."""

    author = serializers.SlugRelatedField(slug_field="username", read_only=True)
    thread_title = serializers.CharField(source="thread.title", read_only=True)

    class Meta:
        model = Post
        fields = ["id", "thread", "thread_title", "kind", "author", "body", "html", "held_for",
                  "created_at"]
        read_only_fields = fields


class AuditEntrySerializer(serializers.ModelSerializer):
    actor = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    subject = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = AuditEntry
        fields = ["id", "created_at", "actor", "action", "thread", "post", "subject", "detail"]
        read_only_fields = fields
