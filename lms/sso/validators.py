"""The studio's OpenID Connect claims, on top of django-oauth-toolkit's validator.

DOT puts a claim in the ID token and the userinfo response only when ``oidc_claim_scope`` maps it
to a scope the client was granted; an unmapped claim is silently dropped. So every claim we add
is mapped here, and ``groups`` (not an OIDC standard claim) gets a scope of its own that the hub
must request.

Claims are returned as callables (DOT's request-agnostic ``get_additional_claims(self)`` form):
DOT then lists them in the discovery document's ``claims_supported`` and only evaluates the ones
whose scope was granted, so ``hub_groups`` runs only for clients that asked for ``groups``.
"""

from __future__ import annotations

from oauth2_provider.oauth2_validators import OAuth2Validator

from lms.courses.selectors import hub_groups

from . import services


class StudioOAuth2Validator(OAuth2Validator):
    # ``sub`` stays DOT's default: the user's primary key as a string (stable across renames).
    oidc_claim_scope = {
        **OAuth2Validator.oidc_claim_scope,
        "preferred_username": "profile",
        "name": "profile",
        "email": "email",
        "groups": "groups",
    }

    def get_additional_claims(self):
        return {
            "preferred_username": lambda request: request.user.username,
            "name": lambda request: request.user.display_name,
            "email": lambda request: request.user.email,
            "groups": lambda request: hub_groups(request.user),
        }

    def save_bearer_token(self, token, request, *args, **kwargs):
        """Remember which tokens an authorization code bought, so a replay can revoke them."""
        super().save_bearer_token(token, request, *args, **kwargs)
        if request.grant_type == "authorization_code" and "access_token" in token:
            services.remember_redeemed_code(
                request.code, self._load_access_token(token["access_token"])
            )

    def validate_code(self, client_id, code, client, request, *args, **kwargs):
        """DOT deletes a code once redeemed, so a replay fails as ``invalid_grant``. RFC 6749
        §4.1.2 adds that the tokens issued from that code SHOULD be revoked: do that too."""
        if super().validate_code(client_id, code, client, request, *args, **kwargs):
            return True
        services.revoke_tokens_of_replayed_code(code)
        return False
