"""``python -m lms.up`` ensures the service accounts whose tokens ``make up`` gives it."""

from __future__ import annotations

import pytest
from django.core import management

from lms import up


@pytest.fixture
def commands(monkeypatch):
    ran: list[tuple] = []
    monkeypatch.setattr(management, "call_command", lambda *args, **kw: ran.append(args))
    for name in ("HUB_OAUTH_CLIENT_ID", "LMS_GRADER_TOKEN", "LMS_GRADER_TOKEN_FILE",
                 "LMS_TUTOR_TOKEN", "LMS_TUTOR_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    return ran


def test_the_tutors_account_is_ensured_when_its_token_is_given(commands, monkeypatch):
    monkeypatch.setenv("LMS_TUTOR_TOKEN_FILE", "/run/secrets/lms-tutor-token")
    up.prepare()
    assert ("ensure_service_account", "tutor") in commands
    assert ("ensure_service_account", "grader") not in commands


def test_no_token_no_tutor_account(commands):
    up.prepare()
    assert not [c for c in commands if c[0] == "ensure_service_account"]
