"""Django's password validators hold for real accounts: every form that sets a password (the
Wagtail admin's account page, the Django admin's new user and password pages) says the rules and
refuses a password that breaks them with the validator's sentence. The demo accounts ``make up``
seeds get passwords that keep the rules and sign in through the sign-in form."""

from __future__ import annotations

import html

import pytest
from django.contrib.auth.password_validation import (
    password_validators_help_texts,
    validate_password,
)
from django.test import Client

from lms.accounts.demo import ensure_demo_accounts
from lms.accounts.models import User
from tests.support.lms_factories import PASSWORD

pytestmark = pytest.mark.django_db

RULES = [  # Django's sentences, with its typographic apostrophe
    "Your password can\u2019t be too similar to your other personal information.",
    "Your password must contain at least 8 characters.",
    "Your password can\u2019t be a commonly used password.",
    "Your password can\u2019t be entirely numeric.",
]
REFUSALS = {  # a password, and the sentence that refuses it
    "short": ("x7#kQ", "This password is too short. It must contain at least 8 characters."),
    "common": ("password123", "This password is too common."),
    "numeric": ("4815162342108", "This password is entirely numeric."),
    "like the name": ("root-admin1", "The password is too similar to the username."),
}


def text(response) -> str:
    return html.unescape(response.content.decode())


@pytest.fixture
def admin_client(staff):
    client = Client()
    client.force_login(staff)
    return client


def test_all_four_of_djangos_validators_are_on():
    assert password_validators_help_texts() == RULES


@pytest.mark.parametrize("url", ["/admin/account/", "/django-admin/accounts/user/add/"])
def test_the_forms_that_set_a_password_say_the_rules(admin_client, url):
    page = text(admin_client.get(url))
    for rule in RULES:
        assert rule in page, (url, rule)


@pytest.mark.parametrize("kind", REFUSALS)
def test_changing_ones_password_in_the_wagtail_admin_keeps_the_rules(admin_client, staff, kind):
    password, sentence = REFUSALS[kind]

    response = admin_client.post("/admin/account/", {
        "password-old_password": PASSWORD, "password-new_password1": password,
        "password-new_password2": password})

    assert sentence in text(response)
    staff.refresh_from_db()
    assert staff.check_password(PASSWORD)


@pytest.mark.parametrize("kind", REFUSALS)
def test_a_new_account_in_the_django_admin_keeps_the_rules(admin_client, kind):
    password, sentence = REFUSALS[kind]
    if kind == "like the name":
        username, password = "grace-hopper", "grace-hopper1"
        sentence = "The password is too similar to the username."
    else:
        username = "newcomer"

    response = admin_client.post("/django-admin/accounts/user/add/", {
        "username": username, "password1": password, "password2": password,
        "usable_password": "true", "role": "learner"})

    assert sentence in text(response)
    assert not User.objects.filter(username=username).exists()


def test_a_password_that_keeps_the_rules_is_taken(admin_client, learner):
    url = f"/django-admin/accounts/user/{learner.pk}/password/"
    for rule in RULES:
        assert rule in text(admin_client.get(url))

    response = admin_client.post(url, {"password1": "a-long-walk-to-class",
                                       "password2": "a-long-walk-to-class"})

    assert response.status_code == 302
    learner.refresh_from_db()
    assert learner.check_password("a-long-walk-to-class")


def test_the_demo_accounts_keep_the_rules_and_sign_in(settings, tmp_path):
    settings.VAR_DIR = tmp_path

    accounts = ensure_demo_accounts()

    assert {a.username for a in accounts} == {"admin", "instructor", "learner1", "learner2"}
    for account in accounts:
        validate_password(account.password, User.objects.get(username=account.username))
        response = Client().post("/login/", {"username": account.username,
                                             "password": account.password})
        assert response.status_code == 302, account.username
