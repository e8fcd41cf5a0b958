"""Writes of the sign-on: registering the hub as an OIDC client, and revoking what a replayed
authorization code bought."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable

from django.contrib.auth.hashers import check_password, identify_hasher
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from oauth2_provider.models import (
    get_access_token_model,
    get_application_model,
    get_refresh_token_model,
)

from .models import RedeemedCode

Application = get_application_model()

# A replay is caught only while its digest is kept. Codes live 60 seconds, so a day is ample;
# older digests are pruned whenever a new code is redeemed.
REDEEMED_CODE_RETENTION = dt.timedelta(days=1)


@transaction.atomic
def register_confidential_client(
    client_id: str, client_secret: str, redirect_uris: Iterable[str], name: str
) -> tuple[Application, bool]:
    """Create or update the first-party OIDC client ``client_id`` (the hub): confidential,
    authorization code grant, RS256 ID tokens, no consent screen. Returns ``(app, created)``.

    Idempotent. DOT stores client secrets hashed, so the secret is compared with the stored hash
    and replaced only when it differs: re-running with the same secret changes nothing, running
    with a new one makes the new secret the only valid one.
    """
    if isinstance(redirect_uris, str):
        redirect_uris = redirect_uris.split()
    if not client_id or not client_secret:
        raise ValidationError("A client id and a client secret are required.")
    try:
        identify_hasher(client_secret)
    except ValueError:
        pass  # a plain secret, as expected
    else:
        # DOT would store it verbatim, taking it for an already-hashed secret.
        raise ValidationError("The client secret looks like a password hash; use a random token.")

    app = Application.objects.select_for_update().filter(client_id=client_id).first()
    created = app is None
    if created:
        app = Application(client_id=client_id)
    app.name = name
    app.client_type = Application.CLIENT_CONFIDENTIAL
    app.authorization_grant_type = Application.GRANT_AUTHORIZATION_CODE
    app.algorithm = Application.RS256_ALGORITHM
    app.redirect_uris = " ".join(redirect_uris)
    app.skip_authorization = True  # first-party: signing in to the hub needs no consent screen
    app.hash_client_secret = True
    if created or not check_password(client_secret, app.client_secret):
        app.client_secret = client_secret  # hashed by DOT's ClientSecretField on save
    app.full_clean()
    app.save()
    return app, created


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def remember_redeemed_code(code: str, access_token) -> None:
    """Record that ``code`` bought ``access_token`` (and its refresh token family)."""
    refresh_token = (
        get_refresh_token_model().objects.filter(access_token=access_token).first()
        if access_token is not None
        else None
    )
    RedeemedCode.objects.filter(redeemed_at__lt=timezone.now() - REDEEMED_CODE_RETENTION).delete()
    RedeemedCode.objects.update_or_create(
        code_digest=_digest(code),
        defaults={
            "access_token_id": access_token.pk if access_token is not None else None,
            "token_family": refresh_token.token_family if refresh_token else None,
        },
    )


def revoke_tokens_of_replayed_code(code: str) -> bool:
    """If ``code`` was already redeemed, revoke every token it bought (the access token, the
    refresh token and all refresh/access tokens rotated from it). True if it was a replay."""
    redeemed = RedeemedCode.objects.filter(code_digest=_digest(code)).first()
    if redeemed is None:
        return False
    get_refresh_token_model().revoke_family(redeemed.token_family)
    get_access_token_model().objects.filter(pk=redeemed.access_token_id).delete()
    return True
