"""servicekit.web: how a hub service identifies its callers and answers, errors included.

The hub is replaced by a ``HubOAuth`` whose ``get_user`` looks tokens up in a dictionary; the
scope check and the redirect to the hub's login are JupyterHub's own.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
from typing import Any

import pytest
from jupyterhub.services.auth import HubOAuth
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPResponse
from tornado.httpserver import HTTPServer
from tornado.testing import bind_unused_port

from servicekit.errors import ServiceError
from servicekit.web import ServiceHandler, serve_until_signalled, service_application

ACCESS = "access:services!service=example"
PEOPLE = {
    "grace-token": {"name": "grace", "kind": "user", "groups": ["nbgrader-python-101"],
                    "scopes": [ACCESS]},
    "outsider-token": {"name": "outsider", "kind": "user", "groups": [], "scopes": []},
    "lms-token": {"name": "lms", "kind": "service", "scopes": [ACCESS]},
}


class FakeHubAuth(HubOAuth):
    """The hub's answers for the tokens in PEOPLE (no hub is asked)."""

    def get_user(self, handler, *, sync=True):
        async def lookup() -> dict[str, Any] | None:
            header = handler.request.headers.get("Authorization", "")
            model = PEOPLE.get(header.removeprefix("token "))
            return dict(model) if model else None

        return lookup()


class WhoHandler(ServiceHandler):
    async def get(self) -> None:
        caller = self.current_user
        self.send_json({"name": caller.name, "learns": caller.learns("python-101"),
                        "trusted": caller.trusted})


class RefuseHandler(ServiceHandler):
    async def get(self) -> None:
        raise ServiceError(429, "too-many", "Wait a minute.", {"Retry-After": "60"})


class FailHandler(ServiceHandler):
    async def get(self) -> None:
        raise RuntimeError("a secret detail of the failure")


class EchoHandler(ServiceHandler):
    async def post(self) -> None:
        self.send_json({"body": self.json_object()}, 201)


def application(**settings: Any):
    auth = FakeHubAuth(api_token="x" * 32, api_url="http://127.0.0.1:9/hub/api",
                       base_url="/services/example/", oauth_client_id="service-example",
                       access_scopes={ACCESS})
    api = "/services/example/api"
    return service_application(
        auth,
        [(f"{api}/who", WhoHandler), (f"{api}/refuse", RefuseHandler),
         (f"{api}/fail", FailHandler), (f"{api}/echo", EchoHandler)],
        title="example", trusted_services=frozenset({"lms"}), cookie_secret=b"s" * 32,
        **settings,
    )


def call(path: str, token: str | None = None, method: str = "GET", body: bytes | None = None,
         headers: dict[str, str] | None = None, **settings: Any) -> HTTPResponse:
    """One request to the application (with ``settings``) on a free local port."""

    async def scenario() -> HTTPResponse:
        sock, port = bind_unused_port()
        server = HTTPServer(application(**settings))
        server.add_sockets([sock])
        sent = dict(headers or {})
        if token:
            sent["Authorization"] = f"token {token}"
        try:
            return await AsyncHTTPClient().fetch(
                f"http://127.0.0.1:{port}/services/example/{path}", method=method, body=body,
                headers=sent, follow_redirects=False, raise_error=False,
            )
        finally:
            server.stop()

    return asyncio.run(scenario())


def error_of(response: HTTPResponse) -> dict[str, str]:
    assert response.headers["Content-Type"].startswith("application/json")
    return json.loads(response.body)


def test_a_caller_the_hub_vouches_for_is_the_current_user_with_their_course_roles():
    response = call("api/who", "grace-token")
    assert response.code == 200
    assert json.loads(response.body) == {"name": "grace", "learns": True, "trusted": False}
    assert response.headers["Cache-Control"] == "no-store"


def test_no_token_is_401_as_json_and_a_browser_is_sent_to_the_hubs_login():
    refused = call("api/who", method="POST", body=b"{}")
    assert refused.code == 401 and error_of(refused)["error"] == "unauthenticated"
    browser = call("api/who")
    assert browser.code == 302
    assert browser.headers["Location"].startswith("/hub/api/oauth2/authorize?")


def test_a_hub_user_without_access_to_the_service_is_403_naming_the_service():
    refused = call("api/who", "outsider-token")
    assert refused.code == 403
    assert error_of(refused) == {
        "error": "forbidden",
        "message": "outsider may not use the example (the hub has not granted access to it).",
    }


