"""Writes of notifications: making them (``notify``, called by ``receivers``), reading them,
and each person's email preferences (the preferences page and one-click unsubscribe links).

A notification is always shown in the LMS; whether it also goes out by email, at once or in the
daily digest, is the recipient's preference for its kind (``DEFAULT_DELIVERY`` until they
choose). Email is never sent here: the messages due at once are handed to the background worker
(``tasks.send_emails``) once the transaction that made them has committed.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.http import Http404
from django.utils import timezone

from lms.accounts.models import User
from lms.base import versioned_cache
from lms.courses.models import CoursePage

from . import tasks, unsubscribe
from .models import Delivery, Kind, Notification, Preference
from .selectors import UNREAD, deliveries, deliveries_for

ANONYMOUS = "An anonymous classmate"


@dataclass(frozen=True)
class Event:
    """What happened, as every recipient is told it."""

    kind: str
    text: str
    url: str
    course: CoursePage | None = None
    actor: User | None = None
    anonymous: bool = False  # the actor posted anonymously to classmates


def notify(event: Event, recipients, *, sees_anonymous=frozenset()) -> list[Notification]:
    """A notification of ``event`` for each of ``recipients`` (active people, never the actor);
    an anonymous actor is named only to the ids in ``sees_anonymous`` (the course's
    instructors). Emails due at once are queued for the worker after commit."""
    people = {u.pk: u for u in recipients if u.is_active}
    if event.actor is not None:
        people.pop(event.actor.pk, None)
    if not people:
        return []
    how = deliveries_for(list(people), event.kind)
    now = timezone.now()
    made = []
    for pk, user in people.items():
        hidden = event.anonymous and pk not in sees_anonymous
        actor = None if hidden or event.actor is None else event.actor
        made.append(Notification(
            recipient=user, kind=event.kind, course=event.course, actor=actor,
            actor_name=ANONYMOUS if hidden else (actor.display_name if actor else ""),
            text=event.text[:300], url=event.url[:500], created_at=now,
            email=how[pk] if user.email else Delivery.OFF,
        ))
    made = Notification.objects.bulk_create(made)
    unread_changed()
    at_once = [n.pk for n in made if n.email == Delivery.IMMEDIATE]
    if at_once:
        transaction.on_commit(lambda: tasks.send_emails.enqueue(at_once))
    return made


def mark_read(user: User, pk: int) -> Notification:
    """Mark one of ``user``'s own notifications read; another's is not found (404)."""
    found = Notification.objects.filter(recipient=user, pk=pk).first()
    if found is None:
        raise Http404("No such notification.")
    if found.read_at is None:
        found.read_at = timezone.now()
        found.save(update_fields=["read_at"])
        unread_changed()
    return found


def mark_all_read(user: User) -> int:
    marked = Notification.objects.filter(recipient=user, read_at__isnull=True).update(
        read_at=timezone.now()
    )
    if marked:
        unread_changed()
    return marked


def unread_changed(sender=None, **kwargs) -> None:
    """Notifications were made, read or deleted: the unread counts cached so far are out of
    date (``selectors.unread_count``). Also the receiver of their deletion (``receivers``)."""
    versioned_cache.changed(UNREAD)


def set_delivery(user: User, kind: str, delivery: str) -> None:
    if kind not in Kind.values or delivery not in Delivery.values:
        raise ValueError(f"{kind!r} by {delivery!r} is not a notification setting.")
    Preference.objects.update_or_create(user=user, kind=kind, defaults={"delivery": delivery})


@transaction.atomic
def set_deliveries(user: User, chosen: dict[str, str]) -> None:
    """The preferences page: each kind's delivery (kinds and values checked)."""
    for kind, delivery in chosen.items():
        set_delivery(user, kind, delivery)


@transaction.atomic
def unsubscribe_by_link(value: str) -> tuple[User, list[str]]:
    """Stop what a one-click link names (one kind; a digest's link: every kind that goes in the
    digest); the person and the kinds stopped. Raises ``unsubscribe.BadLink`` for a token this
    LMS did not sign."""
    link = unsubscribe.read(value)
    user = User.objects.filter(pk=link.user_id).first()
    if user is None:
        raise unsubscribe.BadLink()
    if link.kind == unsubscribe.DIGEST:
        kinds = [k for k, d in deliveries(user).items() if d == Delivery.DIGEST]
    else:
        kinds = [link.kind]
    for kind in kinds:
        set_delivery(user, kind, Delivery.OFF)
    return user, kinds
