"""Reads of notifications: a person's own, never anyone else's (every read is filtered by the
recipient), and how each of their kinds goes out by email."""

from __future__ import annotations

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet

from lms.accounts.models import User
from lms.base import versioned_cache

from .models import DEFAULT_DELIVERY, Kind, Notification, Preference

PAGE_SIZE = 20


def notifications_of(user: User, *, unread: bool | None = None) -> QuerySet[Notification]:
    """``user``'s notifications, newest first; only the unread ones (``unread=True``) or only
    the read ones (``False``). The list shows only what a notification keeps itself (text,
    actor's name, link, its course), so a page costs the same queries however long it is."""
    mine = Notification.objects.filter(recipient=user)
    if unread is not None:
        mine = mine.filter(read_at__isnull=unread)
    return mine.select_related("course").order_by("-created_at", "-pk")


def notifications_page(user: User, number) -> Page:
    """One page of ``user``'s notifications (``number`` as the client sent it: a bad one gives
    the first or last page)."""
    return Paginator(notifications_of(user), PAGE_SIZE).get_page(number)


UNREAD = "notifications"
"""The kind of data (``lms.base.versioned_cache``) the unread counts are cached from: its version
is replaced whenever a notification is made, read or deleted (``services.unread_changed``)."""


def unread_count(user: User) -> int:
    """How many of ``user``'s notifications are unread, for the bell on every page: one query
    per person, process and version of the notifications."""
    return versioned_cache.cached(
        UNREAD, "lms.notifications.unread", user.pk,
        lambda: Notification.objects.filter(recipient=user, read_at__isnull=True).count(),
    )


def deliveries(user: User) -> dict[str, str]:
    """How each kind reaches ``user`` by email: their choice, else the default."""
    chosen = dict(Preference.objects.filter(user=user).values_list("kind", "delivery"))
    return {kind: chosen.get(kind, DEFAULT_DELIVERY[kind]) for kind in Kind.values}


def deliveries_for(users: list[int], kind: str) -> dict[int, str]:
    """How ``kind`` reaches each of ``users`` (ids) by email, in one query."""
    chosen = dict(
        Preference.objects.filter(user__in=users, kind=kind).values_list("user_id", "delivery")
    )
    return {pk: chosen.get(pk, DEFAULT_DELIVERY[kind]) for pk in users}
