"""A spawn returns once the new server answers, so the hub's own wait finds it at once.

After ``Spawner.start()`` returns, JupyterHub polls the server with a growing back-off (0.2 s,
then 0.4, 0.8, 1.6, 3.2 s ...), so a server that starts listening just after a poll sits idle
until the next one: measured here at 0.9-2.1 s of a 4-5 s spawn (docs/architecture.md,
"Spawn latency"). The studio's spawners poll the server themselves at a short, fixed interval
before they return; the hub's first poll then succeeds. Any answer below 500 counts, as for
JupyterHub (the server's base URL answers a redirect or 404 before the user is signed in).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from tornado.httpclient import AsyncHTTPClient, HTTPClientError


async def answers(url: str, request_timeout: float = 2.0) -> bool:
    """Whether the server at ``url`` answers with a status below 500."""
    try:
        response = await AsyncHTTPClient().fetch(
            url, follow_redirects=False, raise_error=False, request_timeout=request_timeout
        )
    except (HTTPClientError, OSError):
        return False
    return response.code < 500 and response.code != 599  # 599: no answer (tornado)


async def wait_until_answering(
    url: str,
    timeout: float,
    interval: float = 0.05,
    still_running: Callable[[], Awaitable[bool]] | None = None,
    check_every: float = 1.0,
) -> bool:
    """Poll ``url`` every ``interval`` seconds until it answers; False after ``timeout`` or as
    soon as ``still_running`` (asked every ``check_every`` seconds: it may be a Docker API call)
    says the server is gone. The caller then returns anyway and the hub's own wait reports the
    failure its usual way, so a server that dies while starting is reported at once."""
    deadline = time.monotonic() + timeout
    next_check = time.monotonic() + check_every
    while time.monotonic() < deadline:
        if await answers(url):
            return True
        if still_running is not None and time.monotonic() >= next_check:
            if not await still_running():
                return False
            next_check = time.monotonic() + check_every
        await asyncio.sleep(interval)
    return False
