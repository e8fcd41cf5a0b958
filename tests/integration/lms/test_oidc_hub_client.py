"""Registering the hub as the LMS's OIDC client from the environment, at every deploy."""

from __future__ import annotations

import pytest
from authlib.integrations.requests_client import OAuthError
from django.core.management import CommandError, call_command
from oauth2_provider.models import get_application_model

Application = get_application_model()

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("wagtail_initial_tree"),
]

CLIENT_ID = "hub-from-env"


@pytest.fixture
def hub_env(monkeypatch):
    monkeypatch.setenv("HUB_OAUTH_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("HUB_OAUTH_CLIENT_SECRET", "first-secret-from-the-environment")
    monkeypatch.delenv("HUB_OAUTH_CALLBACK_URL", raising=False)
    return monkeypatch


def test_registers_a_confidential_rs256_client_that_skips_the_consent_screen(hub_env):
    call_command("register_hub_client")

    app = Application.objects.get(client_id=CLIENT_ID)
    assert app.client_type == Application.CLIENT_CONFIDENTIAL
    assert app.authorization_grant_type == Application.GRANT_AUTHORIZATION_CODE
    assert app.algorithm == Application.RS256_ALGORITHM
    assert app.skip_authorization is True
    assert app.redirect_uris == "http://localhost:8001/hub/oauth_callback"  # the hub's default
    assert app.client_secret != "first-secret-from-the-environment", "stored hashed"


def test_running_it_twice_keeps_one_client_and_the_same_secret_hash(hub_env):
    call_command("register_hub_client")
    first_hash = Application.objects.get(client_id=CLIENT_ID).client_secret

    call_command("register_hub_client")

    assert Application.objects.filter(client_id=CLIENT_ID).count() == 1
    assert Application.objects.get(client_id=CLIENT_ID).client_secret == first_hash


def test_registered_client_signs_a_learner_in(hub_env, relying_party, learner):
    call_command("register_hub_client")
    rp = relying_party(client_id=CLIENT_ID, client_secret="first-secret-from-the-environment")

    _, claims = rp.sign_in(learner)

    assert claims["aud"] == CLIENT_ID
    assert claims["groups"] == ["nbgrader-python-101"]


def test_changed_secret_replaces_the_old_one(hub_env, relying_party, learner):
    call_command("register_hub_client")
    hub_env.setenv("HUB_OAUTH_CLIENT_SECRET", "rotated-secret")
    call_command("register_hub_client")

    _, claims = relying_party(client_id=CLIENT_ID, client_secret="rotated-secret").sign_in(learner)
    assert claims["preferred_username"] == "grace"

    old = relying_party(client_id=CLIENT_ID, client_secret="first-secret-from-the-environment")
    with pytest.raises(OAuthError) as refused:
        old.fetch_token(old.authorize(learner))
    assert refused.value.error == "invalid_client"
    assert Application.objects.filter(client_id=CLIENT_ID).count() == 1


def test_secret_can_come_from_a_file(hub_env, tmp_path):
    secret_file = tmp_path / "hub_oauth_client_secret"
    secret_file.write_text("secret-from-a-docker-secret\n")
    hub_env.delenv("HUB_OAUTH_CLIENT_SECRET")
    hub_env.setenv("HUB_OAUTH_CLIENT_SECRET_FILE", str(secret_file))

    call_command("register_hub_client")

    from django.contrib.auth.hashers import check_password

    stored = Application.objects.get(client_id=CLIENT_ID).client_secret
    assert check_password("secret-from-a-docker-secret", stored)


def test_callback_urls_come_from_the_environment(hub_env):
    hub_env.setenv(
        "HUB_OAUTH_CALLBACK_URL",
        "https://hub.example.org/hub/oauth_callback http://127.0.0.1:8001/hub/oauth_callback",
    )

    call_command("register_hub_client")

    app = Application.objects.get(client_id=CLIENT_ID)
    assert app.redirect_uri_allowed("https://hub.example.org/hub/oauth_callback")
    assert app.redirect_uri_allowed("http://127.0.0.1:8001/hub/oauth_callback")
    assert not app.redirect_uri_allowed("https://evil.example.org/hub/oauth_callback")


def test_missing_credentials_are_a_clear_error(hub_env):
    hub_env.delenv("HUB_OAUTH_CLIENT_SECRET")
    hub_env.delenv("HUB_OAUTH_CLIENT_SECRET_FILE", raising=False)

    with pytest.raises(
        CommandError, match=r"HUB_OAUTH_CLIENT_SECRET \(or HUB_OAUTH_CLIENT_SECRET_FILE\)"
    ):
        call_command("register_hub_client")

    assert not Application.objects.exists()


def test_invalid_callback_url_is_a_clear_error(hub_env):
    hub_env.setenv("HUB_OAUTH_CALLBACK_URL", "not-a-url")

    with pytest.raises(CommandError, match="Cannot register the hub client"):
        call_command("register_hub_client")

    assert not Application.objects.exists()
