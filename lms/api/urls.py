"""API v1, mounted at /api/v1/ (a contract: see docs/architecture.md). Names are in the ``api``
namespace (``api:course-list``, ``api:schema``...)."""

from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView

from . import board, notifications, views
from .base import SEGMENT
from .docs import SwaggerDocsView
from .routers import StudioRouter

app_name = "api"

# Passed to the schema view (not global settings): enum names, and the LMS's own OAuth2
# authorization-code flow (PKCE) for bearer tokens.
SCHEMA_SETTINGS = {
    "OAUTH2_FLOWS": ["authorizationCode"],
    "OAUTH2_AUTHORIZATION_URL": "/o/authorize/",
    "OAUTH2_TOKEN_URL": "/o/token/",
    "OAUTH2_REFRESH_URL": "/o/token/",
    # A CharField that refuses "" says so (minLength 1), as DRF checks it.
    "ENFORCE_NON_BLANK_FIELDS": True,
    "ENUM_NAME_OVERRIDES": {
        "GradeStatusEnum": "lms.gradebook.models.GradeStatus",
        "ProgressStatusEnum": "lms.courses.models.ProgressStatus",
        "SubmissionStatusEnum": "lms.gradebook.grader.SUBMISSION_STATUSES",
        "ThreadKindEnum": "lms.community.models.ThreadKind",
        "PostKindEnum": "lms.community.models.PostKind",
        "PostStatusEnum": "lms.community.models.PostStatus",
        "NotificationKindEnum": "lms.notifications.models.Kind",
        "NotificationDeliveryEnum": "lms.notifications.models.Delivery",
    },
}

router = StudioRouter()
router.register("courses", views.CourseViewSet, basename="course")
router.register(
    rf"courses/(?P<course_slug>{SEGMENT})/lessons", views.LessonViewSet, basename="course-lesson"
)
router.register(
    rf"courses/(?P<course_slug>{SEGMENT})/assignments",
    views.AssignmentViewSet,
    basename="course-assignment",
)
BOARD = rf"courses/(?P<course_slug>{SEGMENT})"
router.register(rf"{BOARD}/threads", board.ThreadViewSet, basename="board-thread")
router.register(rf"{BOARD}/posts", board.PostViewSet, basename="board-post")
router.register(rf"{BOARD}/held-posts", board.HeldPostViewSet, basename="board-held-post")
router.register(rf"{BOARD}/reports", board.ReportViewSet, basename="board-report")
router.register(rf"{BOARD}/audit", board.AuditViewSet, basename="board-audit")
router.register(rf"{BOARD}/bans", board.BanViewSet, basename="board-ban")
router.register("enrollments", views.EnrollmentViewSet, basename="enrollment")
router.register("progress", views.ProgressViewSet, basename="progress")
router.register("grades", views.GradeViewSet, basename="grade")
router.register("notifications", notifications.NotificationViewSet, basename="notification")

urlpatterns = [
    path("me/", views.MeView.as_view(), name="me"),
    path(
        "schema/",
        SpectacularAPIView.as_view(urlconf="lms.api.schema_urls", custom_settings=SCHEMA_SETTINGS),
        name="schema",
    ),
    path("docs/", SwaggerDocsView.as_view(), name="docs"),
    *router.urls,
    # Below the API's prefix a path that names nothing is a JSON 404 like the API's own, not
    # the site's HTML page (e.g. a slug with a dot, which no route matches).
    re_path(r"^[\s\S]*/$", views.NotFoundView.as_view(), name="not-found"),
]
