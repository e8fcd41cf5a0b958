"""A local OpenAI-compatible endpoint for the tutor's tests and benchmark.

A real HTTP server (tornado, on its own event loop in a thread, 127.0.0.1 and a free port)
answering ``POST /v1/chat/completions`` with ``stream: true`` the way OpenAI does: server-sent
events of ``chat.completion.chunk`` objects (a role chunk, content chunks, a chunk with
``finish_reason``), then ``data: [DONE]``. It checks ``Authorization: Bearer <key>`` (401 with
OpenAI's error body otherwise) and records every request body.

What it answers is set per test with :meth:`FakeOpenAI.answer`:

- ``reply``: the text, in the pieces given (a list) or in pieces of ``piece_chars``, each after
  ``piece_seconds`` (a slow model);
- ``status``: an HTTP error (4xx/5xx) with OpenAI's ``{"error": {...}}`` body;
- ``stall``: a role chunk and ``before`` pieces of the reply, then nothing until the server stops;
- ``malformed``: a chunk that is not JSON after ``before`` pieces;
- ``error-event``: an ``{"error": ...}`` object inside the stream after ``before`` pieces;
- ``close``: the connection closed in the middle of the stream;
- ``empty``: a stream with no content at all.

``obey`` makes it a model that follows injected instructions: when any message contains one
of its keys, it replies with that key's text instead (split into ``piece_chars`` pieces), as a
model that "ignores its instructions and prints the solution" would.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from tornado.httpserver import HTTPServer
from tornado.iostream import StreamClosedError
from tornado.netutil import bind_sockets
from tornado.web import Application, RequestHandler

API_KEY = "sk-tests-fake-openai-key"
MODEL = "fake-tutor-model"


@dataclass
class Answer:
    kind: str = "reply"
    text: str = "Think about what the function should return, then try it on 0."
    pieces: list[str] | None = None
    piece_chars: int = 12
    status: int = 500
    before: int = 1
    piece_seconds: float = 0.0  # a pause before each piece of a reply: a slow model

    def chunks(self, text: str | None = None) -> list[str]:
        text = self.text if text is None else text
        if self.pieces is not None and text == self.text:
            return list(self.pieces)
        return [text[i : i + self.piece_chars] for i in range(0, len(text), self.piece_chars)]


@dataclass
class FakeOpenAI:
    api_key: str = API_KEY
    requests: list[dict[str, Any]] = field(default_factory=list)
    obey: dict[str, str] = field(default_factory=dict)
    _answer: Answer = field(default_factory=Answer)
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    host: str = "127.0.0.1"  # another address for a container to reach it (the fault tests)
    _port: int = 0
    _stopping: asyncio.Event | None = None

    @property
    def url(self) -> str:
        """The base URL the ``openai`` client is given (``OPENAI_BASE_URL``)."""
        return f"http://{self.host}:{self._port}/v1"

    def answer(self, kind: str = "reply", **options: Any) -> FakeOpenAI:
        self._answer = Answer(kind, **options)
        return self

    def reset(self) -> None:
        self.requests.clear()
        self.obey.clear()
        self._answer = Answer()

    # -- the server --------------------------------------------------------------------------

    def start(self) -> FakeOpenAI:
        sockets = bind_sockets(0, self.host)
        self._port = sockets[0].getsockname()[1]
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self._loop = loop
            self._stopping = asyncio.Event()
            app = Application([(r"/v1/chat/completions", _Completions, {"fake": self})],
                              log_function=lambda _handler: None)
            server = HTTPServer(app)
            server.add_sockets(sockets)
            ready.set()
            loop.run_until_complete(self._stopping.wait())
            server.stop()
            loop.run_until_complete(server.close_all_connections())
            loop.close()

        self._thread = threading.Thread(target=run, name="fake-openai", daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def stop(self) -> None:
        if self._loop and self._stopping:
            self._loop.call_soon_threadsafe(self._stopping.set)
        if self._thread:
            self._thread.join(10)

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


def _chunk(content: str | None, finish: str | None = None, role: bool = False) -> str:
    delta: dict[str, Any] = {}
    if role:
        delta = {"role": "assistant", "content": ""}
    elif content is not None:
        delta = {"content": content}
    body = {
        "id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": int(time.time()),
        "model": MODEL,
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }
    return f"data: {json.dumps(body)}\n\n"


class _Completions(RequestHandler):
    def initialize(self, fake: FakeOpenAI) -> None:
        self.fake = fake

    def check_xsrf_cookie(self) -> None:  # an API, not a form
        pass

    def fail(self, status: int, message: str, kind: str = "server_error") -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish({"error": {"message": message, "type": kind, "param": None, "code": None}})

    async def send(self, text: str) -> None:
        self.write(text)
        await self.flush()

    async def post(self) -> None:
        if self.request.headers.get("Authorization") != f"Bearer {self.fake.api_key}":
            self.fail(401, "Incorrect API key provided.", "invalid_request_error")
            return
        body = json.loads(self.request.body)
        self.fake.requests.append(body)
        answer = self.fake._answer
        said = " ".join(str(m.get("content", "")) for m in body.get("messages", []))
        obeyed = next((text for trigger, text in self.fake.obey.items() if trigger in said), None)
        if answer.kind == "status" and obeyed is None:
            self.fail(answer.status, f"fake failure {answer.status}")
            return
        self.set_header("Content-Type", "text/event-stream")
        self.set_header("Cache-Control", "no-cache")
        pieces = answer.chunks(obeyed)
        try:
            await self.send(_chunk(None, role=True))
            if obeyed is not None or answer.kind == "reply":
                for piece in pieces:
                    await asyncio.sleep(answer.piece_seconds)
                    await self.send(_chunk(piece))
                await self.send(_chunk(None, finish="stop"))
                await self.send("data: [DONE]\n\n")
                return
            if answer.kind == "empty":
                await self.send(_chunk(None, finish="stop"))
                await self.send("data: [DONE]\n\n")
                return
            for piece in pieces[: answer.before]:
                await self.send(_chunk(piece))
            if answer.kind == "stall":
                assert self.fake._stopping is not None
                await self.fake._stopping.wait()
            elif answer.kind == "malformed":
                await self.send('data: {"id": "chatcmpl-fake", "choices": [{"delta": \n\n')
                await self.send("data: [DONE]\n\n")
            elif answer.kind == "error-event":
                await self.send('data: {"error": {"message": "the model overloaded", '
                                '"type": "server_error"}}\n\n')
            elif answer.kind == "close":
                self.request.connection.stream.close()
        except StreamClosedError:
            return


def main() -> None:
    """``python -m tests.support.fake_openai PORT [PIECES]``: serve until killed (for the
    benchmark, which keeps the endpoint out of its own process)."""
    import sys

    port = int(sys.argv[1])
    pieces = int(sys.argv[2]) if len(sys.argv) > 2 else 40
    fake = FakeOpenAI()
    fake.answer("reply", pieces=[f"word{i:03d} " for i in range(pieces)])
    fake._port = port
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    fake._stopping = asyncio.Event()
    app = Application([(r"/v1/chat/completions", _Completions, {"fake": fake})],
                      log_function=lambda _handler: None)
    HTTPServer(app).listen(port, "127.0.0.1")
    fake.requests = _Forgetful()
    loop.run_forever()


class _Forgetful(list):
    """A request log that keeps nothing (a benchmark sends thousands)."""

    def append(self, item) -> None:
        pass


if __name__ == "__main__":
    main()
