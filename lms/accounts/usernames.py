"""The one rule for usernames: the LMS username *is* the hub username.

JupyterHub puts it in URLs (/user/<name>/), DockerSpawner in container and volume names, and
nbgrader in folder names. So it is lower-case ASCII letters, digits, '-' and '_', starting with a
letter or digit, at most 32 characters. Input that only differs by case or surrounding spaces is
normalised; anything else is rejected with a message that says what is allowed.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible

from courses.naming import USERNAME_PATTERN, USERNAME_RULE, is_reserved_username


def normalize_username(raw: str) -> str:
    """Lower-case and strip ``raw``; validation then decides whether the rest is allowed."""
    return (raw or "").strip().lower()


@deconstructible
class HubUsernameValidator:
    message = USERNAME_RULE
    code = "invalid_username"

    def __call__(self, value: str) -> None:
        if not USERNAME_PATTERN.match(value or "") or is_reserved_username(value):
            raise ValidationError(self.message, code=self.code, params={"value": value})

    def __eq__(self, other: object) -> bool:
        return isinstance(other, HubUsernameValidator)
