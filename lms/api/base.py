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
from rest_framework.permissions import IsAuthenticated
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler

from lms.gradebook.grader import GraderError, GraderNotConfigured, GraderRefused, GraderUnavailable

AUTHENTICATION_CLASSES = [TokenAuthentication, OAuth2Authentication, SessionAuthentication]


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
    its ``PermissionDenied`` a 403 that keeps its message (DRF's own drops it), and a
    ``GraderError`` the grader's message with ``grader_error`` (its code)."""
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(as_serializer_error(exc))
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, GraderError):
        exc = GraderFailed(exc)
    response = exception_handler(exc, context)
    if isinstance(exc, GraderFailed) and response is not None:
        response.data["grader_error"] = exc.get_codes()
    return response


class StudioAPIMixin:
    """Mixed into every API view: the authentication order above, authenticated callers only,
    and the exception handler."""

    authentication_classes = AUTHENTICATION_CLASSES
    permission_classes = [IsAuthenticated]

    def get_exception_handler(self):
        return api_exception_handler
