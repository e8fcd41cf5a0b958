"""The username rule: the LMS username is the hub username, safe for URLs and container names."""

from __future__ import annotations

import pytest
from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError

from lms.accounts.models import Role, User
from lms.accounts.usernames import USERNAME_RULE

pytestmark = pytest.mark.django_db


def test_usernames_are_lower_cased_and_stripped_on_creation():
    user = User.objects.create_user("  Grace_Hopper ", password="correct-horse-battery")
    assert user.username == "grace_hopper"


def test_sign_in_accepts_the_username_in_any_case():
    User.objects.create_user("linus", password="correct-horse-battery")
    assert authenticate(username=" LINUS", password="correct-horse-battery").username == "linus"


@pytest.mark.parametrize(
    "unsafe",
    [
        "grace hopper",
        "grace.hopper",
        "grace@example.org",
        "-leading-dash",
        "_x",
        "ümlaut",
        "a" * 33,
        "../etc",
    ],
)
def test_unsafe_usernames_are_rejected_with_the_rule(unsafe):
    with pytest.raises(ValidationError) as error:
        User(username=unsafe, password="x").full_clean()
    assert USERNAME_RULE in error.value.message_dict["username"]


@pytest.mark.parametrize("safe", ["ada", "learner1", "9lives", "a-b_c", "a" * 32])
def test_safe_usernames_are_accepted(safe):
    user = User(username=safe, password="x")
    user.full_clean(exclude=["password"])  # raises ValidationError for a refused name
    assert user.username == safe


def test_two_spellings_of_one_name_cannot_make_two_accounts():
    User.objects.create_user("ada", password="correct-horse-battery")
    with pytest.raises(ValidationError):
        User(username="ADA", password="x").full_clean()


def test_staff_role_grants_the_admin_flag():
    user = User.objects.create_user("root-admin", role=Role.STAFF)
    assert user.is_staff and user.is_studio_staff


def test_superuser_gets_the_staff_role():
    assert (
        User.objects.create_superuser("boss", password="correct-horse-battery").role == Role.STAFF
    )


def test_blank_username_is_refused():
    with pytest.raises(ValidationError) as error:
        User(username="   ", password="x").full_clean()
    assert "username" in error.value.message_dict
