"""What the sign-on keeps beyond django-oauth-toolkit's own tables."""

from __future__ import annotations

from django.db import models


class RedeemedCode(models.Model):
    """An authorization code that has been exchanged for tokens. DOT deletes a code when it is
    redeemed; we keep its SHA-256 digest (never the code) a little longer so that a replay of
    the code can revoke the tokens it bought (RFC 6749 §4.1.2). ``token_family`` is DOT's id for
    the refresh token and every refresh token rotated from it: revoking the family also deletes
    their access tokens."""

    code_digest = models.CharField(max_length=64, unique=True)
    token_family = models.UUIDField(null=True, blank=True)
    # A plain id, not a foreign key: DOT's token models are swappable through a setting this
    # project does not define, which a migration's foreign key would need.
    access_token_id = models.BigIntegerField(null=True, blank=True)
    redeemed_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = "redeemed authorization code"

    def __str__(self) -> str:
        return f"Authorization code redeemed at {self.redeemed_at:%Y-%m-%d %H:%M}"
