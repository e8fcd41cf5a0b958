"""Sign-in throttling: how many wrong passwords the LMS takes before it stops listening.

The one password of a studio account opens the LMS, the hub and every learner's work, so
guessing it is throttled with django-axes (settings ``AXES_*`` in ``lms/settings/base.py``, from
``LMS_LOGIN_*``). Every form that checks a password goes through Django's ``authenticate()``
with the request, so one backend, :class:`ThrottledSignIn`, guards them all: the LMS's
``/login/``, the Wagtail admin's ``/admin/login/`` and the Django admin's. Failures are counted
twice, as django-axes' ``AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]`` does:

- **per account** (the username as the form normalises it, :func:`attempted_username`), so
  guessing one person's password from many addresses stops after
  ``LMS_LOGIN_FAILURES_PER_ACCOUNT`` failures;
- **per address** (:func:`lms.base.client_address.client_address`, which believes
  ``X-Forwarded-For`` only from the proxies in ``LMS_TRUSTED_PROXIES``), so trying one password
  on many accounts from one address stops after ``LMS_LOGIN_FAILURES_PER_ADDRESS``. That limit
  is higher: a classroom signs in from one address.

A failure is forgotten ``LMS_LOGIN_LOCKOUT_MINUTES`` after the last failure of its kind (the
same username from the same address and browser), so a lockout lifts that long after the
failures stop; attempts during a lockout are refused without being counted, so the time the
page gives holds. An admin lifts a lockout sooner by deleting the access attempts
(docs/architecture.md, "LMS: sign-in, tokens and page policy").

The password-free ways in never call ``authenticate()`` and are not counted: API tokens (the
grader's and the tutor's service accounts), OAuth access tokens, the hub's client credentials
at ``/o/token/`` (django-oauth-toolkit checks those itself) and the authorization endpoint for a
person already signed in.
"""

from __future__ import annotations

import datetime as dt
import math

from axes.attempts import get_cool_off_threshold
from axes.backends import AxesStandaloneBackend
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_cool_off, get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum
from django.http import HttpRequest
from django.utils import formats, timezone

from .usernames import normalize_username

ASK_AN_ADMIN = "a studio admin can unlock it sooner."


class ThrottledSignIn(AxesStandaloneBackend):
    """The first authentication backend: refuses any password while the account or the address
    is locked out, before Django's ``ModelBackend`` checks it (so a right password does not tell
    a guesser anything during a lockout either)."""

    def authenticate(self, request: HttpRequest | None, username=None, password=None, **kwargs):
        if request is None:
            # No client to count against: code of the LMS's own (a management command, a
            # test client's ``login()``), never a form, which always passes its request.
            return None
        return super().authenticate(request, username, password, **kwargs)


def attempted_username(request: HttpRequest, credentials: dict | None = None) -> str | None:
    """``AXES_USERNAME_CALLABLE``: the username tried, normalised as the sign-in normalises it
    (``usernames.normalize_username``), so ``Ada`` and ``ada `` count against the same account."""
    if credentials:
        raw = credentials.get("username")
    else:
        raw = getattr(request, "data", request.POST).get("username")
    if not isinstance(raw, str):
        return None
    return normalize_username(raw) or None


class SignInThrottle(AxesDatabaseHandler):
    """``AXES_HANDLER``: django-axes' database handler with a limit per kind of count.

    django-axes compares the largest count with one limit (``AXES_FAILURE_LIMIT``, here the
    per-account one); the address has a limit of its own, so :meth:`get_failures` reports the
    account's count, raised to the account limit once the address has reached its limit."""

    def get_failures(self, request, credentials: dict | None = None) -> int:
        by_account, by_address = (
            recent.aggregate(total=Sum("failures_since_start"))["total"] or 0
            for recent in _recent_attempts(request, credentials)
        )
        if by_address >= settings.LMS_LOGIN_FAILURES_PER_ADDRESS:
            return max(by_account, get_failure_limit(request, credentials))
        return by_account


def _recent_attempts(request, credentials: dict | None):
    """The failures that still count: those of the username tried, those from the address."""
    recent = AccessAttempt.objects.filter(attempt_time__gte=get_cool_off_threshold(request))
    return (
        recent.filter(username=get_client_username(request, credentials)),
        recent.filter(ip_address=request.axes_ip_address),
    )


def lockout_ends(request, credentials: dict | None = None) -> dt.datetime | None:
    """When the lockout of this request's account or address lifts by itself, or None if
    neither is locked out. Each failure stops counting a cool-off after it; a count lifts when
    enough of its oldest failures have stopped counting to leave it under its limit."""
    cool_off = get_cool_off(request)
    limits = (get_failure_limit(request, credentials), settings.LMS_LOGIN_FAILURES_PER_ADDRESS)
    ends = []
    for attempts, limit in zip(_recent_attempts(request, credentials), limits, strict=True):
        rows = list(attempts.order_by("attempt_time").values_list(
            "attempt_time", "failures_since_start"))
        remaining = sum(failures for _, failures in rows)
        for attempt_time, failures in rows:
            if remaining < limit:
                break
            remaining -= failures
            ends.append(attempt_time + cool_off)
    return max(ends, default=None)


def lockout_message(ends: dt.datetime | None, now: dt.datetime | None = None) -> str:
    """What the sign-in page says to someone locked out: why, when to try again, whom to ask.
    It never says whether the account exists."""
    why = "Too many failed sign-ins for this account or from your network."
    if ends is None:
        return f"{why} Try again later; {ASK_AN_ADMIN}"
    now = now or timezone.now()
    minutes = max(1, math.ceil((ends - now).total_seconds() / 60))
    at = formats.time_format(timezone.localtime(ends), "H:i")
    return (f"{why} Try again after {at} (in {minutes} minute{'s' if minutes != 1 else ''}); "
            f"{ASK_AN_ADMIN}")
