"""The tutor's service account: ``svc-tutor`` reads every course's tutor policy and hints from
``GET /api/v1/courses/{slug}/assignments/`` (``courses.read_tutor_settings``) and nothing else.
"""

from __future__ import annotations

from lms.accounts.models import User
from lms.accounts.service_accounts import ServiceAccount
from lms.courses.selectors import READ_TUTOR_SETTINGS

TUTOR_ACCOUNT = ServiceAccount(
    service="tutor",
    username="svc-tutor",
    first_name="Tutor",
    permission=READ_TUTOR_SETTINGS,
    token_variable="LMS_TUTOR_TOKEN",  # noqa: S106 - the variable's name, not a token
)
"""Registered with ``lms.accounts`` by ``TutorConfig.ready``: ``ensure_service_account tutor``
sets its token from ``LMS_TUTOR_TOKEN``."""


def ensure_tutor_account(token_key: str) -> tuple[User, bool]:
    """Create or update ``svc-tutor`` with the ``courses.read_tutor_settings`` permission and
    exactly one token, ``token_key`` (the tutor's ``LMS_TUTOR_TOKEN``). Idempotent."""
    return TUTOR_ACCOUNT.ensure(token_key)
