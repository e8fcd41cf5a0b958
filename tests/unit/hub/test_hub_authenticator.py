"""Sign-on through the LMS: groups, admins, the 'not enrolled' page and the LMS being down.

A tiny tornado app stands in for the LMS's token and userinfo endpoints, so the real
oauthenticator code path runs (HTTP client, PKCE parameters, groups from auth_state).
"""

import asyncio
import json
import socket
from contextlib import asynccontextmanager

import pytest
from oauthenticator.oauth2 import _serialize_state
from tornado import web
from tornado.httpclient import HTTPClientError
from tornado.httpserver import HTTPServer

from hub.authenticator import StudioAuthenticator
from hub.errors import LmsUnreachable, NotEnrolled


class FakeLms:
    def __init__(self, groups=(), username="alice", status=200):
        self.userinfo = {"sub": "1", "preferred_username": username, "groups": list(groups)}
        self.status = status
        self.token_requests = []


class TokenHandler(web.RequestHandler):
    def post(self):
        lms = self.settings["lms"]
        body = self.request.body_arguments
        lms.token_requests.append({key: self.get_body_argument(key) for key in body})
        self.set_status(lms.status)
        self.write({"access_token": "at", "token_type": "Bearer", "scope": "openid groups"})


class UserinfoHandler(web.RequestHandler):
    def get(self):
        assert self.request.headers["Authorization"] == "Bearer at"
        self.write(json.dumps(self.settings["lms"].userinfo))


@asynccontextmanager
async def running(lms):
    routes = [(r"/o/token/", TokenHandler), (r"/o/userinfo/", UserinfoHandler)]
    app = web.Application(routes, lms=lms)
    server = HTTPServer(app)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    sock.setblocking(False)
    server.add_sockets([sock])
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.stop()


def closed_port_url():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


class FakeCallbackHandler:
    """What oauthenticator reads from the OAuth callback request."""

    def get_argument(self, name, default=None):
        return {"code": "the-code"}.get(name, default)

    def get_state_cookie(self):
        return _serialize_state({"state_id": "x", "code_verifier": "v" * 43})


def make_authenticator(lms_url, **kw):
    return StudioAuthenticator(
        lms_public_url="http://lms.example.org",
        lms_internal_url=lms_url,
        client_id="hub",
        client_secret="s3cret",
        oauth_callback_url="http://127.0.0.1:8001/hub/oauth_callback",
        **kw,
    )


def login(lms):
    async def scenario():
        async with running(lms) as url:
            auth = make_authenticator(url)
            return await auth.get_authenticated_user(FakeCallbackHandler(), None)

    return asyncio.run(scenario())


def test_learner_signs_in_with_lms_groups_as_hub_groups():
    lms = FakeLms(groups=["nbgrader-python-101"])
    model = login(lms)
    assert model["name"] == "alice"
    assert model["groups"] == ["nbgrader-python-101"]
    assert model["admin"] is False
    (request,) = lms.token_requests
    assert request["code_verifier"] == "v" * 43  # PKCE
    assert request["client_secret"] == "s3cret"  # client_secret_post
    assert request["redirect_uri"] == "http://127.0.0.1:8001/hub/oauth_callback"


def test_staff_are_admins():
    assert login(FakeLms(groups=["staff"]))["admin"] is True


def test_instructor_is_not_an_admin():
    model = login(FakeLms(groups=["formgrade-python-101"]))
    assert model["admin"] is False
    assert model["groups"] == ["formgrade-python-101"]


def test_user_without_enrollment_gets_a_page_that_says_how_to_enroll():
    with pytest.raises(NotEnrolled) as caught:
        login(FakeLms(groups=["some-other-group"]))
    error = caught.value
    assert error.status_code == 403
    assert "not enrolled in any course" in error.jupyterhub_message
    assert 'href="http://lms.example.org/courses/"' in error.jupyterhub_html_message
    assert "alice" in error.jupyterhub_html_message


def test_unenrolled_username_is_escaped_in_the_page():
    auth = StudioAuthenticator(lms_public_url="http://lms")
    with pytest.raises(NotEnrolled) as caught:
        asyncio.run(auth.check_allowed("<b>x", {"name": "<b>x", "admin": False, "groups": []}))
    assert "<b>x" not in caught.value.jupyterhub_html_message


def test_unsafe_username_from_the_lms_is_refused():
    assert login(FakeLms(groups=["staff"], username="../etc")) is None
    assert login(FakeLms(groups=["staff"], username="Alice Smith")) is None


def test_lms_refusing_connections_shows_a_503_that_names_the_lms():
    auth = make_authenticator(closed_port_url())
    with pytest.raises(LmsUnreachable) as caught:
        asyncio.run(auth.get_authenticated_user(FakeCallbackHandler(), None))
    assert caught.value.status_code == 503
    assert "The LMS at http://lms.example.org cannot be reached" in caught.value.jupyterhub_message
    assert "Try again in a minute" in caught.value.jupyterhub_message


def test_lms_server_error_shows_the_same_503():
    with pytest.raises(LmsUnreachable):
        login(FakeLms(groups=["staff"], status=502))


def test_lms_client_errors_pass_through_for_token_refresh():
    with pytest.raises(HTTPClientError) as caught:
        login(FakeLms(groups=["staff"], status=400))
    assert caught.value.code == 400


def test_signed_in_users_keep_their_session_while_the_lms_is_down():
    class User:
        name = "alice"

        async def get_auth_state(self):
            return {"token_response": {"access_token": "at", "token_type": "Bearer"}}

    auth = make_authenticator(closed_port_url(), enable_auth_state=True)
    assert asyncio.run(auth.refresh_user(User())) is True
