"""Fixtures for the tutor extension's server side (extensions/pls_tutor): a real jupyter_server
with the extension loaded (pytest-jupyter's ``jp_fetch``) and a fake tutor service started in
the test's own event loop, which records what reached it and answers as each test scripts.

Each test names how the tutor is reachable before it names ``jp_fetch`` (fixtures are set up
in argument order, and the server reads PLS_TUTOR_URL when it starts): ``tutor`` (the fake,
running), ``no_tutor_url`` (PLS_TUTOR_URL unset) or ``tutor_down`` (a port nobody listens on).
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from pytest_jupyter.jupyter_server import *  # noqa: F403 - jp_fetch, jp_serverapp and friends
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.web import Application, RequestHandler

SERVER_TOKEN = "learner-server-hub-token"


@dataclass
class Received:
    """One request as the fake tutor saw it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


# What the fake does for `POST ask`: given the handler, write and flush the answer.
AskScript = Callable[[RequestHandler], Awaitable[None]]


@dataclass
class FakeTutor:
    """The tutor service's API at ``url``, answering from ``status``, ``history`` and
    ``ask`` (a script); ``received`` lists every request in order."""

    url: str
    received: list[Received] = field(default_factory=list)
    status: tuple[int, dict[str, Any]] = (200, {})
    history: tuple[int, dict[str, Any]] = (200, {"exchanges": []})
    ask: AskScript | None = None


class _Recording(RequestHandler):
    def initialize(self, fake: FakeTutor) -> None:
        self.fake = fake

    def prepare(self) -> None:
        self.fake.received.append(Received(
            self.request.method or "", self.request.path,
            {key: self.get_query_argument(key) for key in self.request.query_arguments},
            dict(self.request.headers), self.request.body,
        ))

    def answer(self, reply: tuple[int, dict[str, Any]]) -> None:
        status, body = reply
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))


class _Status(_Recording):
    def get(self) -> None:
        self.answer(self.fake.status)


class _History(_Recording):
    def get(self) -> None:
        self.answer(self.fake.history)


class _Ask(_Recording):
    async def post(self) -> None:
        assert self.fake.ask is not None, "the test did not script POST ask"
        await self.fake.ask(self)
        if not self._finished:
            self.finish()


@pytest.fixture
def tutor(jp_asyncio_loop, monkeypatch) -> FakeTutor:
    """A fake tutor service on a loopback port, as PLS_TUTOR_URL (its service prefix, as the
    hub may give it), with this server's hub token in JUPYTERHUB_API_TOKEN."""
    sockets = bind_sockets(0, "127.0.0.1")
    port = sockets[0].getsockname()[1]
    fake = FakeTutor(url=f"http://127.0.0.1:{port}/services/tutor/")
    app = Application([
        (r"/services/tutor/api/status", _Status, {"fake": fake}),
        (r"/services/tutor/api/history", _History, {"fake": fake}),
        (r"/services/tutor/api/ask", _Ask, {"fake": fake}),
    ])

    async def start() -> HTTPServer:
        server = HTTPServer(app)
        server.add_sockets(sockets)
        return server

    server = jp_asyncio_loop.run_until_complete(start())
    monkeypatch.setenv("PLS_TUTOR_URL", fake.url)
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", SERVER_TOKEN)
    yield fake
    server.stop()
    jp_asyncio_loop.run_until_complete(asyncio.wait_for(server.close_all_connections(), 10))


@pytest.fixture
def server_token() -> str:
    """The hub token the learner's server holds (JUPYTERHUB_API_TOKEN in these tests)."""
    return SERVER_TOKEN


@pytest.fixture
def no_tutor_url(monkeypatch) -> None:
    """A server whose hub set no PLS_TUTOR_URL (a studio without the tutor service)."""
    monkeypatch.delenv("PLS_TUTOR_URL", raising=False)
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", SERVER_TOKEN)


@pytest.fixture
def tutor_down(monkeypatch) -> str:
    """PLS_TUTOR_URL names a loopback port that nothing listens on (the tutor is down)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/services/tutor/api"
    monkeypatch.setenv("PLS_TUTOR_URL", url)
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", SERVER_TOKEN)
    return url


@pytest.fixture
def jp_server_config():
    """A server with the tutor's server extension loaded, as the learner image enables it."""
    return {"ServerApp": {"jpserver_extensions": {"pls_tutor": True}}}
