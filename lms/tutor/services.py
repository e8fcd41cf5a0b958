"""The tutor's service account: ``svc-tutor`` reads every course's tutor policy and hints from
``GET /api/v1/courses/{slug}/assignments/`` (``courses.read_tutor_settings``) and nothing else.
"""

from __future__ import annotations

from lms.accounts.models import User
from lms.accounts.service_accounts import ensure_service_account
from lms.courses.selectors import READ_TUTOR_SETTINGS

TUTOR_USERNAME = "svc-tutor"


def ensure_tutor_account(token_key: str) -> tuple[User, bool]:
    """Create or update ``svc-tutor`` with the ``courses.read_tutor_settings`` permission and
    exactly one token, ``token_key`` (the tutor's ``LMS_TUTOR_TOKEN``). Idempotent."""
    return ensure_service_account(TUTOR_USERNAME, "Tutor", READ_TUTOR_SETTINGS, token_key)
