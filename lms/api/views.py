"""API v1 views: thin. Each asks a selector what the caller may see and a service to write.

Who may do what (anonymous callers always get 401, see ``lms.api.base``):

=========================================  =================================================
``GET me/``                                 any signed-in user (themselves)
``GET courses/``, ``courses/{slug}/``       any signed-in user (live courses)
``POST courses/{slug}/enroll/``             any signed-in user, where enrollment is open
``POST courses/{slug}/leave/``              any signed-in user (their own enrollment)
``GET courses/{slug}/gradebook/``           the course's instructors, staff
``GET courses/{slug}/grades.csv``           the course's instructors, staff (the LMS's grades)
``GET courses/{slug}/lessons/``             any signed-in user (live lessons)
``GET courses/{slug}/assignments/``         any signed-in user: released assignments; the
                                            course's instructors and staff also unreleased
                                            ones; hints and tutor policy for the course's
                                            enrolled people and staff only (null otherwise)
``POST|DELETE …/{name}/release/``           the course's instructors, staff: release and
                                            unrelease in the grader (``…`` is
                                            ``courses/{slug}/assignments``)
``GET …/{name}/submissions/``               the course's instructors, staff (from the grader)
``POST …/{name}/regrade/``, ``feedback/``   the course's instructors, staff (in the grader)
``GET enrollments/``                        own; instructors also their courses'; staff all
``GET progress/``                           own; instructors also their courses'; staff all
``POST|PUT progress/``                      a learner of the course, for themselves
``GET grades/``                             own; instructors also their courses'; staff all
``POST|PUT grades/``                        the grader service account only
``…/threads/``, ``…/posts/`` (board)        the course's members and staff; moderation
                                            (pin, lock, hide, endorse, move, review, reports,
                                            audit, bans) its instructors and staff: see
                                            ``lms.api.board`` (``…`` is ``courses/{slug}``)
=========================================  =================================================
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.utils.functional import cached_property
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from lms.courses.models import AssignmentPage, CoursePage, Enrollment, LessonPage, LessonProgress
from lms.courses.selectors import (
    assignments_visible_to,
    courses_for_api,
    enrollment_of,
    enrollments_visible_to,
    in_course,
    is_learner,
    live_courses,
    live_lessons,
    progress_visible_to,
    sees_assignment_details,
)
from lms.courses.services import leave, mark_lesson_completed, mark_lesson_opened, self_enroll
from lms.gradebook.models import Grade
from lms.gradebook.selectors import (
    course_gradebook,
    grade_distribution,
    grader_submissions,
    grades_csv,
    grades_in_course,
    grades_visible_to,
    grades_with_details,
    may_manage_grading,
    submission_target,
)
from lms.gradebook.services import (
    record_grade,
    regrade_submissions,
    release_assignment,
    release_feedback,
    unrelease_assignment,
)

from . import serializers
from .base import SEGMENT_WITH_DOTS, StudioAPIMixin
from .permissions import CanPushGrades, ManagesGrading
from .query import read_query
from .renderers import CSVRenderer
from .schema import GraderErrorSerializer
from .throttling import EnrollmentRateThrottle

COURSE_IN_PATH = OpenApiParameter(
    "course_slug", str, OpenApiParameter.PATH, description="The course slug."
)
GRADER_ERRORS = {
    403: OpenApiResponse(description="Only the course's instructors (and staff)."),
    404: OpenApiResponse(
        GraderErrorSerializer,
        "No such assignment (or course) in the LMS, or the grader refused: not released.",
    ),
    409: OpenApiResponse(
        GraderErrorSerializer, "The grader refused: the course file cannot be used."
    ),
    502: OpenApiResponse(GraderErrorSerializer, "The grader refused the LMS's credentials."),
    503: OpenApiResponse(
        GraderErrorSerializer, "No grader is configured, or it cannot be reached."
    ),
    504: OpenApiResponse(GraderErrorSerializer, "The grader did not answer in time."),
}
GRADER_ERRORS_TEXT = (
    " Errors carry the grader's message in `detail` and its code in `grader_error`; a refusal "
    "by the grader keeps its status (e.g. 404: not released)."
)


class NotFoundView(StudioAPIMixin, APIView):
    """Any path below the API's prefix that no route matches: 404, in JSON."""

    schema = None  # not an operation

    def get(self, request, *args, **kwargs):
        raise NotFound()

    post = put = patch = delete = options = get


