"""Who is on the other end of a request: the one rule for a client's address in the LMS.

Sign-in throttling counts failures per address (``lms.accounts.signin``) and the API's
anonymous rate limit is kept per address (``lms.api.throttling``); both ask
:func:`client_address`. Behind the studio's front proxy (docker-compose.yml: nginx, which
appends the address it saw to ``X-Forwarded-For``) every request comes from the proxy, so the
client is in that header; but anybody can send the header, so it is believed only from a proxy
listed in ``LMS_TRUSTED_PROXIES`` (settings ``LMS_TRUSTED_PROXIES``: addresses, networks or
host names such as compose's ``front``). Without one (``make up``: browsers reach the LMS
directly) the peer is the client and the header is ignored.

The header is read from the right, the way each proxy appended to it: every hop a trusted proxy
vouches for is skipped, and the first address no listed proxy has is the client. So a client's
own ``X-Forwarded-For`` (the left part) never counts, and a TLS terminator in front of the front
proxy only needs listing too.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import time
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

logger = logging.getLogger(__name__)

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
# A proxy named by its host name is looked up again after this many seconds, so a restarted
# container with a new address is trusted again (and its old address no longer is).
NAME_TTL_SECONDS = 30


def client_address(request: HttpRequest) -> str | None:
    """The address of the client behind ``request``: the peer, or, when the peer is a trusted
    proxy, the first hop from the right of ``X-Forwarded-For`` that no trusted proxy has."""
    peer = request.META.get("REMOTE_ADDR") or None
    proxies = getattr(settings, "LMS_TRUSTED_PROXIES", None) or []
    if not proxies or not _trusted(peer, proxies):
        return peer
    client = peer
    for hop in reversed(request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")):
        address = _address(hop.strip())
        if address is None:  # not an address: the proxies would not have written it
            break
        client = str(address)
        if not _trusted(client, proxies):
            return client
    return client


def _address(text: str | None) -> Address | None:
    try:
        return ipaddress.ip_address(text or "")
    except ValueError:
        return None


def _trusted(text: str | None, proxies: list[str]) -> bool:
    address = _address(text)
    if address is None:
        return False
    return any(address in network for network in _networks(tuple(proxies)))


def _networks(proxies: tuple[str, ...]) -> list[Network]:
    networks = []
    for entry in proxies:
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:  # a host name (the settings allow nothing else)
            bucket = int(time.monotonic() // NAME_TTL_SECONDS)
            networks.extend(ipaddress.ip_network(a.split("%")[0]) for a in _resolve(entry, bucket))
    return networks


@lru_cache(maxsize=64)
def _resolve(name: str, bucket: int) -> tuple[str, ...]:
    """The addresses of ``name``; cached per ``bucket`` (a time slot of ``NAME_TTL_SECONDS``)."""
    try:
        found = socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)
    except OSError as error:
        logger.warning("Trusted proxy %r does not resolve (%s): its requests count as its own",
                       name, error)
        return ()
    return tuple(sorted({info[4][0] for info in found}))
