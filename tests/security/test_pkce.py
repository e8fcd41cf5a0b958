"""The OIDC provider takes PKCE with S256 only (RFC 9700 §2.1.1): an authorization request whose
challenge is ``plain``, or has no method (which means plain), is refused the way RFC 7636 §4.4.1
says, redirected back to the client with ``invalid_request``, so the hub's oauthenticator can
report it; S256 signs in. The hub's client (oauthenticator) sends S256."""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import parse_qs, urlsplit

import pytest
from authlib.common.security import generate_token
from oauthenticator.oauth2 import OAuthLoginHandler
from traitlets.config import Config

from hub.authenticator import StudioAuthenticator
from hub.config import configure
from tests.support.lms_fixtures import HUB_CALLBACK_URL

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("wagtail_initial_tree"),
]


def _answer(callback_url: str) -> dict[str, str]:
    assert callback_url.startswith(HUB_CALLBACK_URL), callback_url
    return {key: values[0] for key, values in parse_qs(urlsplit(callback_url).query).items()}


@pytest.mark.parametrize("method", ["plain", None])
def test_a_plain_pkce_challenge_is_refused_with_invalid_request(relying_party, learner, method):
    rp = relying_party()
    verifier = generate_token(48)
    challenge = {"code_challenge": verifier}
    if method:
        challenge["code_challenge_method"] = method

    answer = _answer(rp.authorize(learner, pkce=False, **challenge))

    assert answer["error"] == "invalid_request"
    assert "S256" in answer["error_description"]
    assert answer["state"] == rp.state
    assert "code" not in answer


def test_an_s256_pkce_challenge_signs_in(relying_party, learner):
    token, claims = relying_party().sign_in(learner)

    assert claims["preferred_username"] == learner.username
    assert token["access_token"]


def test_discovery_offers_s256_only(relying_party):
    assert relying_party().metadata["code_challenge_methods_supported"] == ["S256"]


def test_the_hubs_client_sends_s256(tmp_path, python101_dir):
    """The hub as ``configure(c)`` builds it keeps oauthenticator's PKCE on, and oauthenticator's
    login handler makes its challenge as S256 of its verifier (the only method it sends)."""
    environ = {"STUDIO_VAR_DIR": str(tmp_path / "var"),
               "STUDIO_COURSES_DIR": str(python101_dir.parent)}
    hub_config = configure(Config(), environ, probe=lambda: False)
    hub_authenticator = StudioAuthenticator(config=hub_config)
    assert hub_authenticator.enable_pkce is True
    assert hub_authenticator.login_handler is OAuthLoginHandler

    verifier, challenge = OAuthLoginHandler._generate_pkce_params(None)

    assert challenge == base64.urlsafe_b64encode(
        hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