class MeView(StudioAPIMixin, APIView):
    """The caller: who they are and their hub groups."""

    @extend_schema(responses=serializers.MeSerializer)
    def get(self, request):
        return Response(serializers.MeSerializer(request.user).data)


class CourseViewSet(StudioAPIMixin, viewsets.ReadOnlyModelViewSet):
    """Live courses (the catalogue), each with the caller's role in it."""

    serializer_class = serializers.CourseSerializer
    lookup_field = "slug"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return CoursePage.objects.none()
        return courses_for_api(self.request.user)

    def get_throttles(self):
        throttles = super().get_throttles()
        if self.action in {"enroll", "leave"}:
            throttles.append(EnrollmentRateThrottle())
        return throttles

    @extend_schema(
        request=None,
        responses={
            200: serializers.EnrollmentSerializer,
            201: serializers.EnrollmentSerializer,
            403: OpenApiResponse(description="Enrollment in this course is closed."),
        },
    )
    @action(detail=True, methods=["post"])
    def enroll(self, request, slug=None):
        """Enroll the caller as a learner (201); already enrolled: unchanged (200)."""
        course = self.get_object()
        already = enrollment_of(request.user, course) is not None
        enrollment = self_enroll(request.user, course)
        return Response(
            serializers.EnrollmentSerializer(enrollment).data,
            status=status.HTTP_200_OK if already else status.HTTP_201_CREATED,
        )

    @extend_schema(request=None, responses={204: None})
    @action(detail=True, methods=["post"])
    def leave(self, request, slug=None):
        """Leave the course (also when not enrolled). Grades stay in the gradebook."""
        leave(request.user, self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        responses={
            200: serializers.GradebookSerializer,
            403: OpenApiResponse(description="Only the course's instructors (and staff)."),
        }
    )
    @action(detail=True, methods=["get"])
    def gradebook(self, request, slug=None):
        """Learners x assignments with the counting grades, and each assignment's grade
        distribution. The course's instructors and staff only."""
        course = self.get_object()
        if not may_manage_grading(request.user, course):
            raise PermissionDenied("Only the course's instructors see its gradebook.")
        book = course_gradebook(course)
        distribution = grade_distribution(book.assignments)
        data = {
            "course": course,
            "points": book.points,
            "assignments": [
                {
                    "nbgrader_name": a.nbgrader_name,
                    "title": a.title,
                    "points": a.points,
                    "due_at": a.due_at,
                    "distribution": distribution[a.pk],
                }
                for a in book.assignments
            ],
            "rows": book.rows,
        }
        return Response(serializers.GradebookSerializer(data).data)

    @extend_schema(
        responses={
            (200, "text/csv"): OpenApiTypes.STR,
            403: OpenApiResponse(description="Only the course's instructors (and staff)."),
        },
        description="The grade export: the grade that counts of each learner x assignment, as "
        "the gradebook shows it, as CSV (also at `courses/{slug}/grades.csv`). Columns: course, "
        "assignment (nbgrader name), learner, submission_id, submitted_at (ISO 8601, UTC), late "
        "(yes/no), days_late (started days), score, max_score, late_penalty, final_score "
        "(decimals with two places). The course's instructors and staff only.",
    )
    @action(detail=True, methods=["get"], renderer_classes=[CSVRenderer])
    def grades(self, request, slug=None, **kwargs):
        export = grades_csv(request.user, self.get_object())
        response = Response(export.content, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
        return response

    def finalize_response(self, request, response, *args, **kwargs):
        # The CSV export's errors are JSON like every other error of the API.
        if self.action == "grades" and isinstance(response, Response) and response.exception:
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)


