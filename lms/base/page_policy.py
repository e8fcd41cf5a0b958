"""The Content-Security-Policy of every LMS page: strict, with one documented exception, the
Wagtail admin.

django-csp's middleware sends ``CONTENT_SECURITY_POLICY`` (``lms/settings/base.py``) with every
response: scripts and styles only from the LMS's own static files, no inline script or style, no
other origin, no plugins, no framing. The LMS's templates keep to it (no ``<script>`` or
``style=`` in them; what needs script is a static file), and so do the Django admin and the
Wagtail admin's sign-in page.

The rest of Wagtail's admin does not: its page listings, page editor and user listing still carry
inline scripts and ``style`` attributes (Wagtail issue 1288, open as of Wagtail 8). So the Wagtail
admin's pages but its sign-in page (where passwords are typed) get
``CONTENT_SECURITY_POLICY_WAGTAIL_ADMIN`` instead: the same, but with ``'unsafe-inline'`` for
scripts and styles, ``blob:`` images (Wagtail's image previews) and framing by the LMS itself
(Wagtail's live preview). Only staff and instructors reach those pages, signed in, and what they
edit there is theirs: learners' content is shown on site pages, under the strict policy. A view
that sets its own policy (django-csp's decorators) keeps it.
"""

from __future__ import annotations

from functools import cache

from csp.middleware import CSPMiddleware, PolicyParts
from csp.utils import default_config
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.urls import reverse


@cache
def _wagtail_admin() -> tuple[str, str]:
    """Where the Wagtail admin is mounted and its sign-in page (``lms/urls.py`` owns the paths)."""
    return reverse("wagtailadmin_home"), reverse("wagtailadmin_login")


def is_wagtail_admin_page(request: HttpRequest) -> bool:
    """A page of the Wagtail admin other than its sign-in page."""
    prefix, sign_in = _wagtail_admin()
    return request.path_info.startswith(prefix) and request.path_info != sign_in


class PagePolicyMiddleware(CSPMiddleware):
    """django-csp's middleware, choosing the Wagtail admin's policy for its pages."""

    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        if not report_only and parts.config is None and is_wagtail_admin_page(request):
            parts.config = default_config(
                settings.CONTENT_SECURITY_POLICY_WAGTAIL_ADMIN["DIRECTIVES"]
            )
        return parts
