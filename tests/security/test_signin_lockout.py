"""Guessing passwords on the LMS stops: after ``LMS_LOGIN_FAILURES_PER_ACCOUNT`` failures for one
account (from any addresses) or ``LMS_LOGIN_FAILURES_PER_ADDRESS`` from one address (for any
accounts), every sign-in form refuses even the right password, on the sign-in page itself, with
a sentence saying when to try again and whom to ask; an admin unlocks at once; the lockout lifts
by itself a cool-off after the failures stop."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from axes.models import AccessAttempt
from django.core.management import call_command
from django.test import Client

from tests.support.lms_factories import PASSWORD, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db

LOCKED = 429
SIGN_IN_FORMS = {  # each form that takes a password: its URL and what its page says
    "lms": ("/login/", "Use your studio account"),
    "wagtail admin": ("/admin/login/", "Sign in to Wagtail"),
    "django admin": ("/django-admin/login/", "Django administration"),
}


def sign_in(form: str, username: str, password: str, address: str = "198.51.100.1", **headers):
    """One sign-in through ``form`` from a browser at ``address``; the response."""
    url, _ = SIGN_IN_FORMS[form]
    return Client(REMOTE_ADDR=address, **headers).post(
        url, {"username": username, "password": password})


def signed_in(response) -> bool:
    return response.status_code == 302


def fail(times: int, username: str, address: str = "198.51.100.1", form: str = "lms"):
    responses = [sign_in(form, username, "not-the-password", address) for _ in range(times)]
    assert not any(signed_in(r) for r in responses)
    return responses[-1]


@pytest.fixture
def grace(db):
    return UserFactory(username="grace")


@pytest.fixture
def limits(settings):
    """Small limits, so the tests stay short; 10 minutes of cool-off."""
    settings.AXES_FAILURE_LIMIT = 3
    settings.LMS_LOGIN_FAILURES_PER_ADDRESS = 5
    settings.AXES_COOLOFF_TIME = dt.timedelta(minutes=10)
    return settings


def the_sentence(response) -> str:
    text = re.sub(r"\s+", " ", response.content.decode())
    return re.search(r"Too many failed sign-ins[^<]*", text).group(0)


def test_an_account_is_locked_out_after_its_failures_from_any_addresses(grace, limits):
    for n in range(3):
        fail(1, "grace", address=f"198.51.100.{n + 1}")

    response = sign_in("lms", "grace", PASSWORD, address="203.0.113.50")

    assert response.status_code == LOCKED
    assert signed_in(sign_in("lms", UserFactory(username="linus").username, PASSWORD,
                             address="203.0.113.50"))


def test_an_address_is_locked_out_after_its_failures_for_any_accounts(grace, limits):
    for n in range(5):
        fail(1, f"someone{n}", address="198.51.100.7")

    assert sign_in("lms", "grace", PASSWORD, address="198.51.100.7").status_code == LOCKED
    assert signed_in(sign_in("lms", "grace", PASSWORD, address="198.51.100.8"))


def test_fewer_failures_than_the_limits_lock_nobody_out(grace, limits):
    fail(2, "grace")  # 2 of 3 for the account
    for n in range(2):  # 4 of 5 for the address
        fail(1, f"someone{n}")

    assert signed_in(sign_in("lms", "grace", PASSWORD))


def test_one_account_however_its_name_is_typed(grace, limits):
    for spelling, address in [("Grace", "198.51.100.1"), (" grace", "198.51.100.2"),
                              ("GRACE ", "198.51.100.3")]:
        fail(1, spelling, address=address)

    assert sign_in("lms", "grace", PASSWORD, address="203.0.113.9").status_code == LOCKED


def test_the_sign_in_page_says_when_to_try_again_and_whom_to_ask(grace, limits):
    response = fail(3, "grace")

    assert response.status_code == LOCKED
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert 'name="password"' in page and "Use your studio account" in page  # the page itself
    sentence = the_sentence(response)
    assert re.fullmatch(
        r"Too many failed sign-ins for this account or from your network\. Try again after "
        r"\d\d:\d\d \(in 10 minutes\); a studio admin can unlock it sooner\.", sentence
    ), sentence
    assert 590 <= int(response["Retry-After"]) <= 600
    assert "grace" not in sentence  # it never says whether the account exists


@pytest.mark.parametrize("form", ["wagtail admin", "django admin"])
def test_the_admin_sign_in_forms_are_throttled_too_with_their_own_page(grace, limits, form):
    grace.role, grace.is_staff = "staff", True
    grace.save()

    response = fail(3, "grace", form=form)

    assert response.status_code == LOCKED
    assert SIGN_IN_FORMS[form][1] in response.content.decode()
    assert "Try again after" in the_sentence(response)
    assert not signed_in(sign_in(form, "grace", PASSWORD))


def test_the_right_password_during_a_lockout_is_refused_and_not_counted(grace, limits):
    fail(3, "grace")
    counted = sum(AccessAttempt.objects.values_list("failures_since_start", flat=True))

    for _ in range(3):
        assert sign_in("lms", "grace", PASSWORD).status_code == LOCKED
        fail(1, "grace")

    assert sum(AccessAttempt.objects.values_list("failures_since_start", flat=True)) == counted


def test_the_lockout_lifts_a_cool_off_after_the_last_failure(grace, limits):
    fail(3, "grace")
    AccessAttempt.objects.update(attempt_time=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=9))
    assert sign_in("lms", "grace", PASSWORD).status_code == LOCKED

    AccessAttempt.objects.update(attempt_time=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=11))

    assert signed_in(sign_in("lms", "grace", PASSWORD))


def test_a_staff_member_unlocks_an_account_in_the_admin(grace, limits):
    fail(3, "grace")
    staff = Client()
    staff.force_login(StaffFactory(username="root-admin"))
    listing = staff.get("/django-admin/axes/accessattempt/", {"q": "grace"})
    assert listing.status_code == 200 and "grace" in listing.content.decode()
    rows = list(AccessAttempt.objects.filter(username="grace").values_list("pk", flat=True))

    staff.post("/django-admin/axes/accessattempt/", {
        "action": "delete_selected", "_selected_action": rows, "post": "yes"})

    assert signed_in(sign_in("lms", "grace", PASSWORD))


def test_an_admin_unlocks_an_account_or_an_address_on_the_command_line(grace, limits):
    fail(3, "grace")
    for n in range(2):
        fail(1, f"someone{n}", address="198.51.100.9")
    fail(3, "linus", address="198.51.100.9")  # the address's 5th failure

    call_command("axes_reset_username", "grace")
    call_command("axes_reset_ip", "198.51.100.9")

    assert signed_in(sign_in("lms", "grace", PASSWORD, address="198.51.100.9"))


def test_the_wagtail_admin_leads_staff_not_instructors_to_the_lockouts(instructor):
    lockouts = "/django-admin/axes/accessattempt/"
    staff, teacher = Client(), Client()
    staff.force_login(StaffFactory(username="root-admin"))
    teacher.force_login(instructor)

    assert lockouts in staff.get("/admin/").content.decode()  # the Settings menu's entry
    page = teacher.get("/admin/")
    assert page.status_code == 200 and lockouts not in page.content.decode()
    assert teacher.get(lockouts).status_code == 302  # to the Django admin's sign-in
