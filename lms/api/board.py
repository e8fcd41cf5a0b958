"""API v1 of the course board (``lms.community``): threads, posts and moderation under
``courses/{course_slug}/``. Thin, like the board's pages: who may see what is
``lms.community.selectors``', what a write does and who may do it ``lms.community.services``'
(their refusals are 400, 403 and, past the posting rate, 429 with ``Retry-After``:
``lms.api.base``).

Who may call (anonymous callers always get 401; a course that is not live is a 404):

- the course's **members** (learners and instructors) and **staff** read the board and write on
  it as on its pages: threads, replies, edits and deletes of their own posts, votes, follows,
  reports, marking their own question answered;
- the course's **instructors** and **staff** also endorse, pin, lock, hide, restore and move
  (to another course's board: staff, or an instructor of both), review held posts, read the
  reports and the audit log, and ban and lift bans;
- anybody else signed in gets 403 (a thread or post they may not see: 404).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.functional import cached_property
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from lms.community import selectors, services
from lms.community.models import AuditEntry, Ban, Post, PostKind, Report, Thread
from lms.courses.selectors import live_courses

from . import serializers
from .base import StudioAPIMixin
from .permissions import ModeratesTheBoard, ReadsTheBoard
from .query import read_query
from .views import COURSE_IN_PATH

ID = r"[0-9]+"
ON_OFF = "`POST` sets it, `DELETE` unsets it."


class BoardMixin(StudioAPIMixin):
    """A view of one course's board: ``board`` is the caller as that board sees them."""

    permission_classes = [IsAuthenticated, ReadsTheBoard]
    lookup_value_regex = ID

    @cached_property
    def board(self) -> selectors.Viewer:
        return selectors.viewer_of(self.request.user, self.kwargs["course_slug"])

    def context(self) -> dict:
        return {"request": self.request, "viewer": self.board}

    def body(self, serializer_class) -> dict:
        payload = serializer_class(data=self.request.data)
        payload.is_valid(raise_exception=True)
        return payload.validated_data


def _on(request) -> bool:
    return request.method == "POST"


def _detail(v: selectors.Viewer, thread: Thread) -> Thread:
    """``thread`` with the posts ``v`` sees, for ``ThreadDetailSerializer``."""
    thread.post_list = selectors.posts_of(v, thread)
    return thread


def _fresh(post: Post) -> Post:
    """A post just written, as ``CommentSerializer`` reads it (no votes yet)."""
    post.vote_count, post.voted = 0, False
    return post


COURSE = extend_schema(parameters=[COURSE_IN_PATH])


