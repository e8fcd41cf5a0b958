"""The course community: a board per course, its threads and posts, and what moderation records.

A **thread** belongs to one course's board, or to one study group's board (``group``, the
``lms.groups`` app's: the group's members see it, the course board never shows it); it is a
question, a discussion or an announcement (instructors and staff only), optionally anchored to
one of the course's lesson or assignment pages (and a notebook cell id, kept as free anchor
data). Its text is its **opening post**; the replies are posts too: **answers** (to a question,
or replies to a discussion) and **comments** (on the opening post or on an answer). Every post
keeps its **revisions**; deleting one is soft
(``deleted_at``: the course's instructors and staff still see what was there).

A post written before an assignment's due date whose code matches one of the assignment's
solutions is **held** (``status``), shown to its author and the course's instructors only until
an instructor approves or rejects it (``lms.community.solutions``).

Moderation: **reports** of posts, **bans** from posting for a time, and the **audit log** of
what instructors and staff did on the board. The rules are in ``services`` (writes) and
``selectors`` (who sees what).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import Q
from django.utils import timezone
from wagtail.models import Page

from lms.courses.models import CoursePage


class ThreadKind(models.TextChoices):
    QUESTION = "question", "Question"
    DISCUSSION = "discussion", "Discussion"
    ANNOUNCEMENT = "announcement", "Announcement"


class PostKind(models.TextChoices):
    OPENING = "opening", "Opening post"
    ANSWER = "answer", "Answer"
    COMMENT = "comment", "Comment"


class PostStatus(models.TextChoices):
    PUBLISHED = "published", "Published"
    HELD = "held", "Held for review (may show a solution)"
    REJECTED = "rejected", "Rejected by an instructor"


# The opening posts that keep their thread off learners' boards: deleted (from all but the
# moderators) or not published, held or rejected (from all but their author and the
# moderators). Few, so the board asks for them (``selectors``) through the small partial index
# ``Post.Meta`` keeps of them, instead of joining every thread to its opening post: on a board
# of thousands of threads that join, not the threads, was the cost of counting them.
OPENING_NOT_PUBLIC = Q(kind=PostKind.OPENING) & (
    Q(deleted_at__isnull=False) | ~Q(status=PostStatus.PUBLISHED)
)


class Thread(models.Model):
    course = models.ForeignKey(CoursePage, on_delete=models.CASCADE, related_name="threads")
    kind = models.CharField(max_length=16, choices=ThreadKind.choices)
    title = models.CharField(max_length=200)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="threads"
    )
    anonymous = models.BooleanField(
        default=False, help_text="Classmates do not see who asked; instructors and staff do."
    )
    private = models.BooleanField(
        default=False, help_text="Only the author and the course's instructors (and staff)."
    )
    group = models.ForeignKey(
        "groups.StudyGroup", null=True, blank=True, on_delete=models.CASCADE,
        related_name="threads",
        help_text="A study group's own board (lms.groups); none: the course's board.",
    )
    anchor_page = models.ForeignKey(
        Page, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="A lesson or assignment page of the course the thread is about.",
    )
    anchor_cell = models.CharField(
        max_length=100, blank=True, help_text="A notebook cell id (free anchor data)."
    )
    opening_post = models.OneToOneField(
        "Post", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    pinned = models.BooleanField(default=False)
    locked = models.BooleanField(default=False)
    answered = models.BooleanField(default=False)
    hidden = models.BooleanField(default=False, help_text="Hidden by a moderator.")
    created_at = models.DateTimeField(default=timezone.now)
    last_activity_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["course", "-pinned", "-last_activity_at"]),
            models.Index(fields=["anchor_page"]),
        ]
        ordering = ["-pinned", "-last_activity_at", "-pk"]

    def __str__(self) -> str:
        return self.title


class Post(models.Model):
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="posts")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="comments",
        help_text="The post a comment is on (the opening post or an answer).",
    )
    kind = models.CharField(max_length=16, choices=PostKind.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="community_posts"
    )
    anonymous = models.BooleanField(default=False)
    body = models.TextField(help_text="Markdown, as written.")
    html = models.TextField(help_text="The body rendered and sanitised (lms.community.markup).")
    status = models.CharField(
        max_length=16, choices=PostStatus.choices, default=PostStatus.PUBLISHED
    )
    held_for = models.CharField(
        max_length=100, blank=True, help_text="The assignment whose solution the post matched."
    )
    endorsed = models.BooleanField(default=False)
    hidden = models.BooleanField(default=False, help_text="Hidden by a moderator.")
    deleted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    edited_at = models.DateTimeField(null=True, blank=True)
    search_vector = SearchVectorField(
        null=True, editable=False,
        help_text="PostgreSQL only: the thread title and the body, for full-text search.",
    )

    class Meta:
        indexes = [
            models.Index(fields=["thread", "created_at"]),
            models.Index(fields=["author", "created_at"]),
            models.Index(fields=["status"]),
            models.Index(
                fields=["id", "author"], condition=OPENING_NOT_PUBLIC,
                name="community_opening_not_public",
            ),
        ]
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.kind} {self.pk} in {self.thread_id}"

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class PostRevision(models.Model):
    """A post's body before an edit: the history an edit keeps."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="revisions")
    body = models.TextField()
    edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"revision of post {self.post_id}"



class Vote(models.Model):
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="votes")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["post", "user"], name="one_vote_per_user")]

    def __str__(self) -> str:
        return f"{self.user_id} upvotes {self.post_id}"



class Follow(models.Model):
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="follows")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["thread", "user"], name="one_follow_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} follows {self.thread_id}"



class Mention(models.Model):
    """A course member named ``@username`` in a post (only members resolve)."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="mentions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["post", "user"], name="one_mention_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.post_id}"



class Report(models.Model):
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="reports")
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    reason = models.CharField(max_length=500)
    created_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["post", "reporter"], name="one_report_per_user")
        ]
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"report of post {self.post_id}"



class Ban(models.Model):
    """``user`` may not post on ``course``'s board until ``until``."""

    course = models.ForeignKey(CoursePage, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    until = models.DateTimeField()
    reason = models.CharField(max_length=500, blank=True)
    banned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["course", "user", "until"])]

    def __str__(self) -> str:
        return f"{self.user_id} banned until {self.until}"



class AuditEntry(models.Model):
    """What a moderator (or the held-solution review) did on a course's board."""

    course = models.ForeignKey(CoursePage, on_delete=models.CASCADE, related_name="+")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=32)
    thread = models.ForeignKey(Thread, null=True, on_delete=models.SET_NULL, related_name="+")
    post = models.ForeignKey(Post, null=True, on_delete=models.SET_NULL, related_name="+")
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+",
        help_text="The member an action was about (a ban).",
    )
    detail = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["course", "-created_at"])]
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.action} by {self.actor_id}"
