"""A spawn returns once the new server answers (hub.spawners.ready), not when its process or
container merely exists: the hub's back-off then finds it at its first look."""

from __future__ import annotations

import asyncio
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from hub.spawners.ready import wait_until_answering
from tests.support.http_servers import serve_in_thread, stop_serving


class Scripted:
    """A local server answering ``statuses`` in turn (the last one from then on)."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.seen = 0
        scripted = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status = scripted.statuses[min(scripted.seen, len(scripted.statuses) - 1)]
                scripted.seen += 1
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/user/alice/"
        serve_in_thread(self.server)

    def close(self) -> None:
        stop_serving(self.server)


def test_a_server_answering_5xx_is_not_ready_until_it_answers_otherwise():
    server = Scripted([503, 502, 302])
    try:
        assert asyncio.run(wait_until_answering(server.url, timeout=30, interval=0.01))
        assert server.seen == 3
    finally:
        server.close()


def test_nothing_listening_gives_up_after_the_timeout():
    server = Scripted([200])
    url = server.url
    server.close()  # the port is free again: nothing answers there
    assert asyncio.run(wait_until_answering(url, timeout=0.3, interval=0.05)) is False


def test_a_server_that_dies_while_starting_ends_the_wait_at_once():
    server = Scripted([200])
    url = server.url
    server.close()
    checks: list[bool] = []

    async def still_running() -> bool:
        checks.append(False)
        return False

    answered = asyncio.run(
        wait_until_answering(url, timeout=60, interval=0.01, still_running=still_running,
                             check_every=0.05)
    )
    assert answered is False
    assert checks == [False]  # asked once, then gave up rather than waiting out the 60 s
