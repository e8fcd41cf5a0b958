"""``localhost`` and the names below it for the tests' Python HTTP clients, as browsers see them.

A studio's hub is at ``http://localhost:<port>``, its learners' servers and formgraders on
subdomains of it (``http://learner1.localhost:<port>/user/learner1/``, docs/architecture.md,
"Security model"). Python's clients differ from Chromium there in two ways, and
:func:`browse_localhost_like_a_browser` makes this test process behave as Chromium does, for the
rest of the run:

- **names**: Chromium resolves every name below ``localhost`` to the loopback address (RFC 6761);
  this machine's C library does not (``socket.getaddrinfo("learner1.localhost", 80)`` fails).
  Here they resolve to 127.0.0.1, where a studio's proxy listens. (The studio's own processes
  never resolve such names: they reach one another by address.)
- **cookies**: the hub sets its session-id cookie with ``Domain=localhost``; Chromium keeps it as
  a cookie of ``localhost`` (a domain equal to the host matches it, RFC 6265), Python's cookiejar
  never sends it back (it compares the domain with ``localhost.local``), and the hub's XSRF
  check, tied to that session, then fails.

It is the one way the tests reach those hosts: the studio fixtures
(:func:`tests.support.studio.own_studio`) and the compose stack call it, and clients then use
the real URLs, redirects and cookies included.
"""

from __future__ import annotations

import socket
from http.cookiejar import DefaultCookiePolicy, eff_request_host

LOOPBACK = "127.0.0.1"
_system_getaddrinfo = socket.getaddrinfo
_python_return_ok_domain = DefaultCookiePolicy.return_ok_domain


def is_below_localhost(host: str | bytes | None) -> bool:
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    return isinstance(host, str) and host.lower().rstrip(".").endswith(".localhost")


def _getaddrinfo(host, *args, **kwargs):
    """``socket.getaddrinfo``, with every name below ``localhost`` the loopback address."""
    return _system_getaddrinfo(LOOPBACK if is_below_localhost(host) else host, *args, **kwargs)


def _return_ok_domain(policy, cookie, request) -> bool:
    """Python's rule, but a cookie whose domain is the request's host itself is sent to it."""
    host, _effective = eff_request_host(request)
    if cookie.domain.lstrip(".") == host:
        return True
    return _python_return_ok_domain(policy, cookie, request)


def browse_localhost_like_a_browser() -> None:
    """From now on this process resolves ``<anything>.localhost`` to 127.0.0.1 and sends a
    ``Domain=localhost`` cookie back to ``localhost`` (idempotent)."""
    socket.getaddrinfo = _getaddrinfo
    DefaultCookiePolicy.return_ok_domain = _return_ok_domain