@extend_schema_view(
    list=extend_schema(parameters=[COURSE_IN_PATH, serializers.BoardQuery]),
    retrieve=COURSE,
    follow=COURSE, answered=COURSE, pin=COURSE, lock=COURSE, hide=COURSE,
)
class ThreadViewSet(BoardMixin, viewsets.GenericViewSet):
    """The threads of a course's board the caller sees: pinned first, then the most recently
    active; filtered and searched as on the board's page."""

    queryset = Thread.objects.none()  # the schema's path parameter type; reads use selectors
    serializer_class = serializers.ThreadSerializer

    def list(self, request, course_slug=None):
        params = read_query(request, serializers.BoardQuery)
        v = self.board
        anchor = None
        if "anchor" in params:
            anchor = selectors.anchor_of(v.course, params["anchor"])
        threads = selectors.threads_for(
            v, anchor=anchor, text=params.get("q", ""), kind=params.get("kind", ""),
            unanswered=params.get("unanswered", False),
            following=params.get("following", False), mine=params.get("mine", False),
        )
        if "anchor" in params and anchor is None:
            threads = threads.none()  # no such lesson or assignment: no thread is about it
        page = self.paginate_queryset(threads)
        data = serializers.ThreadSerializer(page, many=True, context=self.context()).data
        return self.get_paginated_response(data)

    @extend_schema(responses=serializers.ThreadDetailSerializer)
    def retrieve(self, request, course_slug=None, pk=None):
        """The thread with its posts: the opening post, then the answers, each with its
        comments."""
        thread = _detail(self.board, selectors.thread_for(self.board, int(pk), counted=True))
        return Response(serializers.ThreadDetailSerializer(thread, context=self.context()).data)

    @extend_schema(
        parameters=[COURSE_IN_PATH],
        request=serializers.ThreadWriteSerializer,
        responses={201: serializers.ThreadCreatedSerializer},
    )
    def create(self, request, course_slug=None):
        """Start a thread. A learner's post that may show a graded exercise's solution before
        its due date is held for the instructors' review: ``held`` says so."""
        data = self.body(serializers.ThreadWriteSerializer)
        v = self.board
        anchor = None
        if "anchor" in data:
            anchor = selectors.anchor_of(v.course, data["anchor"])
            if anchor is None:
                raise DjangoValidationError(
                    {"anchor": ["No lesson or assignment of this course has that slug."]}
                )
        made, held = services.create_thread(
            v, kind=data["kind"], title=data["title"], body=data["body"],
            anonymous=data["anonymous"], private=data["private"], anchor_page=anchor,
            anchor_cell=data.get("cell", ""),
        )
        thread = _detail(v, selectors.thread_for(v, made.pk, counted=True))
        thread.held = held
        return Response(
            serializers.ThreadCreatedSerializer(thread, context=self.context()).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        parameters=[COURSE_IN_PATH],
        request=serializers.ReplyWriteSerializer,
        responses={201: serializers.PostedSerializer},
    )
    @action(detail=True, methods=["post"])
    def replies(self, request, course_slug=None, pk=None):
        """Answer the thread or, with ``parent``, comment on its question or an answer."""
        data = self.body(serializers.ReplyWriteSerializer)
        v = self.board
        thread = selectors.thread_for(v, int(pk))
        parent = None
        if "parent" in data:
            try:
                parent = selectors.post_for(v, data["parent"])
            except Http404:
                parent = None
            if parent is None or parent.thread_id != thread.pk:
                raise DjangoValidationError({"parent": ["No such post in this thread."]})
        post, held = services.reply(
            v, thread, body=data["body"], parent=parent, anonymous=data["anonymous"]
        )
        post.held = held
        return Response(
            serializers.PostedSerializer(_fresh(post), context=self.context()).data,
            status=status.HTTP_201_CREATED,
        )

    def _toggle(self, request, pk, write) -> Response:
        write(self.board, selectors.thread_for(self.board, int(pk)), _on(request))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={204: None}, description="Follow the thread. " + ON_OFF)
    @action(detail=True, methods=["post", "delete"])
    def follow(self, request, course_slug=None, pk=None):
        return self._toggle(request, pk, services.follow)

    @extend_schema(
        request=None, responses={204: None},
        description="Mark the question answered (its author, the instructors). " + ON_OFF,
    )
    @action(detail=True, methods=["post", "delete"])
    def answered(self, request, course_slug=None, pk=None):
        return self._toggle(request, pk, services.mark_answered)

    @extend_schema(request=None, responses={204: None},
                   description="Pin the thread (instructors). " + ON_OFF)
    @action(detail=True, methods=["post", "delete"])
    def pin(self, request, course_slug=None, pk=None):
        return self._toggle(
            request, pk, lambda v, t, on: services.set_thread_flags(v, t, pinned=on)
        )

    @extend_schema(request=None, responses={204: None},
                   description="Lock the thread: no new replies (instructors). " + ON_OFF)
    @action(detail=True, methods=["post", "delete"])
    def lock(self, request, course_slug=None, pk=None):
        return self._toggle(
            request, pk, lambda v, t, on: services.set_thread_flags(v, t, locked=on)
        )

    @extend_schema(request=None, responses={204: None},
                   description="Hide the thread from learners (instructors); `DELETE` "
                   "restores it.")
    @action(detail=True, methods=["post", "delete"])
    def hide(self, request, course_slug=None, pk=None):
        return self._toggle(
            request, pk, lambda v, t, on: services.set_thread_flags(v, t, hidden=on)
        )

    @extend_schema(
        parameters=[COURSE_IN_PATH], request=serializers.MoveWriteSerializer,
        responses={204: None},
    )
    @action(detail=True, methods=["post"])
    def move(self, request, course_slug=None, pk=None):
        """Anchor the thread to another lesson or assignment, or move it to another course's
        board (instructors; between courses: staff, or an instructor of both)."""
        data = self.body(serializers.MoveWriteSerializer)
        v = self.board
        thread = selectors.thread_for(v, int(pk))
        to = v
        if "course" in data:
            other = live_courses().filter(slug=data["course"]).first()
            if other is None:
                raise DjangoValidationError({"course": ["No course has that slug."]})
            to = selectors.viewer(request.user, other)
        anchor = None
        if "anchor" in data:
            anchor = selectors.anchor_of(to.course, data["anchor"])
            if anchor is None:
                raise DjangoValidationError(
                    {"anchor": ["No lesson or assignment of that course has that slug."]}
                )
        services.move_thread(v, thread, anchor, to=to)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    vote=COURSE, endorse=COURSE, hide=COURSE, destroy=COURSE,
)
class PostViewSet(BoardMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """A post of the board (read one in its thread): edit, delete, vote, report; instructors
    also endorse, hide and review held posts."""

    queryset = Post.objects.none()  # the schema's path parameter type; reads use selectors
    serializer_class = serializers.PostedSerializer

    def found(self, pk) -> Post:
        return selectors.post_for(self.board, int(pk))

    @extend_schema(
        parameters=[COURSE_IN_PATH],
        request=serializers.PostEditSerializer,
        responses=serializers.PostedSerializer,
    )
    def partial_update(self, request, course_slug=None, pk=None):
        """Edit the post (its author, the instructors): the old text stays in its history. An
        edit that may show a solution is held again, as a new post would be."""
        data = self.body(serializers.PostEditSerializer)
        held = services.edit_post(self.board, self.found(pk), body=data["body"])
        post = selectors.post_for(self.board, int(pk))
        post.vote_count = post.votes.count()
        post.voted = post.votes.filter(user=request.user.pk).exists()
        post.held = held
        return Response(serializers.PostedSerializer(post, context=self.context()).data)

    def destroy(self, request, course_slug=None, pk=None):
        """Delete the post (its author, the instructors): its place stays in the thread and
        the instructors still see its text. Deleting a thread's question hides the thread
        from learners."""
        services.delete_post(self.board, self.found(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _toggle(self, request, pk, write) -> Response:
        write(self.board, self.found(pk), _on(request))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={204: None},
                   description="Upvote the post (not one's own). " + ON_OFF)
    @action(detail=True, methods=["post", "delete"])
    def vote(self, request, course_slug=None, pk=None):
        return self._toggle(request, pk, services.vote)

    @extend_schema(request=None, responses={204: None},
                   description="Endorse the answer (instructors); a post that is not an "
                   "answer is not found. " + ON_OFF)
    @action(detail=True, methods=["post", "delete"])
    def endorse(self, request, course_slug=None, pk=None):
        answer = selectors.post_for(self.board, int(pk), kind=PostKind.ANSWER)
        services.endorse(self.board, answer, _on(request))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={204: None},
                   description="Hide the post from learners (instructors); `DELETE` "
                   "restores it.")
    @action(detail=True, methods=["post", "delete"])
    def hide(self, request, course_slug=None, pk=None):
        return self._toggle(request, pk, services.set_post_hidden)

    @extend_schema(
        parameters=[COURSE_IN_PATH], request=serializers.ReportWriteSerializer,
        responses={201: serializers.ReportSerializer},
    )
    @action(detail=True, methods=["post"])
    def report(self, request, course_slug=None, pk=None):
        """Report the post to the course's instructors (once per member and post; again
        replaces the reason)."""
        data = self.body(serializers.ReportWriteSerializer)
        made = services.report(self.board, self.found(pk), data["reason"])
        return Response(serializers.ReportSerializer(made).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[COURSE_IN_PATH], request=serializers.ReviewWriteSerializer,
        responses={204: None},
    )
    @action(detail=True, methods=["post"])
    def review(self, request, course_slug=None, pk=None):
        """Publish or reject a post held because it may show a solution (instructors)."""
        data = self.body(serializers.ReviewWriteSerializer)
        services.review(self.board, self.found(pk), approve=data["decision"] == "approve")
        return Response(status=status.HTTP_204_NO_CONTENT)


class ModerationMixin(BoardMixin):
    permission_classes = [IsAuthenticated, ModeratesTheBoard]


@extend_schema_view(list=COURSE)
class HeldPostViewSet(ModerationMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """The review queue: posts held because they may show a solution, oldest first
    (instructors)."""

    serializer_class = serializers.HeldPostSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Post.objects.none()
        return selectors.review_queue(self.board.course)


@extend_schema_view(list=COURSE)
class ReportViewSet(ModerationMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Open reports of the board's posts, newest first (instructors)."""

    serializer_class = serializers.ReportSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Report.objects.none()
        return selectors.open_reports(self.board.course)


@extend_schema_view(list=COURSE)
class AuditViewSet(ModerationMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """The board's audit log, newest first: what its instructors and staff did (hide, restore,
    pin, lock, move, edit and delete of others' posts, endorse, ban, lift, approve, reject)
    (instructors)."""

    serializer_class = serializers.AuditEntrySerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return AuditEntry.objects.none()
        return selectors.audit_log(self.board.course)


@extend_schema_view(list=COURSE, destroy=COURSE)
class BanViewSet(ModerationMixin, mixins.ListModelMixin, mixins.DestroyModelMixin,
                 viewsets.GenericViewSet):
    """Members banned from posting on the board, the bans that have not ended (instructors).
    ``POST`` bans a member for some days; ``DELETE`` lifts a ban now (a ban that has ended is
    not found). A banned member's posts
    are refused (403) with a sentence saying until when, and why."""

    serializer_class = serializers.BanSerializer
    queryset = Ban.objects.none()  # the schema's path parameter type

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Ban.objects.none()
        return selectors.active_bans(self.board.course)

    @extend_schema(
        parameters=[COURSE_IN_PATH], request=serializers.BanWriteSerializer,
        responses={201: serializers.BanSerializer},
    )
    def create(self, request, course_slug=None):
        data = self.body(serializers.BanWriteSerializer)
        member = services.course_member(self.board.course, data["username"])
        made = services.ban(self.board, member, days=data["days"], reason=data.get("reason", ""))
        return Response(serializers.BanSerializer(made).data, status=status.HTTP_201_CREATED)

    def destroy(self, request, course_slug=None, pk=None):
        services.lift_ban(self.board, selectors.ban_for(self.board, int(pk)))
        return Response(status=status.HTTP_204_NO_CONTENT)
