"""Fake HTTP servers (``http.server``) served from a thread, stopped at once.

``socketserver``'s ``serve_forever()`` looks for a shutdown request only between polls
(``poll_interval``, 0.5 s by default), so ``shutdown()`` waited up to half a second for each of
the hundreds of fakes a run starts. Served here, the loop polls every :data:`POLL_SECONDS`.
"""

from __future__ import annotations

import socketserver
import threading

POLL_SECONDS = 0.01


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
