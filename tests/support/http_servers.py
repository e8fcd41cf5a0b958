"""Fake HTTP servers (``http.server``) served from a thread, stopped at once.

``socketserver``'s ``serve_forever()`` looks for a shutdown request only between polls
(``poll_interval``, 0.5 s by default), so ``shutdown()`` waited up to half a second for each of
the hundreds of fakes a run starts. Served here, the loop polls every :data:`POLL_SECONDS`.
"""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

POLL_SECONDS = 0.01

Handle = Callable[[BaseHTTPRequestHandler, str], None]


def serve_in_thread(server: socketserver.BaseServer) -> threading.Thread:
    """Serve ``server`` from a daemon thread until :func:`stop_serving`."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": POLL_SECONDS},
                              daemon=True)
    thread.start()
    return thread


def stop_serving(server: socketserver.BaseServer) -> None:
    """Stop serving (within :data:`POLL_SECONDS`) and close the listening socket; again is
    harmless."""
    server.shutdown()
    server.server_close()


def _passing(handle: Handle, method: str):
    return lambda handler: handle(handler, method)


def serve_loopback(
    handle: Handle, methods: tuple[str, ...] = ("GET", "POST", "PUT", "DELETE")
) -> ThreadingHTTPServer:
    """A threaded HTTP server on 127.0.0.1 (a free port), served from a thread until
    :func:`stop_serving`, passing each request of ``methods`` to ``handle(handler, method)``;
    no access log."""
    handlers = {f"do_{method}": _passing(handle, method) for method in methods}
    handler = type("Handler", (BaseHTTPRequestHandler,),
                   {**handlers, "log_message": lambda self, *args: None})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    serve_in_thread(server)
    return server
