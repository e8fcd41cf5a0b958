from __future__ import annotations

from functools import cached_property

from .selectors import unread_count


class Bell:
    """The header's bell: the unread count, read (one query) only when a page shows it."""

    def __init__(self, user) -> None:
        self.user = user

    @cached_property
    def unread(self) -> int:
        return unread_count(self.user)


def bell(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"notification_bell": Bell(user)}
