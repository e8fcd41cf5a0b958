"""What the hub gets when something is wrong: the error codes of RFC 6749 §5.2 and RFC 6750 §3
as JSON or headers (never a page or a stack trace), so oauthenticator can report them."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlsplit

import pytest
from authlib.integrations.requests_client import OAuthError
from django.utils import timezone
from oauth2_provider.models import AccessToken, Grant, RefreshToken

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("wagtail_initial_tree"),
]


def _token_error(rp, callback_url, **params) -> tuple[str, object]:
    """Exchange the code in ``callback_url``; the error code Authlib raised and the response."""
    with pytest.raises(OAuthError) as refused:
        rp.fetch_token(callback_url, **params)
    response = rp.responses[-1]
    assert response.headers["Content-Type"] == "application/json"
    assert set(response.json()) <= {"error", "error_description"}  # nothing else: no trace
    return refused.value.error, response


def _with_code(callback_url: str, code: str) -> str:
    state = parse_qs(urlsplit(callback_url).query)["state"][0]
    return f"{callback_url.split('?')[0]}?code={code}&state={state}"


def test_unknown_code_is_an_invalid_grant(relying_party, learner):
    rp = relying_party()
    callback = rp.authorize(learner)

    error, response = _token_error(rp, _with_code(callback, "forged-code-0123456789"))

    assert (error, response.status_code) == ("invalid_grant", 400)


def test_expired_code_is_an_invalid_grant(relying_party, learner):
    rp = relying_party()
    callback = rp.authorize(learner)
    Grant.objects.update(expires=timezone.now() - dt.timedelta(seconds=1))

    error, response = _token_error(rp, callback)

    assert (error, response.status_code) == ("invalid_grant", 400)


def test_wrong_pkce_verifier_is_an_invalid_grant(relying_party, learner):
    rp = relying_party()
    callback = rp.authorize(learner)

    error, response = _token_error(rp, callback, code_verifier="x" * 64)

    assert (error, response.status_code) == ("invalid_grant", 400)


def test_code_exchanged_without_its_pkce_verifier_is_refused(relying_party, learner):
    rp = relying_party()
    callback = rp.authorize(learner)

    error, response = _token_error(rp, callback, code_verifier=None)

    assert (error, response.status_code) == ("invalid_request", 400)
    assert "verifier" in response.json()["error_description"].lower()


def test_replayed_code_is_an_invalid_grant_and_revokes_the_tokens_it_bought(relying_party, learner):
    rp = relying_party()
    callback = rp.authorize(learner)
    first = rp.fetch_token(callback)
    assert rp.userinfo(first["access_token"]).status_code == 200

    error, response = _token_error(rp, callback)

    assert (error, response.status_code) == ("invalid_grant", 400)
    # RFC 6749 §4.1.2: the tokens issued from the code are revoked, refresh token included.
    assert rp.userinfo(first["access_token"]).status_code == 401
    assert not AccessToken.objects.filter(user=learner).exists()
    assert RefreshToken.objects.get(user=learner).revoked is not None
    with pytest.raises(OAuthError) as refused:
        rp.session.refresh_token(rp.metadata["token_endpoint"], first["refresh_token"])
    assert refused.value.error == "invalid_grant"


def test_refresh_token_rotates_and_keeps_the_claims(relying_party, learner):
    rp = relying_party()
    first, _ = rp.sign_in(learner)

    second = rp.session.refresh_token(rp.metadata["token_endpoint"], first["refresh_token"])

    assert second["refresh_token"] != first["refresh_token"]
    assert rp.userinfo(first["access_token"]).status_code == 401
    assert rp.userinfo(second["access_token"]).json()["groups"] == ["nbgrader-python-101"]


def test_authorization_request_without_pkce_challenge_is_refused(relying_party, learner):
    rp = relying_party()

    callback = rp.authorize(learner, pkce=False)

    query = parse_qs(urlsplit(callback).query)
    assert query["error"] == ["invalid_request"]
    assert "code" not in query
    assert query["state"] == [rp.state]
    assert not Grant.objects.exists()


def test_unregistered_redirect_uri_is_refused_without_redirecting(relying_party, learner):
    rp = relying_party()
    rp.sign_in(learner)  # signed in to the LMS: only the redirect URI is wrong
    url, _ = rp.session.create_authorization_url(
        rp.metadata["authorization_endpoint"],
        redirect_uri="https://attacker.example.org/hub/oauth_callback",
        code_verifier=rp.code_verifier,
    )

    response = rp.browse("GET", url)

    assert response.status_code == 400
    assert "Location" not in response.headers
    assert "attacker.example.org" not in response.text


def test_bad_client_secret_is_an_invalid_client(relying_party, learner):
    rp = relying_party(client_secret="not-the-secret")
    callback = rp.authorize(learner)

    error, response = _token_error(rp, callback)

    assert (error, response.status_code) == ("invalid_client", 401)
    assert not AccessToken.objects.exists()


def test_userinfo_refuses_an_expired_access_token(relying_party, learner):
    rp = relying_party()
    token, _ = rp.sign_in(learner)
    AccessToken.objects.update(expires=timezone.now() - dt.timedelta(seconds=1))

    response = rp.userinfo(token["access_token"])

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')


def test_userinfo_refuses_a_forged_access_token(relying_party, learner):
    rp = relying_party()

    response = rp.userinfo("forged-access-token")

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')
