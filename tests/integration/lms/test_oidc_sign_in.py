"""Signing in to the hub with a studio account: the authorization code flow with PKCE, driven by
a real OIDC client (Authlib) against the running LMS, and the claims the hub builds users from."""

from __future__ import annotations

import time

import pytest
import requests
from authlib.jose import JsonWebKey, JsonWebToken
from authlib.jose.errors import BadSignatureError

from tests.support.lms_factories import UserFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("wagtail_initial_tree"),
]


def test_discovery_document_is_served_at_the_root_with_the_issuer_of_the_id_tokens(
    oidc_issuer, hub_client
):
    response = requests.get(f"{oidc_issuer}/.well-known/openid-configuration", timeout=10)

    assert response.status_code == 200
    metadata = response.json()
    assert metadata["issuer"] == oidc_issuer
    assert metadata["authorization_endpoint"] == f"{oidc_issuer}/o/authorize/"
    assert metadata["token_endpoint"] == f"{oidc_issuer}/o/token/"
    assert metadata["userinfo_endpoint"] == f"{oidc_issuer}/o/userinfo/"
    assert metadata["jwks_uri"] == f"{oidc_issuer}/o/.well-known/jwks.json"
    assert "RS256" in metadata["id_token_signing_alg_values_supported"]
    assert "S256" in metadata["code_challenge_methods_supported"]
    assert {"openid", "profile", "email", "groups"} <= set(metadata["scopes_supported"])
    assert {"sub", "preferred_username", "name", "email", "groups"} <= set(
        metadata["claims_supported"]
    )
    # DOT's own copy under /o/ names the same issuer.
    dot_copy = requests.get(f"{oidc_issuer}/o/.well-known/openid-configuration", timeout=10)
    assert dot_copy.json()["issuer"] == oidc_issuer


def test_jwks_publishes_the_rs256_signing_key(oidc_issuer):
    jwks = requests.get(f"{oidc_issuer}/o/.well-known/jwks.json", timeout=10).json()

    assert [(key["kty"], key["alg"], key["use"]) for key in jwks["keys"]] == [
        ("RSA", "RS256", "sig")
    ]
    assert "d" not in jwks["keys"][0], "the private part of the key must never be published"


def test_learner_signs_in_and_the_id_token_carries_their_identity_and_course_group(
    relying_party, learner, oidc_issuer
):
    rp = relying_party()

    token, claims = rp.sign_in(learner)

    assert token["token_type"] == "Bearer"
    assert set(token["scope"].split()) == {"openid", "profile", "email", "groups"}
    assert claims["iss"] == oidc_issuer
    assert claims["aud"] == "jupyterhub"
    assert claims["nonce"] == rp.nonce
    assert claims["exp"] > time.time()
    assert claims["sub"] == str(learner.pk)
    assert claims["preferred_username"] == "grace"
    assert claims["email"] == "grace@example.org"
    assert claims["name"] == learner.get_full_name()
    assert claims["groups"] == ["nbgrader-python-101"]


def test_instructor_gets_the_formgrade_group_of_their_course(relying_party, instructor):
    _, claims = relying_party().sign_in(instructor)

    assert claims["preferred_username"] == "ada"
    assert claims["groups"] == ["formgrade-python-101"]


def test_staff_get_the_staff_group(relying_party, staff):
    _, claims = relying_party().sign_in(staff)

    assert "staff" in claims["groups"]


def test_name_falls_back_to_the_username_without_a_full_name(relying_party, db):
    user = UserFactory(username="nameless", first_name="", last_name="")

    _, claims = relying_party().sign_in(user)

    assert claims["name"] == "nameless"


def test_userinfo_returns_the_same_claims_as_the_id_token(relying_party, learner):
    rp = relying_party()
    _, claims = rp.sign_in(learner)

    response = rp.userinfo()

    assert response.status_code == 200
    userinfo = response.json()
    for claim in ("sub", "preferred_username", "email", "name", "groups"):
        assert userinfo[claim] == claims[claim], claim


def test_without_the_groups_scope_no_groups_claim_is_released(relying_party, learner):
    rp = relying_party(scope="openid profile email")

    _, claims = rp.sign_in(learner)

    assert "groups" not in claims
    assert "groups" not in rp.userinfo().json()
    assert claims["preferred_username"] == "grace"


def test_only_openid_scope_releases_nothing_but_the_subject(relying_party, learner):
    rp = relying_party(scope="openid")

    _, claims = rp.sign_in(learner)

    assert claims["sub"] == str(learner.pk)
    assert not {"preferred_username", "name", "email", "groups"} & set(claims)
    assert set(rp.userinfo().json()) == {"sub"}


def test_client_may_authenticate_with_http_basic_as_well_as_in_the_body(relying_party, learner):
    _, claims = relying_party(auth_method="client_secret_basic").sign_in(learner)

    assert claims["preferred_username"] == "grace"


def test_id_token_signed_with_another_key_fails_verification_against_the_jwks(
    relying_party, learner
):
    rp = relying_party()
    token, claims = rp.sign_in(learner)
    jwks = requests.get(rp.metadata["jwks_uri"], timeout=10).json()
    real_kid = jwks["keys"][0]["kid"]
    forger_key = JsonWebKey.generate_key("RSA", 2048, is_private=True)
    forged = JsonWebToken(["RS256"]).encode(
        {"alg": "RS256", "kid": real_kid}, {**claims, "groups": ["staff"]}, forger_key
    )

    with pytest.raises(BadSignatureError):
        rp.verify_id_token({**token, "id_token": forged.decode()})
