"""Sending notifications by email; only the background worker calls this (``tasks``), never a
request.

Each item goes out once: it is locked while its message is sent and marked ``emailed_at`` in
the same transaction, so a retried task, a second worker or a second digest run skips it. The
recipient's preference is read again when sending: an unsubscribe between the event and the
worker's turn is honoured (the item is then left out; it stays in the LMS)."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from lms.accounts.models import User

from . import emails
from .models import Delivery, Notification
from .selectors import deliveries

log = logging.getLogger(__name__)


def _may_mail(user: User) -> bool:
    return bool(user.is_active and user.email)


def send_immediate(notification_ids: list[int]) -> int:
    """Send the named notifications that are due by email at once and not sent yet; how many
    messages went out."""
    sent = 0
    for pk in notification_ids:
        with transaction.atomic():
            item = (
                Notification.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("recipient")
                .filter(pk=pk, email=Delivery.IMMEDIATE, emailed_at__isnull=True)
                .first()
            )
            if item is None:
                continue
            now = deliveries(item.recipient)[item.kind]
            if now != Delivery.IMMEDIATE or not _may_mail(item.recipient):
                item.email = now if _may_mail(item.recipient) else Delivery.OFF
                item.save(update_fields=["email"])
                continue
            emails.single(item).send()
            item.emailed_at = timezone.now()
            item.save(update_fields=["emailed_at"])
            sent += 1
    return sent


def pending_digest_users() -> list[int]:
    return list(
        Notification.objects.filter(email=Delivery.DIGEST, emailed_at__isnull=True)
        .values_list("recipient_id", flat=True)
        .distinct()
        .order_by("recipient_id")
    )


def send_digest(user_id: int) -> bool:
    """One message with the person's pending digest items (those the digest still applies to);
    whether one went out."""
    with transaction.atomic():
        user = User.objects.filter(pk=user_id).first()
        if user is None:
            return False
        items = list(
            Notification.objects.select_for_update(skip_locked=True)
            .filter(recipient=user, email=Delivery.DIGEST, emailed_at__isnull=True)
            .order_by("created_at", "pk")
        )
        chosen = deliveries(user)
        due = [i for i in items if chosen[i.kind] == Delivery.DIGEST and _may_mail(user)]
        dropped = [i.pk for i in items if i not in due]
        if dropped:
            Notification.objects.filter(pk__in=dropped).update(email=Delivery.OFF)
        if not due:
            return False
        emails.digest(user, due).send()
        Notification.objects.filter(pk__in=[i.pk for i in due]).update(emailed_at=timezone.now())
    return True


def send_digests() -> int:
    """Every person's digest of what is pending; how many messages went out."""
    sent = 0
    for user_id in pending_digest_users():
        try:
            sent += send_digest(user_id)
        except Exception:  # one bad address must not stop everyone else's digest
            log.exception("notifications: the digest of user %s was not sent", user_id)
    return sent