class CourseChildViewSet(StudioAPIMixin, viewsets.ReadOnlyModelViewSet):
    """Pages under ``courses/{course_slug}/``: the course must be live."""

    @cached_property
    def course(self) -> CoursePage:
        return get_object_or_404(live_courses(), slug=self.kwargs["course_slug"])


@extend_schema_view(
    list=extend_schema(parameters=[COURSE_IN_PATH]),
    retrieve=extend_schema(parameters=[COURSE_IN_PATH]),
)
class LessonViewSet(CourseChildViewSet):
    """The course's live lessons, in course order."""

    serializer_class = serializers.LessonSerializer
    lookup_field = "slug"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return LessonPage.objects.none()
        return live_lessons(self.course).defer_streamfields()


@extend_schema_view(
    list=extend_schema(parameters=[COURSE_IN_PATH]),
    retrieve=extend_schema(parameters=[COURSE_IN_PATH]),
)
class AssignmentViewSet(CourseChildViewSet):
    """The course's assignments the caller may see, soonest due first, by nbgrader name.

    The course's instructors (and staff) also act on the grader from here: release (``POST
    release/``, with the assignment page's due date and late policy) and unrelease (``DELETE
    release/``), the submissions, regrade and release feedback. The LMS calls the grader for
    them (``lms.gradebook.grader``)."""

    serializer_class = serializers.AssignmentSerializer
    lookup_field = "nbgrader_name"
    lookup_value_regex = SEGMENT_WITH_DOTS
    grading_actions = frozenset({"release", "submissions", "regrade", "feedback"})

    def get_permissions(self):
        if self.action in self.grading_actions:
            return [*super().get_permissions(), ManagesGrading()]
        return super().get_permissions()

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return AssignmentPage.objects.none()
        return assignments_visible_to(self.request.user, self.course)

    @extend_schema(
        methods=["POST"],
        parameters=[COURSE_IN_PATH],
        request=None,
        responses={200: serializers.ReleaseSerializer, 201: serializers.ReleaseSerializer}
        | GRADER_ERRORS,
        description="Release the assignment to learners (201), or again (200) with the "
        "assignment page's current due date and late policy." + GRADER_ERRORS_TEXT,
    )
    @extend_schema(
        methods=["DELETE"],
        parameters=[COURSE_IN_PATH],
        responses={204: None} | GRADER_ERRORS,
        description="Withdraw the assignment from learners; the grader keeps their "
        "submissions." + GRADER_ERRORS_TEXT,
    )
    @action(detail=True, methods=["post", "delete"])
    def release(self, request, course_slug=None, nbgrader_name=None):
        assignment = self.get_object()
        if request.method == "DELETE":
            unrelease_assignment(request.user, assignment)
            return Response(status=status.HTTP_204_NO_CONTENT)
        release = release_assignment(request.user, assignment)
        return Response(
            serializers.ReleaseSerializer(release).data,
            status=status.HTTP_201_CREATED if release.created else status.HTTP_200_OK,
        )

    @extend_schema(
        parameters=[COURSE_IN_PATH, serializers.SubmissionsQuery],
        responses={200: serializers.GraderSubmissionsSerializer} | GRADER_ERRORS,
        description="Every learner's submissions, as the grader has them." + GRADER_ERRORS_TEXT,
    )
    @action(detail=True, methods=["get"])
    def submissions(self, request, course_slug=None, nbgrader_name=None):
        learner = read_query(request, serializers.SubmissionsQuery).get("learner") or None
        found = grader_submissions(request.user, self.get_object(), self.course, learner)
        return Response(serializers.GraderSubmissionsSerializer({"submissions": found}).data)

    @extend_schema(
        parameters=[COURSE_IN_PATH],
        request=serializers.RegradeSerializer,
        responses={202: serializers.QueuedSerializer} | GRADER_ERRORS,
        description="Queue every submission (or the named ones) for autograding again; those "
        "already waiting are left alone." + GRADER_ERRORS_TEXT,
    )
    # JSON only: an unreadable form would read as empty, which asks to regrade everything.
    @action(detail=True, methods=["post"], parser_classes=[JSONParser])
    def regrade(self, request, course_slug=None, nbgrader_name=None):
        assignment = self.get_object()
        payload = serializers.RegradeSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        queued = regrade_submissions(
            request.user, assignment, payload.validated_data.get("submissions")
        )
        return Response({"submissions": queued}, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        parameters=[COURSE_IN_PATH],
        request=None,
        responses={200: serializers.FeedbackReleasedSerializer} | GRADER_ERRORS,
        description="Release the feedback of every graded submission to its learner."
        + GRADER_ERRORS_TEXT,
    )
    @action(detail=True, methods=["post"])
    def feedback(self, request, course_slug=None, nbgrader_name=None):
        released = release_feedback(request.user, self.get_object())
        return Response({"released": released})

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if not getattr(self, "swagger_fake_view", False):
            context["show_details"] = sees_assignment_details(self.request.user, self.course)
        return context


