"""Service accounts: users that only other parts of the studio use, each with one permission
and one API token, never a password.

The grader (``svc-grader``: writes grades) and the tutor (``svc-tutor``: reads tutor settings)
each get theirs from ``ensure_service_account <service>``, run by the LMS at every start
(``lms.up``) with the token the service itself is given. The app that owns the permission
declares its service's account (:class:`ServiceAccount`) and registers it here when Django starts
(its ``AppConfig.ready``), so this app, below them, never imports them. One function makes every
account, so all follow the same rules: an active learner-role account (no staff powers, no
superuser), an unusable password, exactly the one permission and exactly the one token.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.db import transaction
from rest_framework.authtoken.models import Token

from .models import Role, User

TOKEN_MIN_LENGTH = 20
TOKEN_MAX_LENGTH = Token._meta.get_field("key").max_length


def check_token_key(key: str) -> None:
    if not TOKEN_MIN_LENGTH <= len(key) <= TOKEN_MAX_LENGTH or not key.isprintable() or " " in key:
        raise ValidationError(
            f"A service token must be {TOKEN_MIN_LENGTH} to {TOKEN_MAX_LENGTH} printable "
            "characters without spaces (e.g. `python -c 'import secrets; "
            "print(secrets.token_hex(20))'`)."
        )


@transaction.atomic
def ensure_service_account(
    username: str, first_name: str, permission: tuple[str, str], token_key: str
) -> tuple[User, bool]:
    """Create or update the service account ``username`` with only ``permission`` (app label,
    codename) and exactly one DRF token, ``token_key``. Idempotent. Returns the user and whether
    it was created."""
    check_token_key(token_key)
    if Token.objects.filter(key=token_key).exclude(user__username=username).exists():
        raise ValidationError("That token key already belongs to another user: choose another.")
    user, created = User.objects.get_or_create(
        username=username,
        defaults={"first_name": first_name, "last_name": "service", "role": Role.LEARNER},
    )
    user.role = Role.LEARNER
    user.is_active = True
    user.is_staff = user.is_superuser = False
    user.set_unusable_password()
    user.save()
    app_label, codename = permission
    user.user_permissions.set(
        [Permission.objects.get(content_type__app_label=app_label, codename=codename)]
    )
    Token.objects.filter(user=user).exclude(key=token_key).delete()
    Token.objects.get_or_create(user=user, key=token_key)
    return user, created


@dataclass(frozen=True)
class ServiceAccount:
    """A studio service's account in the LMS: ``username`` holding only ``permission`` (app label,
    codename), its token given to the LMS as ``token_variable`` (or ``<token_variable>_FILE``),
    the same value the service itself is given."""

    service: str  # the name ``ensure_service_account`` takes, e.g. "grader"
    username: str
    first_name: str
    permission: tuple[str, str]
    token_variable: str

    def ensure(self, token_key: str) -> tuple[User, bool]:
        """Create or update the account with exactly the one token ``token_key``."""
        return ensure_service_account(self.username, self.first_name, self.permission, token_key)


SERVICE_ACCOUNTS: dict[str, ServiceAccount] = {}
"""The registered service accounts by service name, in the order their apps registered them."""


def register(account: ServiceAccount) -> ServiceAccount:
    """Make ``account`` one that ``ensure_service_account`` (and ``lms.up``) know. Idempotent."""
    SERVICE_ACCOUNTS[account.service] = account
    return account
