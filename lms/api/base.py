"""What every API view shares: how callers authenticate and how domain errors become HTTP.

Authentication order matters only for the challenge an anonymous caller gets: DRF answers 401
with the ``WWW-Authenticate`` header of the *first* authentication class, and 403 when that class
has none (session authentication has none). Token authentication comes first, so an anonymous
request always gets **401** with ``WWW-Authenticate: Token``. The three methods:

- ``Authorization: Token <key>``: DRF tokens (the grader service account; scripts);
- ``Authorization: Bearer <access token>``: OAuth2/OIDC access tokens issued by this LMS
  (e.g. to the hub); any granted scope may read what its user may read;
- the browser session (the browsable API), with Django's CSRF check on writes.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from oauth2_provider.contrib.rest_framework import OAuth2Authentication
from rest_framework import exceptions
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.metadata import SimpleMetadata
from rest_framework.permissions import IsAuthenticated
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler

from lms.community.services import PostingTooFast
from lms.gradebook.grader import GraderError, GraderNotConfigured, GraderRefused, GraderUnavailable

from .query import StudioPagination
from .schema import StudioAutoSchema

AUTHENTICATION_CLASSES = [TokenAuthentication, OAuth2Authentication, SessionAuthentication]

# What a path segment may hold to name something: no slash, no dot (DRF's default; a format
# suffix follows a dot) and no NUL, which PostgreSQL cannot compare with. A path with anything
# else matches no route: a 404 (lms.api.urls), never a database error.
SEGMENT = r"[^/.\x00]+"
# The same, dots allowed (nbgrader names may have them).
SEGMENT_WITH_DOTS = r"[^/\x00]+"


class GraderFailed(exceptions.APIException):
    """The grader could not do what an instructor asked: its message, with a fitting status."""

    def __init__(self, error: GraderError) -> None:
        super().__init__(error.message, code=_grader_code(error))
        self.status_code = _grader_status(error)


def _grader_status(error: GraderError) -> int:
    """The grader's own 4xx (400, 404, 409...) for a refusal; 502 when it refused the LMS's
    credentials (the caller is not to blame); 503 when it is missing or down; 504 on timeout."""
    if isinstance(error, GraderUnavailable):
        return 504 if error.timed_out else 503
    if isinstance(error, GraderNotConfigured):
        return 503
    if isinstance(error, GraderRefused) and error.status not in {401, 403}:
        return error.status
    return 502


def _grader_code(error: GraderError) -> str:
    if isinstance(error, GraderRefused):
        return error.code
    return "grader-not-configured" if isinstance(error, GraderNotConfigured) else "grader-down"


def api_exception_handler(exc, context):
    """DRF's handler, plus: a service's ``ValidationError`` is a 400 with its messages by field,
    its ``PermissionDenied`` a 403 that keeps its message (DRF's own drops it), a
    ``GraderError`` the grader's message with ``grader_error`` (its code), and the board's
    ``PostingTooFast`` a 429 with its sentence and ``Retry-After``."""
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(as_serializer_error(exc))
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, GraderError):
        exc = GraderFailed(exc)
    elif isinstance(exc, PostingTooFast):
        wait, exc = exc.wait, exceptions.Throttled(detail=str(exc))
        exc.wait = wait  # Retry-After; the sentence already says how long
    response = exception_handler(exc, context)
    if isinstance(exc, GraderFailed) and response is not None:
        response.data["grader_error"] = exc.get_codes()
    return response


class StudioMetadata(SimpleMetadata):
    """DRF's answer to ``OPTIONS``, also on a collection with ``PUT`` (the router's upserts,
    ``lms.api.routers``): DRF asks for the object a ``PUT`` would replace, and a collection has
    none (DRF's question there was a 500)."""

    def determine_actions(self, request, view):
        lookup = getattr(view, "lookup_url_kwarg", None) or getattr(view, "lookup_field", None)
        if lookup and lookup not in view.kwargs:
            view.get_object = lambda: None  # this request's view instance only
        return super().determine_actions(request, view)


class StudioAPIMixin:
    """Mixed into every API view: the authentication order above, authenticated callers only,
    the exception handler, ``OPTIONS`` answers, path segments that can name something,
    pagination that refuses an invalid ``limit`` or ``offset`` (``lms.api.query``) and the
    schema's error answers (``lms.api.schema``)."""

    authentication_classes = AUTHENTICATION_CLASSES
    permission_classes = [IsAuthenticated]
    lookup_value_regex = SEGMENT
    pagination_class = StudioPagination
    metadata_class = StudioMetadata
    schema = StudioAutoSchema()

    def get_exception_handler(self):
        return api_exception_handler
