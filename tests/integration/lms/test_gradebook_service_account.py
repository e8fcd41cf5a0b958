"""``ensure_service_account grader``: the grader's account, its one permission and its token."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from lms.accounts.models import Role, User
from lms.gradebook.selectors import can_push_grades

TOKEN = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def env(monkeypatch):
    monkeypatch.delenv("LMS_GRADER_TOKEN", raising=False)
    monkeypatch.delenv("LMS_GRADER_TOKEN_FILE", raising=False)
    return monkeypatch


def test_creates_the_grader_account_with_its_token_and_only_its_permission(env, db, capsys):
    env.setenv("LMS_GRADER_TOKEN", TOKEN)
    call_command("ensure_service_account", "grader")
    user = User.objects.get(username="svc-grader")
    assert (user.role, user.is_active, user.is_staff, user.is_superuser) == (
        Role.LEARNER,
        True,
        False,
        False,
    )
    assert not user.has_usable_password()
    assert set(user.get_all_permissions()) == {"gradebook.push_grades"}
    assert can_push_grades(user)
    assert list(Token.objects.filter(user=user).values_list("key", flat=True)) == [TOKEN]
    assert "Created the grader service account svc-grader" in capsys.readouterr().out


def test_running_it_again_changes_nothing(env, db):
    env.setenv("LMS_GRADER_TOKEN", TOKEN)
    call_command("ensure_service_account", "grader")
    call_command("ensure_service_account", "grader")
    assert User.objects.filter(username="svc-grader").count() == 1
    assert Token.objects.get().key == TOKEN


def test_a_new_token_replaces_the_old_one(env, db):
    env.setenv("LMS_GRADER_TOKEN", TOKEN)
    call_command("ensure_service_account", "grader")
    env.setenv("LMS_GRADER_TOKEN", "f" * 40)
    call_command("ensure_service_account", "grader")
    assert list(Token.objects.values_list("key", flat=True)) == ["f" * 40]
    old = APIClient(HTTP_AUTHORIZATION=f"Token {TOKEN}").get("/api/v1/me/")
    assert old.status_code == 401


def test_the_token_can_come_from_a_file(env, db, tmp_path):
    secret = tmp_path / "grader_token"
    secret.write_text(TOKEN + "\n")
    env.setenv("LMS_GRADER_TOKEN_FILE", str(secret))
    call_command("ensure_service_account", "grader")
    me = APIClient(HTTP_AUTHORIZATION=f"Token {TOKEN}").get("/api/v1/me/")
    assert me.json()["username"] == "svc-grader"


def test_a_missing_token_is_a_clear_error(env, db):
    with pytest.raises(CommandError, match="Set LMS_GRADER_TOKEN \\(or LMS_GRADER_TOKEN_FILE"):
        call_command("ensure_service_account", "grader")
    assert not User.objects.filter(username="svc-grader").exists()


def test_an_unreadable_token_file_is_a_clear_error(env, db, tmp_path):
    env.setenv("LMS_GRADER_TOKEN_FILE", str(tmp_path / "missing"))
    with pytest.raises(CommandError, match="Cannot read LMS_GRADER_TOKEN_FILE"):
        call_command("ensure_service_account", "grader")


@pytest.mark.parametrize("bad", ["short", "x" * 41, "has a space in it 0123456789"])
def test_a_weak_or_malformed_token_is_refused(env, db, bad):
    env.setenv("LMS_GRADER_TOKEN", bad)
    with pytest.raises(CommandError, match="20 to 40 printable characters"):
        call_command("ensure_service_account", "grader")
    assert not Token.objects.exists()


def test_a_token_already_held_by_someone_else_is_refused(env, learner):
    Token.objects.create(user=learner, key=TOKEN)
    env.setenv("LMS_GRADER_TOKEN", TOKEN)
    with pytest.raises(CommandError, match="already belongs to another user"):
        call_command("ensure_service_account", "grader")


def test_a_superuser_is_not_a_grader_by_default(staff):
    assert staff.is_superuser and staff.has_perm("gradebook.push_grades")
    assert not can_push_grades(staff)


def test_a_group_can_grant_pushing_grades(learner):
    from django.contrib.auth.models import Group, Permission

    group = Group.objects.create(name="graders")
    group.permissions.add(Permission.objects.get(codename="push_grades"))
    learner.groups.add(group)
    assert can_push_grades(learner)