@extend_schema_view(list=extend_schema(parameters=[serializers.EnrollmentQuery]))
class EnrollmentViewSet(StudioAPIMixin, viewsets.ReadOnlyModelViewSet):
    """Enrollments: the caller's own; instructors also their courses'; staff all."""

    serializer_class = serializers.EnrollmentSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Enrollment.objects.none()
        enrollments = enrollments_visible_to(self.request.user)
        if self.action == "list":
            params = read_query(self.request, serializers.EnrollmentQuery)
            if course := params.get("course"):
                enrollments = enrollments.filter(course__slug=course)
            if role := params.get("role"):
                enrollments = enrollments.filter(role=role)
            if user := params.get("user"):
                enrollments = enrollments.filter(user__username=user)
        return enrollments


def _course_by_slug(slug: str) -> CoursePage | None:
    return CoursePage.objects.filter(slug=slug).first()


@extend_schema_view(list=extend_schema(parameters=[serializers.ProgressQuery]))
class ProgressViewSet(StudioAPIMixin, viewsets.ReadOnlyModelViewSet):
    """Lesson progress: the caller's own; instructors also their courses' learners'; staff all.

    Writing is for a course's learners, about themselves, naming the lesson in the body:
    ``POST`` records an event (``opened``: a visit, which never undoes a completion;
    ``completed``: done); ``PUT`` sets the state (``opened``: not done (again); ``completed``:
    done). Both answer 200 with the lesson's progress."""

    serializer_class = serializers.ProgressSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return LessonProgress.objects.none()
        progress = progress_visible_to(self.request.user)
        if self.action == "list":
            params = read_query(self.request, serializers.ProgressQuery)
            if slug := params.get("course"):
                course = _course_by_slug(slug)
                progress = (
                    progress.filter(in_course(course, "lesson")) if course else progress.none()
                )
            if user := params.get("user"):
                progress = progress.filter(user__username=user)
        return progress

    def _write(self, request, *, set_state: bool) -> Response:
        payload = serializers.ProgressWriteSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        course = live_courses().filter(slug=data["course"]).first()
        lesson = live_lessons(course).filter(slug=data["lesson"]).first() if course else None
        if lesson is None:
            raise ValidationError(
                {"lesson": f"No live lesson {data['lesson']!r} in a course {data['course']!r}."}
            )
        if not is_learner(enrollment_of(request.user, course)):
            raise PermissionDenied("Only the course's learners record lesson progress.")
        completed = data["status"] == "completed"
        if completed or set_state:
            progress = mark_lesson_completed(request.user, lesson, completed=completed)
        else:
            progress = mark_lesson_opened(request.user, lesson)
        progress = progress_visible_to(request.user).get(pk=progress.pk)
        return Response(serializers.ProgressSerializer(progress).data)

    @extend_schema(
        request=serializers.ProgressWriteSerializer,
        responses={200: serializers.ProgressSerializer},
        description="Record that the caller opened or completed a lesson.",
    )
    def create(self, request):
        return self._write(request, set_state=False)

    @extend_schema(
        request=serializers.ProgressWriteSerializer,
        responses=serializers.ProgressSerializer,
        description="Set the caller's state of a lesson: opened (not done) or completed.",
    )
    def put_collection(self, request):
        return self._write(request, set_state=True)


