"""Errors the hub shows as readable pages, never as stack traces.

JupyterHub (5 and 6) renders ``jupyterhub_message`` (text) and ``jupyterhub_html_message`` (HTML)
of a ``tornado.web.HTTPError`` on its error page, on the spawn-pending page and in the spawn
progress events, instead of the exception's log message. Each class here sets both.
"""

from __future__ import annotations

from html import escape

from tornado import web


class StudioHTTPError(web.HTTPError):
    """An HTTP error with a message written for the person who sees it."""

    def __init__(
        self,
        status_code: int,
        message: str,
        html_message: str | None = None,
        reason: str | None = None,
    ) -> None:
        # reason: the page's heading and the HTTP reason phrase (ASCII)
        super().__init__(status_code, "%s", message, reason=reason)
        self.jupyterhub_message = message
        self.jupyterhub_html_message = html_message or escape(message)


class NotEnrolled(StudioHTTPError):
    """Signed in through the LMS, but not enrolled in any course (and not staff)."""

    def __init__(self, username: str, catalogue_url: str) -> None:
        message = (
            f"You are signed in as {username}, but you are not enrolled in any course yet. "
            f"Enroll in a course in the course catalogue ({catalogue_url}), then sign in again."
        )
        html = (
            f"You are signed in as <strong>{escape(username)}</strong>, but you are not enrolled "
            f"in any course yet.</p><p>Open the <a href=\"{escape(catalogue_url, quote=True)}\">"
            "course catalogue</a>, choose a course and click <em>Enroll</em>; then come back "
            "here and sign in again."
        )
        super().__init__(403, message, html, reason="Not enrolled in a course")


class LmsUnreachable(StudioHTTPError):
    """The LMS (the sign-on provider) did not answer, or answered with a server error."""

    def __init__(self, lms_url: str, detail: str) -> None:
        self.detail = detail
        message = (
            f"The LMS at {lms_url} cannot be reached right now, so you cannot sign in. "
            "Try again in a minute."
        )
        super().__init__(503, message, reason="The LMS cannot be reached")


class ImageMissing(StudioHTTPError):
    """The notebook image a spawn needs is not on the Docker host."""

    def __init__(self, image: str) -> None:
        message = (
            f"The notebook image {image} is not built on this host. An administrator must "
            "build it first: run images/build notebook (or pull it), then start the server again."
        )
        super().__init__(500, message, reason="Notebook image missing")


class SpawnFailed(StudioHTTPError):
    """A spawn that failed for a reason an administrator must fix (a network, a volume)."""

    def __init__(self, message: str) -> None:
        super().__init__(500, message, reason="The notebook server could not start")
