"""What never types a password is never throttled: while an address and an account are locked out
of the sign-in forms, the services' API tokens, the hub's client credentials at the token
endpoint, OAuth access tokens and the authorization endpoint for someone already signed in all
work from that very address."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from lms.accounts.service_accounts import SERVICE_ACCOUNTS
from tests.support.lms_factories import PASSWORD

LOCKED = 429
LOCAL = "127.0.0.1"  # where the tests, the live server's clients and "the hub" all are
TOKENS = {"grader": "0123456789abcdef0123456789abcdef0123grdr",
          "tutor": "0123456789abcdef0123456789abcdef0123tutr"}


def lock_out(settings, username: str, address: str = LOCAL) -> None:
    """Fail the LMS's sign-in form from ``address`` until both the account and the address are
    locked out, and check that the right password is refused there."""
    settings.AXES_FAILURE_LIMIT = 2
    settings.LMS_LOGIN_FAILURES_PER_ADDRESS = 3
    browser = Client(REMOTE_ADDR=address)
    for name in (username, username, "someone-else"):
        browser.post("/login/", {"username": name, "password": "not-the-password"})
    refused = browser.post("/login/", {"username": username, "password": PASSWORD})
    assert refused.status_code == LOCKED


@pytest.mark.django_db
@pytest.mark.parametrize("service", ["grader", "tutor"])
def test_a_service_token_works_from_a_locked_out_address(settings, learner, service):
    account = SERVICE_ACCOUNTS[service]
    account.ensure(TOKENS[service])
    lock_out(settings, learner.username)

    me = APIClient(REMOTE_ADDR=LOCAL, HTTP_AUTHORIZATION=f"Token {TOKENS[service]}").get(
        "/api/v1/me/")

    assert me.status_code == 200 and me.json()["username"] == account.username


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("wagtail_initial_tree")
def test_the_hub_signs_in_someone_already_signed_in_while_their_address_is_locked_out(
    settings, relying_party, learner
):
    rp = relying_party()
    rp.sign_in(learner)  # signed in to the LMS (a session) before the lockout
    lock_out(settings, learner.username)
    before = len(rp.responses)

    token, claims = rp.sign_in(learner)  # the authorization endpoint, then the token endpoint

    assert claims["preferred_username"] == learner.username
    assert not any('name="password"' in r.text for r in rp.responses[before:])  # no form
    assert rp.userinfo(token["access_token"]).json()["preferred_username"] == learner.username
    bearer = APIClient(REMOTE_ADDR=LOCAL, HTTP_AUTHORIZATION=f"Bearer {token['access_token']}")
    assert bearer.get("/api/v1/me/").json()["username"] == learner.username
