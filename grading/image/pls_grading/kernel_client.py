"""The grading runner's client of one Jupyter kernel: start it, talk to it, stop it.

:mod:`pls_grading.execute` runs in a fresh container for every submission, so every module it
imports is imported again for every submission: jupyter_client with nbclient and nbformat were
~0.18 s of CPU each time (tornado, traitlets, jsonschema, dateutil, ... ~400 modules), about a
sixth of what a graded submission cost in all. This module speaks the part of the Jupyter
messaging protocol (version 5.3) the runner needs, on pyzmq and the standard library alone
(~0.05 s): the kernel's connection file, HMAC-signed messages on the shell, control and IOPub
channels, the kernel spec's ``interrupt_mode``, and the kernel's process (group).

It follows jupyter_client where the two meet: kernel specs are looked up in Jupyter's data path
(``jupyter_core.paths``), ``python`` in a spec's ``argv`` is this interpreter, the kernel gets a
session of its own (so an interrupt or a kill reaches what it started), and TCP ports on the
loopback interface are picked the way jupyter_client picks them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import zmq
from jupyter_core.paths import jupyter_path

log = logging.getLogger("pls_grading.kernel_client")

PROTOCOL_VERSION = "5.3"
DELIMITER = b"<IDS|MSG>"
CHANNELS = ("shell", "control", "iopub")
KERNEL_NAME = re.compile(r"^[A-Za-z0-9._-]+$")
PYTHON_NAMES = {"python", f"python{sys.version_info[0]}"}
PROBE_SECONDS = 0.5  # how long a started kernel's IOPub may stay silent before asking again


class NoSuchKernel(LookupError):
    """No kernel spec of that name in Jupyter's data path."""


class KernelDied(Exception):
    """The kernel's process ended while the runner waited for it."""


@dataclass(frozen=True)
class KernelSpec:
    """What a ``kernel.json`` says about starting its kernel."""

    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    interrupt_mode: str = "signal"
    resource_dir: str = ""


def find_kernel_spec(name: str) -> KernelSpec:
    """The first ``kernels/<name>/kernel.json`` in Jupyter's data path, as jupyter_client's
    KernelSpecManager finds it."""
    if not KERNEL_NAME.match(name):
        raise NoSuchKernel(name)
    for folder in jupyter_path("kernels"):
        path = Path(folder, name, "kernel.json")
        if not path.is_file():
            continue
        spec = json.loads(path.read_text())
        argv = spec.get("argv")
        if not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv):
            raise NoSuchKernel(f"{path}: 'argv' is not a list of strings")
        env = spec.get("env") or {}
        return KernelSpec(
            name=name,
            argv=argv,
            env={str(k): str(v) for k, v in env.items()} if isinstance(env, dict) else {},
            interrupt_mode=str(spec.get("interrupt_mode") or "signal"),
            resource_dir=str(path.parent),
        )
    raise NoSuchKernel(name)


