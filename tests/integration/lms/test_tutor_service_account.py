"""``ensure_service_account tutor``: the tutor's account, its one permission and its token."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from lms.accounts.models import Role, User
from lms.courses.selectors import can_read_tutor_settings

TOKEN = "0123456789abcdef0123456789abcdef0123tutr"


@pytest.fixture
def env(monkeypatch):
    monkeypatch.delenv("LMS_TUTOR_TOKEN", raising=False)
    monkeypatch.delenv("LMS_TUTOR_TOKEN_FILE", raising=False)
    return monkeypatch


def test_creates_the_tutor_account_with_its_token_and_only_its_permission(env, db, capsys):
    env.setenv("LMS_TUTOR_TOKEN", TOKEN)
    call_command("ensure_service_account", "tutor")
    user = User.objects.get(username="svc-tutor")
    assert (user.role, user.is_active, user.is_staff, user.is_superuser) == (
        Role.LEARNER, True, False, False)
    assert not user.has_usable_password()
    assert set(user.get_all_permissions()) == {"courses.read_tutor_settings"}
    assert can_read_tutor_settings(user)
    assert list(Token.objects.filter(user=user).values_list("key", flat=True)) == [TOKEN]
    assert "Created the tutor service account svc-tutor" in capsys.readouterr().out


def test_running_it_again_changes_nothing_and_a_file_may_hold_the_token(env, db, tmp_path):
    secret = tmp_path / "lms-tutor-token"
    secret.write_text(TOKEN + "\n")
    env.setenv("LMS_TUTOR_TOKEN_FILE", str(secret))
    call_command("ensure_service_account", "tutor")
    call_command("ensure_service_account", "tutor")
    assert User.objects.filter(username="svc-tutor").count() == 1
    me = APIClient(HTTP_AUTHORIZATION=f"Token {TOKEN}").get("/api/v1/me/")
    assert me.json()["username"] == "svc-tutor"


def test_a_missing_token_is_a_clear_error(env, db):
    with pytest.raises(CommandError, match="Set LMS_TUTOR_TOKEN \\(or LMS_TUTOR_TOKEN_FILE"):
        call_command("ensure_service_account", "tutor")


def test_the_grader_and_the_tutor_cannot_share_a_token(env, db):
    env.setenv("LMS_GRADER_TOKEN", TOKEN)
    call_command("ensure_service_account", "grader")
    env.setenv("LMS_TUTOR_TOKEN", TOKEN)
    with pytest.raises(CommandError, match="already belongs to another user"):
        call_command("ensure_service_account", "tutor")


def test_a_superuser_is_not_the_tutor_by_default(staff):
    assert staff.is_superuser and staff.has_perm("courses.read_tutor_settings")
    assert not can_read_tutor_settings(staff)