def test_a_service_error_answers_with_its_status_code_sentence_and_headers():
    refused = call("api/refuse", "grace-token")
    assert refused.code == 429
    assert error_of(refused) == {"error": "too-many", "message": "Wait a minute."}
    assert refused.headers["Retry-After"] == "60"


def test_an_unexpected_error_is_500_internal_and_keeps_its_details_in_the_log(caplog):
    failed = call("api/fail", "grace-token")
    assert failed.code == 500
    assert error_of(failed) == {
        "error": "internal", "message": "The example failed to answer; the error is in its log."}
    assert "a secret detail" not in failed.body.decode()
    assert "a secret detail of the failure" in caplog.text


@pytest.mark.parametrize(
    ("body", "code", "answer"),
    [
        (b"", 201, {"body": {}}),
        (b'{"a": 1}', 201, {"body": {"a": 1}}),
        (b"{not json", 400, {"error": "invalid", "message": "The body is not JSON."}),
        (b"[1, 2]", 400, {"error": "invalid", "message": "The body must be a JSON object."}),
    ],
)
def test_a_json_body_must_be_an_object(body, code, answer):
    response = call("api/echo", "grace-token", method="POST", body=body)
    assert response.code == code
    assert json.loads(response.body) == answer


def test_health_answers_without_sign_in_and_other_paths_are_json_404():
    assert call("api/health").code == 200
    assert call("").code == 200  # the hub checks the service's root when it starts
    missing = call("api/nothing-here", "grace-token")
    assert missing.code == 404
    assert error_of(missing) == {
        "error": "not-found",
        "message": "No such example API path: /services/example/api/nothing-here"}


def test_a_trusted_service_acting_for_an_instructor_is_logged_with_their_name(caplog):
    caplog.set_level(logging.INFO, logger="servicekit.web")
    response = call("api/who", "lms-token", headers={"X-Studio-User": "ada"})
    assert json.loads(response.body)["trusted"] is True
    assert "GET /services/example/api/who by lms for ada" in caplog.text


def test_the_service_listens_until_sigterm_and_cuts_off_bodies_over_the_limit():
    async def scenario() -> tuple[int, int, bool]:
        sock, port = bind_unused_port()
        sock.close()  # a free port for serve_until_signalled to bind
        url = f"http://127.0.0.1:{port}"
        serving = asyncio.ensure_future(serve_until_signalled(application(), url, 1024))
        client = AsyncHTTPClient()
        health = None
        for _ in range(100):
            try:
                health = await client.fetch(f"{url}/services/example/api/health")
                break
            except (ConnectionError, HTTPClientError, OSError):
                await asyncio.sleep(0.05)
        assert health is not None
        too_large = await client.fetch(
            f"{url}/services/example/api/echo", method="POST", body=b"x" * 4096,
            headers={"Authorization": "token grace-token"}, raise_error=False)
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.wait_for(serving, 10)
        try:
            await client.fetch(f"{url}/services/example/api/health")
        except (ConnectionError, OSError):
            stopped = True
        else:
            stopped = False
        return health.code, too_large.code, stopped

    health, too_large, stopped = asyncio.run(scenario())
    assert health == 200
    assert too_large == 400  # refused by tornado before any handler reads it
    assert stopped


METRICS_TOKEN = "metrics-token-for-the-tests-0123456789"


class Measured:
    """A collector measuring when scraped, as the grader's queue is."""

    def collect(self):
        from prometheus_client.core import GaugeMetricFamily

        yield GaugeMetricFamily("example_measured_now", "Measured when scraped", value=3)


def test_metrics_are_read_with_the_metrics_token_and_include_what_is_measured_then():
    answer = call("metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"},
                  metrics_token=METRICS_TOKEN, metrics_collectors=[Measured()])
    assert answer.code == 200
    assert answer.headers["Content-Type"].startswith("text/plain")
    assert "example_measured_now 3.0" in answer.body.decode()


@pytest.mark.parametrize("headers", [
    {}, {"Authorization": "Bearer another-token"}, {"Authorization": "token grace-token"},
    {"Authorization": f"token {METRICS_TOKEN}"},
])
def test_metrics_refuse_anyone_without_the_metrics_token_hub_users_too(headers):
    refused = call("metrics", headers=headers, metrics_token=METRICS_TOKEN)
    assert refused.code == 401
    assert error_of(refused)["error"] == "unauthenticated"
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")


def test_metrics_are_off_without_a_metrics_token():
    off = call("metrics", headers={"Authorization": "Bearer "})
    assert off.code == 404
    assert "STUDIO_METRICS_TOKEN" in error_of(off)["message"]
