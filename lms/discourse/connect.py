"""DiscourseConnect, the protocol (Discourse's ``lib/discourse_connect_base.rb``), without Django.

Discourse sends the browser to the provider with ``?sso=<payload>&sig=<signature>``: the payload
is a query string (``nonce``, ``return_sso_url``) in base64, the signature the hex HMAC-SHA256 of
the base64 text under the secret both sides share. The provider answers by sending the browser to
``return_sso_url`` with a payload and signature built the same way, carrying the ``nonce`` and
who the person is (``external_id``, ``email``, ``username``, ...). Booleans are ``true`` and
``false``; group lists are comma-separated names.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from urllib.parse import parse_qsl, urlencode

MAX_PAYLOAD = 4096  # characters of base64; Discourse's request payload is about 150


class ConnectError(Exception):
    """A request the provider must refuse; the message says why, for a person."""


def sign(payload: str, secret: str) -> str:
    """The hex HMAC-SHA256 of the base64 ``payload`` under ``secret``."""
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def verify(payload: str | None, signature: str | None, secret: str) -> dict[str, str]:
    """The fields of a signed request, once its signature is checked (in constant time).

    Raises :class:`ConnectError` for a request without payload or signature, with a signature
    that does not match, or a payload that is not base64 of a query string.
    """
    if not payload or not signature:
        raise ConnectError("The sign-in request from Discourse is not signed.")
    if len(payload) > MAX_PAYLOAD:
        raise ConnectError("The sign-in request from Discourse is too long.")
    if not hmac.compare_digest(sign(payload, secret).encode(), signature.lower().encode()):
        raise ConnectError("The sign-in request's signature does not match: it was not sent by "
                           "this school's Discourse, or was changed on the way.")
    try:
        # Older Discourse versions wrap the base64 text in lines; the signature covers them.
        text = base64.b64decode("".join(payload.split()), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise ConnectError("The sign-in request from Discourse cannot be read.") from None
    return dict(parse_qsl(text, keep_blank_values=True))


def encode(fields: Mapping[str, object], secret: str) -> str:
    """The signed answer as a query string, ``sso=<payload>&sig=<signature>``; ``True`` and
    ``False`` become ``true`` and ``false``, ``None`` fields are left out."""
    values = {
        name: ("true" if value else "false") if isinstance(value, bool) else str(value)
        for name, value in fields.items()
        if value is not None
    }
    payload = base64.b64encode(urlencode(values).encode()).decode()
    return urlencode({"sso": payload, "sig": sign(payload, secret)})
