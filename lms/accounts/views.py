"""The sign-in pages' one view of the LMS's own: what someone locked out sees.

The sign-in forms themselves are Django's (``/login/``, the Django admin's) and Wagtail's
(``/admin/login/``); django-axes' middleware calls :func:`locked_out` (``AXES_LOCKOUT_CALLABLE``)
in place of the page a refused sign-in would have shown.
"""

from __future__ import annotations

import math

from django.contrib.auth.forms import AuthenticationForm
from django.forms.forms import NON_FIELD_ERRORS
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from .signin import lockout_ends, lockout_message

LOGIN_TEMPLATE = "registration/login.html"
TOO_MANY_REQUESTS = 429


def locked_out(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict | None = None,
) -> HttpResponse:
    """The sign-in page the person used, again, its error replaced by :func:`lockout_message`
    (why, when to try again, whom to ask), with status 429 and ``Retry-After``. A page that is
    not a sign-in form (no ``form`` in its context) becomes the LMS's own sign-in page."""
    now = timezone.now()
    ends = lockout_ends(request, credentials)
    context = dict(getattr(original_response, "context_data", None) or {})
    template = getattr(original_response, "template_name", None)
    form = context.get("form")
    if not (template and form is not None and form.is_bound):
        # Never bind a new form to the request: validating it would try the password again.
        template = LOGIN_TEMPLATE
        form = AuthenticationForm(request, initial={"username": request.POST.get("username")})
        context = {"form": form, "next": request.POST.get("next", "")}
    # The form was validated when the view refused the password: this only replaces its error.
    form.errors[NON_FIELD_ERRORS] = form.error_class([lockout_message(ends, now)])
    response = TemplateResponse(request, template, context, status=TOO_MANY_REQUESTS)
    if ends is not None:
        response["Retry-After"] = str(max(1, math.ceil((ends - now).total_seconds())))
    return response.render()
