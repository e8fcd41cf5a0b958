"""The error a hub service answers a request with: an HTTP status, a code and a sentence.

A service's rules (``grading.services``, ``tutor.tutoring``, ...) raise :class:`ServiceError`
when they refuse a request; ``servicekit.web`` turns it into the answer
``{"error": code, "message": sentence}`` with ``status`` (and ``headers``, e.g. ``Retry-After``).
Standard library only: the rules raising it need no web framework.
"""

from __future__ import annotations

from collections.abc import Mapping


class ServiceError(Exception):
    """A request the service refuses: ``status`` is the HTTP status, ``code`` the JSON error,
    ``message`` a sentence for the person who asked, ``headers`` extra answer headers."""

    def __init__(
        self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


def not_found(message: str) -> ServiceError:
    return ServiceError(404, "not-found", message)


def invalid(message: str) -> ServiceError:
    return ServiceError(400, "invalid", message)


def forbidden(message: str) -> ServiceError:
    return ServiceError(403, "forbidden", message)
