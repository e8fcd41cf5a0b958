"""One-click unsubscribe links: signed tokens naming a person and a kind of notification
(``django.core.signing``, with a salt of their own), so the link works without signing in and
nobody can make one for somebody else or another kind. RFC 8058: a mail client unsubscribes
with a POST to the link (``List-Unsubscribe-Post: List-Unsubscribe=One-Click``); a person
following it sees a page to confirm."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.urls import reverse

from .models import Kind

SALT = "lms.notifications.unsubscribe"
DIGEST = "digest"
"""The kind of a digest's link: every kind the person gets in the digest."""
REFUSED = (
    "This unsubscribe link is not valid: it may have been cut short or changed. Use the link "
    "in the message as it came, or change your email settings on the notifications page."
)


class BadLink(Exception):
    """The link's token was changed, cut short or made up."""

    def __init__(self) -> None:
        super().__init__(REFUSED)


@dataclass(frozen=True)
class Unsubscription:
    user_id: int
    kind: str  # a Kind value, or DIGEST


def token(user_id: int, kind: str) -> str:
    return signing.dumps({"u": user_id, "k": kind}, salt=SALT, compress=True)


def url(user_id: int, kind: str) -> str:
    """The absolute link (the LMS's public URL) to stop ``kind`` by email for the user."""
    path = reverse("notifications-unsubscribe", args=(token(user_id, kind),))
    return f"{settings.LMS_PUBLIC_URL}{path}"


def read(value: str) -> Unsubscription:
    """The person and kind a token names; :class:`BadLink` when it is not one this LMS
    signed."""
    try:
        data = signing.loads(value, salt=SALT)
    except signing.BadSignature:
        raise BadLink() from None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int):
        raise BadLink()
    if data.get("k") not in {*Kind.values, DIGEST}:
        raise BadLink()
    return Unsubscription(data["u"], data["k"])
