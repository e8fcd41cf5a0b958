"""Ports for local (non-Docker) servers that two servers can never share.

JupyterHub's default picks a random free port and forgets it; two spawns racing (or a port freed
and handed out again while an old route still points at it) once gave two users the same port,
and the hub routed one user's URL to the other's server. Here every port has an owner, recorded
in one place per hub process, under a lock:

- a server's port is reserved for it from allocation until its server is stopped, and never
  handed to another owner in the meantime;
- a port is only handed out if nothing on the machine listens on it (a bind test), so an orphaned
  server from an earlier hub run cannot be reached through a new user's route;
- the preferred port is derived from a stable id (the server's row in the hub database), so a
  user usually gets the same port back, and concurrent allocations start at different places;
- after a hub restart, running servers claim their saved ports back before anyone else spawns.
"""

from __future__ import annotations

import errno
import socket
import threading


class NoFreePort(RuntimeError):
    """Every port in the range is taken."""


class PortAllocator:
    """Hands out ports in ``[start, end]`` on ``host``, at most one owner per port."""

    def __init__(self, start: int = 20000, end: int = 29999, host: str = "127.0.0.1") -> None:
        if not 1024 <= start <= end <= 65535:
            raise ValueError(f"invalid port range {start}-{end}")
        self.start, self.end, self.host = start, end, host
        self._lock = threading.Lock()
        self._owners: dict[int, str] = {}

    @property
    def size(self) -> int:
        return self.end - self.start + 1

    def allocate(self, owner: str, hint: int = 0) -> int:
        """A port reserved for ``owner`` (the one it already holds, if any)."""
        with self._lock:
            held = self._held_by(owner)
            if held is not None:
                return held
            first = hint % self.size
            for offset in range(self.size):
                port = self.start + (first + offset) % self.size
                if port in self._owners or not self._is_free(port):
                    continue
                self._owners[port] = owner
                return port
        raise NoFreePort(f"no free port in {self.start}-{self.end} for {owner}")

    def claim(self, owner: str, port: int) -> bool:
        """Record that ``owner`` already runs on ``port`` (restored after a hub restart).

        False when another owner holds it: the caller must not route to it.
        """
        with self._lock:
            current = self._owners.get(port)
            if current not in (None, owner):
                return False
            held = self._held_by(owner)
            if held is not None and held != port:
                del self._owners[held]
            self._owners[port] = owner
            return True

    def release(self, owner: str) -> None:
        with self._lock:
            held = self._held_by(owner)
            if held is not None:
                del self._owners[held]

    def owner(self, port: int) -> str | None:
        with self._lock:
            return self._owners.get(port)

    def _held_by(self, owner: str) -> int | None:
        for port, name in self._owners.items():
            if name == owner:
                return port
        return None

    def _is_free(self, port: int) -> bool:
        """Nothing listens on (or is bound to) ``host:port`` right now."""
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind((self.host, port))
            except OSError as exc:
                if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                    return False
                raise
        return True
