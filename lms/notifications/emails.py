"""The messages: one notification at once, or a person's daily digest. Each has a plain-text and
an HTML part rendered from templates (the HTML one escapes everything a learner wrote: thread
titles and names arrive as text), and the RFC 8058 one-click unsubscribe headers."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from lms.accounts.models import User

from . import unsubscribe
from .models import Kind, Notification

SUBJECT_CHARS = 150


def _absolute(path: str) -> str:
    return path if "://" in path else f"{settings.LMS_PUBLIC_URL}{path}"


def _subject(text: str) -> str:
    # a header: never a line break from a title
    text = " ".join(text.split())
    return text if len(text) <= SUBJECT_CHARS else text[: SUBJECT_CHARS - 1] + "…"


def _message(user: User, subject: str, template: str, context: dict, kind: str):
    link = unsubscribe.url(user.pk, kind)
    context = {
        **context,
        "user": user,
        "site_name": settings.WAGTAIL_SITE_NAME,
        "unsubscribe_url": link,
        "preferences_url": _absolute("/notifications/preferences/"),
    }
    message = EmailMultiAlternatives(
        subject=_subject(subject),
        body=render_to_string(f"notifications/email/{template}.txt", context),
        to=[user.email],
        headers={
            "List-Unsubscribe": f"<{link}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Auto-Submitted": "auto-generated",
        },
    )
    message.attach_alternative(
        render_to_string(f"notifications/email/{template}.html", context), "text/html"
    )
    return message


def single(notification: Notification) -> EmailMultiAlternatives:
    """The message for one notification sent at once; its link stops this kind."""
    user = notification.recipient
    return _message(
        user, notification.sentence, "single",
        {"item": notification, "link": _absolute(notification.url),
         "kind_label": Kind(notification.kind).label},
        notification.kind,
    )


def digest(user: User, items: list[Notification]) -> EmailMultiAlternatives:
    """One message with all of ``user``'s pending digest items; its link stops the digest."""
    rows = [{"item": item, "link": _absolute(item.url)} for item in items]
    count = len(items)
    subject = f"{settings.WAGTAIL_SITE_NAME}: {count} new notification{'s' if count != 1 else ''}"
    return _message(user, subject, "digest", {"rows": rows, "count": count}, unsubscribe.DIGEST)