@extend_schema_view(
    list=extend_schema(parameters=[serializers.GradeQuery]),
    retrieve=extend_schema(parameters=[serializers.FieldsQuery]),
)
class GradeViewSet(StudioAPIMixin, viewsets.ReadOnlyModelViewSet):
    """Grades: the caller's own; instructors also their courses'; staff all. Others' grades are
    absent from lists and 404 on detail.

    The grader service writes with ``POST`` or ``PUT`` (the same, idempotent): the body names
    course, assignment (nbgrader name), learner and submission_id; the first push of a
    submission answers 201, later ones update the same grade and answer 200. The LMS decides
    lateness, penalty and which grade counts (see ``lms.gradebook.services``)."""

    serializer_class = serializers.GradeSerializer

    def get_permissions(self):
        if self.action in {"create", "put_collection"}:
            return [*super().get_permissions(), CanPushGrades()]
        return super().get_permissions()

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Grade.objects.none()
        grades = grades_visible_to(self.request.user)
        if self.action == "list":
            params = read_query(self.request, serializers.GradeQuery)
            if slug := params.get("course"):
                course = _course_by_slug(slug)
                grades = grades_in_course(grades, course) if course else grades.none()
            if assignment := params.get("assignment"):
                grades = grades.filter(assignment__nbgrader_name=assignment)
            if learner := params.get("learner"):
                grades = grades.filter(learner__username=learner)
            if (counts := params.get("counts")) is not None:
                grades = grades.filter(counts=counts)
        else:
            read_query(self.request, serializers.FieldsQuery)
        return self._without_unasked_feedback(grades)

    def _without_unasked_feedback(self, grades):
        """Grades asked for with ``?fields=`` but not ``feedback_html`` do not read their
        feedback pages (~0.3 MB of HTML each) from the database either."""
        fields = serializers.requested_fields(self.request)
        if fields is None or "feedback_html" in fields:
            return grades
        return grades.defer("feedback_html")

    def _write(self, request) -> Response:
        read_query(request, serializers.FieldsQuery)
        payload = serializers.GradeWriteSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        context = {"request": request}
        serializers.GradeSerializer(context=context)  # an unknown ?fields= name: 400, unwritten
        target = submission_target(data["course"], data["assignment"], data["learner"])
        grade, created = record_grade(
            assignment=target.assignment,
            learner=target.learner,
            submission_id=data["submission_id"],
            score=data["score"],
            max_score=data["max_score"],
            status=data["status"],
            submitted_at=data["submitted_at"],
            graded_at=data.get("graded_at"),
            feedback_html=data.get("feedback_html", ""),
            breakdown=data.get("breakdown", []),
        )
        grade = self._without_unasked_feedback(grades_with_details()).get(pk=grade.pk)
        return Response(
            serializers.GradeSerializer(grade, context=context).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    @extend_schema(
        request=serializers.GradeWriteSerializer,
        responses={200: serializers.GradeSerializer, 201: serializers.GradeSerializer},
        parameters=[serializers.FieldsQuery],
        description="Record a graded submission (grader service only); idempotent.",
    )
    def create(self, request):
        return self._write(request)

    @extend_schema(
        request=serializers.GradeWriteSerializer,
        responses={200: serializers.GradeSerializer, 201: serializers.GradeSerializer},
        parameters=[serializers.FieldsQuery],
        description="The same as POST: record a graded submission (grader service only).",
    )
    def put_collection(self, request):
        return self._write(request)
