"""The OpenID Connect provider's URLs: django-oauth-toolkit under ``/o/`` and the discovery
document at the root, ``/.well-known/openid-configuration`` (the contract the hub relies on).

The issuer is ``OIDC_ISS_ENDPOINT`` (``LMS_PUBLIC_URL``, an origin without a path), so this root
document is exactly where OIDC Discovery says ``<issuer>/.well-known/openid-configuration`` is.

Only the endpoints a relying party needs are mounted: authorize, token, revoke, introspect and
the OIDC ones (discovery, JWKS, userinfo). DOT's application and token management pages are left
out on purpose: they would let any signed-in learner register OAuth clients. Staff manage the
hub's client with ``register_hub_client`` or in the Django admin.
"""

from django.urls import include, path
from oauth2_provider import urls as dot_urls
from oauth2_provider import views as dot_views

_provider_urls = [
    path("authorize/", dot_views.AuthorizationView.as_view(), name="authorize"),
    path("token/", dot_views.TokenView.as_view(), name="token"),
    path("revoke_token/", dot_views.RevokeTokenView.as_view(), name="revoke-token"),
    path("introspect/", dot_views.IntrospectTokenView.as_view(), name="introspect"),
    *dot_urls.oidc_urlpatterns,
]

urlpatterns = [
    path(
        ".well-known/openid-configuration",
        dot_views.ConnectDiscoveryInfoView.as_view(),
        name="openid-configuration",
    ),
    path("o/", include((_provider_urls, "oauth2_provider"))),
]
