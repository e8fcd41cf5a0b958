"""The error pages a learner sees, rendered by a real JupyterHub 6 (no proxy, no spawns).

The hub's own tornado application serves the OAuth callback; a fake LMS answers the token and
userinfo requests. What is asserted is the HTML JupyterHub renders through hub/templates.
"""

import asyncio
import re
import socket

from jupyterhub.app import JupyterHub
from oauthenticator.oauth2 import STATE_COOKIE_NAME, _serialize_state
from tornado.httpclient import AsyncHTTPClient
from tornado.httpserver import HTTPServer
from tornado.web import create_signed_value
from traitlets.config import Config

from hub.config import configure
from tests.unit.hub.test_hub_authenticator import FakeLms, closed_port_url, running


async def oauth_callback_page(environ, tmp_path):
    """Initialize a hub from configure(), then replay an OAuth callback against it."""
    empty = tmp_path / "no_config.py"
    empty.write_text("")
    app = JupyterHub(config=configure(Config(), environ, probe=lambda: False))
    await app.initialize(["--config", str(empty)])
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.setblocking(False)
    server = HTTPServer(app.tornado_application)
    server.add_sockets([sock])
    try:
        state = _serialize_state({"state_id": "s1", "code_verifier": "v" * 43})
        cookie = create_signed_value(app.cookie_secret, STATE_COOKIE_NAME, state).decode()
        url = (
            f"http://127.0.0.1:{sock.getsockname()[1]}/hub/oauth_callback"
            f"?code=c&state={_serialize_state({'state_id': 's1'})}"
        )
        response = await AsyncHTTPClient().fetch(
            url, headers={"Cookie": f"{STATE_COOKIE_NAME}={cookie}"}, raise_error=False
        )
        return response.code, re.sub(r"\s+", " ", response.body.decode())
    finally:
        server.stop()
        app.db.close()


def render(environ, tmp_path, monkeypatch, lms=None):
    monkeypatch.setenv("JUPYTERHUB_CRYPT_KEY", "0" * 64)
    environ |= {"LMS_PUBLIC_URL": "http://lms.example.org", "HUB_IDLE_TIMEOUT": "0"}

    async def scenario():
        if lms is None:
            environ["LMS_INTERNAL_URL"] = closed_port_url()
            return await oauth_callback_page(environ, tmp_path)
        async with running(lms) as url:
            environ["LMS_INTERNAL_URL"] = url
            return await oauth_callback_page(environ, tmp_path)

    return asyncio.run(scenario())


def test_not_enrolled_page_links_to_the_catalogue(environ, tmp_path, monkeypatch):
    status, page = render(environ, tmp_path, monkeypatch, FakeLms(groups=["unrelated"]))
    assert status == 403
    assert "<h1>403 : Not enrolled in a course</h1>" in page
    assert 'Open the <a href="http://lms.example.org/courses/">course catalogue</a>' in page
    assert 'href="http://lms.example.org">Back to the Python Learning Studio</a>' in page
    assert "Traceback" not in page


def test_lms_down_page_says_to_try_again(environ, tmp_path, monkeypatch):
    status, page = render(environ, tmp_path, monkeypatch, lms=None)
    assert status == 503
    assert "The LMS cannot be reached" in page
    assert "The LMS at http://lms.example.org cannot be reached right now" in page
    assert "Try again in a minute." in page
    assert "Traceback" not in page
