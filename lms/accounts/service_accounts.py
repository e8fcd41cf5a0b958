"""Service accounts: users that only other parts of the studio use, each with one permission
and one API token, never a password.

The grader (``svc-grader``: writes grades) and the tutor (``svc-tutor``: reads tutor settings)
each get theirs from ``ensure_service_account <name>``, run by ``make up`` at every start with
the token the service itself is given. One function makes both, so both follow the same rules:
an active learner-role account (no staff powers, no superuser), an unusable password, exactly the
one permission and exactly the one token.
"""

from __future__ import annotations

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