def free_ports(count: int) -> list[int]:
    """Ports on the loopback interface that nothing listens on now (jupyter_client's way: bind
    to port 0, all at once so that they differ, then let go)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\0" * 8)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


class Kernel:
    """One kernel process and this process's sockets to it.

    :meth:`start` launches it and waits until it answers on the shell channel *and* its IOPub
    messages arrive (a subscriber that connects late misses what was published before);
    :meth:`receive` returns the next message from any channel. Messages whose signature does
    not match the session key are dropped, as jupyter_client drops them."""

    def __init__(
        self, spec: KernelSpec, *, cwd: str, env: dict[str, str], extra_arguments: list[str],
        runtime_dir: Path,
    ) -> None:
        self.spec = spec
        self.cwd = cwd
        self.env = {**env, **spec.env}
        self.extra_arguments = extra_arguments
        self.runtime_dir = runtime_dir
        self.key = secrets.token_hex(32).encode()
        self.session = uuid.uuid4().hex
        self.process: subprocess.Popen[bytes] | None = None
        self.sockets: dict[str, zmq.Socket] = {}
        self.poller = zmq.Poller()
        self.connection_file: Path | None = None

    # -- the process ------------------------------------------------------------------------

    def start(self, timeout: float) -> dict[str, Any]:
        """Launch the kernel and wait for it; the content of its ``kernel_info_reply``."""
        ports = dict(zip(("shell", "iopub", "stdin", "control", "hb"), free_ports(5),
                         strict=True))
        self.runtime_dir.mkdir(parents=True, exist_ok=True)
        self.connection_file = self.runtime_dir / f"kernel-{self.session}.json"
        fd = os.open(self.connection_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump({
                **{f"{name}_port": port for name, port in ports.items()},
                "ip": "127.0.0.1", "transport": "tcp", "key": self.key.decode(),
                "signature_scheme": "hmac-sha256", "kernel_name": self.spec.name,
            }, out)
        context = zmq.Context.instance()
        for name, kind in (("shell", zmq.DEALER), ("control", zmq.DEALER), ("iopub", zmq.SUB)):
            sock = context.socket(kind)
            sock.linger = 0
            if kind == zmq.SUB:
                sock.setsockopt(zmq.SUBSCRIBE, b"")
            sock.connect(f"tcp://127.0.0.1:{ports[name]}")
            self.sockets[name] = sock
            self.poller.register(sock, zmq.POLLIN)
        self.process = subprocess.Popen(  # noqa: S603 - the kernel spec found at start
            self.command(), cwd=self.cwd, env=self.env, start_new_session=True,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        return self.wait_until_ready(time.monotonic() + timeout)

    def command(self) -> list[str]:
        argv = [
            part.replace("{connection_file}", str(self.connection_file))
            .replace("{resource_dir}", self.spec.resource_dir)
            for part in self.spec.argv
        ]
        if argv[0] in PYTHON_NAMES:
            argv[0] = sys.executable
        return argv + self.extra_arguments

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait_until_ready(self, deadline: float) -> dict[str, Any]:
        """Ask for ``kernel_info`` until both its reply and an IOPub message about it arrive."""
        asked: set[str] = set()
        info: dict[str, Any] | None = None
        heard = False
        next_ask = 0.0
        while info is None or not heard:
            now = time.monotonic()
            if now >= deadline:
                raise TimeoutError("the kernel did not answer in time")
            if not self.alive():
                raise KernelDied(f"the kernel exited with status {self.process.returncode}")
            if now >= next_ask:
                asked.add(self.send("shell", "kernel_info_request", {}))
                next_ask = now + PROBE_SECONDS
            got = self.receive(min(deadline, next_ask) - now)
            if got is None:
                continue
            channel, msg = got
            if msg["parent_header"].get("msg_id") not in asked:
                continue
            if channel == "shell" and msg["msg_type"] == "kernel_info_reply":
                info = msg["content"]
            elif channel == "iopub":
                heard = True
        return info

    def interrupt(self) -> None:
        """As the kernel spec says: SIGINT to the kernel's process group, or a message."""
        if self.spec.interrupt_mode == "message":
            self.send("control", "interrupt_request", {})
        else:
            self.signal_group(signal.SIGINT)

    def signal_group(self, signum: int) -> None:
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signum)

    def close(self) -> None:
        """Kill the kernel with what it started in its session, and let go of it."""
        for sock in self.sockets.values():
            sock.close(linger=0)
        self.sockets.clear()
        if self.process is not None:
            self.signal_group(signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=5)
        if self.connection_file is not None:
            self.connection_file.unlink(missing_ok=True)

    # -- messages ---------------------------------------------------------------------------

    def sign(self, parts: list[bytes]) -> bytes:
        digest = hmac.new(self.key, digestmod=hashlib.sha256)
        for part in parts:
            digest.update(part)
        return digest.hexdigest().encode()

    def send(self, channel: str, msg_type: str, content: dict[str, Any]) -> str:
        """Send a request; its ``msg_id``, which the kernel's answers name as their parent."""
        header = {
            "msg_id": uuid.uuid4().hex,
            "msg_type": msg_type,
            "username": "pls-grading",
            "session": self.session,
            "date": dt.datetime.now(dt.UTC).isoformat(),
            "version": PROTOCOL_VERSION,
        }
        parts = [json.dumps(part).encode() for part in (header, {}, {}, content)]
        self.sockets[channel].send_multipart([DELIMITER, self.sign(parts), *parts])
        return header["msg_id"]

    def execute(self, code: str, **options: Any) -> str:
        """An ``execute_request``: jupyter_client's defaults, then ``options``."""
        content = {
            "code": code, "silent": False, "store_history": True, "user_expressions": {},
            "allow_stdin": False, "stop_on_error": True, **options,
        }
        return self.send("shell", "execute_request", content)

    def receive(self, timeout: float) -> tuple[str, dict[str, Any]] | None:
        """The next well-signed message from any channel within ``timeout`` seconds (None if
        there is none), as ``(channel, message)``."""
        end = time.monotonic() + max(0.0, timeout)
        while True:
            ready = dict(self.poller.poll(max(0.0, end - time.monotonic()) * 1000))
            if not ready:
                return None
            for channel in CHANNELS:
                sock = self.sockets.get(channel)
                if sock is None or sock not in ready:
                    continue
                msg = self.unpack(sock.recv_multipart(zmq.NOBLOCK))
                if msg is not None:
                    return channel, msg
            if time.monotonic() >= end:
                return None

    def unpack(self, frames: list[bytes]) -> dict[str, Any] | None:
        try:
            start = frames.index(DELIMITER) + 1
            signature, *parts = frames[start:start + 5]
            if len(parts) != 4 or not hmac.compare_digest(signature, self.sign(parts)):
                raise ValueError("bad signature")
            header, parent, metadata, content = (json.loads(part) for part in parts)
            if not all(isinstance(p, dict) for p in (header, parent, metadata, content)):
                raise ValueError("not objects")
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            log.warning("dropped a message from the kernel: %s", exc)
            return None
        return {
            "header": header,
            "msg_type": header.get("msg_type"),
            "parent_header": parent,
            "metadata": metadata,
            "content": content,
            "buffers": frames[start + 5:],
        }
