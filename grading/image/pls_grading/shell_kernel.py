"""The judge's kernel: a Jupyter kernel made of IPython's ``InteractiveShell`` and pyzmq alone.

``python -m pls_grading.shell_kernel -f <connection file>``. In the judge's grading (the default,
see :mod:`pls_grading.judge`) the kernel only runs the learner's own cells and answers the
judge's questions (:mod:`pls_grading.probe`); no test runs in it. That takes far less than
ipykernel is made for (a live frontend, comms and widgets, completion, a debugger, an asyncio
event loop, concurrent control requests), and ipykernel's start-up and its handling of each
request are most of a graded submission's CPU. Measured in the learner image on the 2-core
machine, CPU of the kernel's process:

=========================================  ======================  ===========
                                           ipykernel (no debugpy)  this kernel
=========================================  ======================  ===========
start, until it answers ``kernel_info``    0.22-0.31 s             0.13-0.14 s
one probe (``user_expressions``, silent)   2.4-2.8 ms              0.5-0.7 ms
one cell ``x = f(3); x``                   2.9-3.8 ms              1.1-1.2 ms
=========================================  ======================  ===========

A judged ps1-basics submission starts one kernel and sends it about sixty requests: the
runner and its kernel took 0.57 CPU-s with ipykernel, 0.31 with this kernel (the same notebook,
alternated in one container). What it keeps of ipykernel's behaviour, as far as a graded
notebook can tell:

- the messages of the protocol (version 5.3) that a notebook runner sends and reads:
  ``kernel_info``, ``execute`` (with ``silent``, ``store_history``, ``user_expressions``),
  ``shutdown`` on the shell and control channels, ``interrupt_request`` on control; ``status``
  busy and idle around each, ``execute_input``, ``stream``, ``display_data``,
  ``update_display_data``, ``clear_output``, ``execute_result`` and ``error`` on IOPub, signed
  with the connection file's key; a heartbeat that echoes;
- the shell: IPython's own ``InteractiveShell`` (magics, input transformers, display
  formatters, tracebacks, ``get_ipython()``, extensions), with ipykernel's environment for
  subprocesses (``TERM``, ``PAGER``...), its ``MPLBACKEND`` (matplotlib figures appear as
  images after the cell) and its answer to ``input()``: ``StdinNotImplementedError``;
- ``exit()`` asks the frontend in the reply's payload and the kernel goes on, SIGINT
  interrupts a running cell and is ignored between requests (ipykernel's
  ``pre_handler_hook``), what a cell prints reaches IOPub within 0.2 s, in order with its
  displays, and what is written to file descriptors 1 and 2 (C code, subprocesses) is read
  from pipes and shown as the cell's ``stdout`` and ``stderr`` (``capture_fd_output``);
- for code in the kernel: ``get_ipython().kernel`` with ``session.send``, ``iopub_socket``
  and ``get_parent()``.

What it leaves out: comms (widgets), completion, inspection, history requests, the stdin
channel (there is no ``input()``), control requests while a cell runs (it handles one message at
a time; the runner interrupts with a signal), and ipykernel's naming of cells after temporary
files (IPython's own names, ``<ipython-input-3-...>``, show in warnings; its tracebacks then
also mark the failing expression). In-kernel grading, where the tests run here and nbgrader's
fidelity matters, keeps ipykernel (:mod:`pls_grading.kernel`).

Trust: none needed. This runs the learner's code in its own process; the learner's code can
replace any of it, and then only its own answers change, which the judge treats as plain data.
"""

from __future__ import annotations

import argparse
import base64
import builtins
import codecs
import contextlib
import datetime as dt
import getpass
import hashlib
import hmac
import io
import json
import os
import signal
import sys
import threading
import time
import uuid
from typing import Any

import zmq
from IPython.core.displayhook import DisplayHook
from IPython.core.displaypub import DisplayPublisher
from IPython.core.error import StdinNotImplementedError
from IPython.core.interactiveshell import InteractiveShell
from traitlets import Type
from traitlets.config import Config

PROTOCOL_VERSION = "5.3"
DELIMITER = b"<IDS|MSG>"
FLUSH_SECONDS = 0.2  # ipykernel's flush_interval: a cell's printed text reaches IOPub this soon
NO_STDIN = "raw_input was called, but this frontend does not support input requests."


def _json_default(value: Any) -> Any:
    """What jupyter_client's packer does with values JSON has no type for."""
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


def pack(value: Any) -> bytes:
    return json.dumps(value, default=_json_default, ensure_ascii=False).encode("utf-8", "replace")


class Session:
    """Signed messages of the Jupyter protocol on this kernel's sockets (jupyter_client's
    ``Session``, for what this kernel sends and reads)."""

    def __init__(self, key: bytes) -> None:
        self.key = key
        self.id = uuid.uuid4().hex
        self.lock = threading.Lock()  # IOPub is written from the cell's threads too

    def sign(self, parts: list[bytes]) -> bytes:
        if not self.key:
            return b""
        digest = hmac.new(self.key, digestmod=hashlib.sha256)
        for part in parts:
            digest.update(part)
        return digest.hexdigest().encode()

    def send(
        self, stream: zmq.Socket, msg_type: str, content: dict[str, Any] | None = None,
        parent: dict[str, Any] | None = None, ident: bytes | list[bytes] | None = None,
        **_ignored: Any,
    ) -> None:
        """jupyter_client's ``Session.send`` for what code in a kernel calls it with: a parent
        given as a message or as its header."""
        parent = parent or {}
        parent_header = parent.get("header", parent) if isinstance(parent, dict) else {}
        header = {
            "msg_id": uuid.uuid4().hex, "msg_type": msg_type, "username": "kernel",
            "session": self.id, "date": dt.datetime.now(dt.UTC).isoformat(),
            "version": PROTOCOL_VERSION,
        }
        parts = [pack(header), pack(parent_header), pack({}), pack(content or {})]
        idents = [ident] if isinstance(ident, bytes) else list(ident or [])
        with self.lock:
            stream.send_multipart([*idents, DELIMITER, self.sign(parts), *parts])

    def receive(self, frames: list[bytes]) -> tuple[list[bytes], dict[str, Any]] | None:
        """The sender's identities and the message, or None for one that is not well signed."""
        try:
            at = frames.index(DELIMITER)
            signature, *parts = frames[at + 1:at + 6]
            if len(parts) != 4 or not hmac.compare_digest(signature, self.sign(parts)):
                return None
            header, parent, metadata, content = (json.loads(part) for part in parts)
        except (ValueError, UnicodeDecodeError, RecursionError):
            return None
        if not all(isinstance(p, dict) for p in (header, parent, metadata, content)):
            return None
        return frames[:at], {"header": header, "parent_header": parent, "metadata": metadata,
                             "content": content}


class OutStream(io.TextIOBase):
    """``sys.stdout`` or ``sys.stderr``: text is kept and sent as one ``stream`` message at
    the latest :data:`FLUSH_SECONDS` after it was written (by the kernel's :class:`Flusher`),
    and before anything else the cell shows, so the order of prints and displays is kept
    (ipykernel's ``OutStream``)."""

    def __init__(self, kernel: ShellKernel, name: str) -> None:
        super().__init__()
        self.kernel = kernel
        self._name = name
        self.parts: list[str] = []  # bounded by pls_grading.output_cap's budget
        self.lock = threading.Lock()

    @property
    def name(self) -> str:  # type: ignore[override]
        return self._name

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "utf-8"

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def write(self, text: str) -> int:  # type: ignore[override]
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        if not text:
            return 0
        with self.lock:
            self.parts.append(text)
        self.kernel.flusher.due.set()
        return len(text)

    def flush(self) -> None:
        # The lock is held while the message goes out, so two flushes (the cell's and the
        # flusher's) cannot send their parts in the wrong order.
        with self.lock:
            if self.parts:
                text = "".join(self.parts)
                self.parts.clear()
                self.kernel.publish("stream", {"name": self._name, "text": text})


class Flusher(threading.Thread):
    """Sends what the streams hold :data:`FLUSH_SECONDS` after the first write since the last
    send: one thread for the kernel's life, started before any cell (a cell that used up the
    container's processes cannot keep its output from being sent)."""

    def __init__(self, streams: tuple[OutStream, ...]) -> None:
        super().__init__(name="pls-flusher", daemon=True)
        self.streams = streams
        self.due = threading.Event()

    def run(self) -> None:
        while True:
            self.due.wait()
            time.sleep(FLUSH_SECONDS)
            self.due.clear()
            for stream in self.streams:
                stream.flush()


class DescriptorReader(threading.Thread):
    """What is written to file descriptor 1 or 2 (by C code, ``os.write``, a subprocess),
    read from a pipe put in its place and written to the matching stream, through whatever
    ``write`` the stream has then (:mod:`pls_grading.output_cap`'s cap): ipykernel's
    ``capture_fd_output``."""

    def __init__(self, fd: int, stream: OutStream) -> None:
        super().__init__(name=f"pls-fd{fd}", daemon=True)
        self.stream = stream
        self.reader, writer = os.pipe()
        os.dup2(writer, fd)
        os.close(writer)

    def run(self) -> None:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        while chunk := os.read(self.reader, 65536):
            text = decoder.decode(chunk)
            if text:
                self.stream.write(text)


class ResultHook(DisplayHook):
    """A cell's value (``Out[n]``) as an ``execute_result`` message."""

    def start_displayhook(self) -> None:
        self.kernel.flush_streams()
        self.content: dict[str, Any] = {"execution_count": self.prompt_count, "data": {},
                                        "metadata": {}}

    def write_output_prompt(self) -> None:
        self.content["execution_count"] = self.prompt_count

    def write_format_data(self, format_dict: dict, md_dict: dict | None = None) -> None:
        self.content["data"] = format_dict
        self.content["metadata"] = md_dict or {}

    def finish_displayhook(self) -> None:
        if self.content["data"]:
            self.kernel.publish("execute_result", self.content)

    @property
    def kernel(self) -> ShellKernel:
        return self.shell.kernel


class Publisher(DisplayPublisher):
    """``display()``, its updates and ``clear_output()`` as IOPub messages."""

    def publish(self, data, metadata=None, source=None, *, transient=None, update=False,
                **kwargs) -> None:
        kernel = self.shell.kernel
        kernel.flush_streams()
        content = {"data": data, "metadata": metadata or {}, "transient": transient or {}}
        kernel.publish("update_display_data" if update else "display_data", content)

    def clear_output(self, wait: bool = False) -> None:
        kernel = self.shell.kernel
        kernel.flush_streams()
        kernel.publish("clear_output", {"wait": wait})


class GradingShell(InteractiveShell):
    """IPython's shell, showing what it shows through the kernel's IOPub channel."""

    displayhook_class = Type(ResultHook)
    display_pub_class = Type(Publisher)

    def __init__(self, kernel: ShellKernel, **kwargs: Any) -> None:
        self.kernel = kernel  # before InteractiveShell builds the hooks that publish through it
        self.last_error: dict[str, Any] | None = None
        super().__init__(**kwargs)

    def init_environment(self) -> None:
        """ipykernel's environment for what cells start: no pagers, colours on."""
        os.environ.update(TERM="xterm-color", CLICOLOR="1", FORCE_COLOR="1",
                          CLICOLOR_FORCE="1", PAGER="cat", GIT_PAGER="cat")

    def _showtraceback(self, etype, evalue, stb) -> None:
        self.kernel.flush_streams()
        error = {"traceback": list(stb), "ename": str(etype.__name__), "evalue": str(evalue)}
        self.last_error = error
        self.kernel.publish("error", error)

    def ask_exit(self) -> None:
        """``exit()`` in a cell, as in ipykernel: a request to the frontend, in the reply's
        payload; the kernel goes on (a notebook runner does not act on it)."""
        self.payload_manager.write_payload({"source": "ask_exit", "keepkernel": False})

    def enable_gui(self, gui=None) -> None:
        """``%matplotlib inline`` needs no event loop; other GUIs cannot run here."""
        if gui not in (None, "inline"):
            raise NotImplementedError(f"the grading kernel has no {gui} event loop")


class ShellKernel:
    """The sockets of one connection file, and the shell that runs the cells."""

    def __init__(self, connection: dict[str, Any], extensions: list[str],
                 history_file: str) -> None:
        self.session = Session(str(connection.get("key", "")).encode())
        self.context = zmq.Context()
        transport, ip = connection.get("transport", "tcp"), connection.get("ip", "127.0.0.1")
        self.sockets: dict[str, zmq.Socket] = {}
        for name, kind in (("shell", zmq.ROUTER), ("control", zmq.ROUTER),
                           ("stdin", zmq.ROUTER), ("iopub", zmq.PUB)):
            sock = self.context.socket(kind)
            sock.linger = 1000
            sock.bind(f"{transport}://{ip}:{connection[name + '_port']}")
            self.sockets[name] = sock
        # The heartbeat, as ipykernel's: a context and a thread of its own, echoing.
        heartbeat = zmq.Context().socket(zmq.REP)
        heartbeat.linger = 0
        heartbeat.bind(f"{transport}://{ip}:{connection['hb_port']}")
        threading.Thread(target=self.echo, args=(heartbeat,), daemon=True).start()
        self.parent: dict[str, Any] = {}
        self.shell_handlers = {
            "kernel_info_request": self.kernel_info,
            "execute_request": self.execute,
            "shutdown_request": self.shutdown,
            "interrupt_request": self.interrupt,
        }
        self.stopping = False
        os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
        self.streams = (OutStream(self, "stdout"), OutStream(self, "stderr"))
        self.flusher = Flusher(self.streams)
        self.flusher.start()
        for fd, stream in zip((1, 2), self.streams, strict=True):
            DescriptorReader(fd, stream).start()
        sys.stdout, sys.stderr = self.streams
        config = Config()
        config.HistoryManager.hist_file = history_file
        self.shell = GradingShell.instance(self, config=config)
        for name in extensions:
            self.shell.extension_manager.load_extension(name)

    @staticmethod
    def echo(sock: zmq.Socket) -> None:
        """The heartbeat: whatever arrives goes back (a kernel that is alive answers)."""
        with contextlib.suppress(zmq.ZMQError):
            zmq.proxy(sock, sock)

    # -- IOPub ------------------------------------------------------------------------------

    @property
    def iopub_socket(self) -> zmq.Socket:
        """ipykernel's name for it: ``kernel.session.send(kernel.iopub_socket, ...)``."""
        return self.sockets["iopub"]

    def get_parent(self, channel: str = "shell") -> dict[str, Any]:
        """The request being answered, as ipykernel's ``Kernel.get_parent`` gives it."""
        return {"header": self.parent}

    def publish(self, msg_type: str, content: dict[str, Any]) -> None:
        self.session.send(self.sockets["iopub"], msg_type, content, self.parent)

    def flush_streams(self) -> None:
        for stream in self.streams:
            stream.flush()

    # -- the loop ---------------------------------------------------------------------------

    def serve(self) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # between requests, as ipykernel
        poller = zmq.Poller()
        for name in ("control", "shell"):
            poller.register(self.sockets[name], zmq.POLLIN)
        while not self.stopping:
            ready = dict(poller.poll())
            for name in ("control", "shell"):  # control first, as ipykernel
                sock = self.sockets[name]
                if sock in ready:
                    self.dispatch(sock, sock.recv_multipart())
        self.flush_streams()
        for sock in self.sockets.values():
            sock.close()
        self.context.term()  # what is still queued is sent, within the sockets' linger

    def dispatch(self, sock: zmq.Socket, frames: list[bytes]) -> None:
        received = self.session.receive(frames)
        if received is None:
            return
        idents, msg = received
        msg_type = str(msg["header"].get("msg_type", ""))
        handler = self.shell_handlers.get(msg_type)
        if handler is None:
            return  # as ipykernel: an unknown request gets no reply
        self.parent = msg["header"]
        self.publish("status", {"execution_state": "busy"})
        try:
            reply = handler(msg["content"])
        except KeyboardInterrupt:  # a SIGINT just outside the cell's code: the cell's, too
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            reply = {"status": "error", "ename": "KeyboardInterrupt", "evalue": "",
                     "traceback": [], "user_expressions": {}, "payload": []}
        self.flush_streams()
        reply_type = msg_type.replace("_request", "_reply")
        self.session.send(sock, reply_type, reply, self.parent, idents)
        self.publish("status", {"execution_state": "idle"})

    # -- requests ---------------------------------------------------------------------------

    def kernel_info(self, content: dict[str, Any]) -> dict[str, Any]:
        import IPython

        version = ".".join(map(str, sys.version_info[:3]))
        return {
            "status": "ok", "protocol_version": PROTOCOL_VERSION,
            "implementation": "pls_grading.shell_kernel",
            "implementation_version": IPython.__version__,
            "language_info": {
                "name": "python", "version": version, "mimetype": "text/x-python",
                "codemirror_mode": {"name": "ipython", "version": 3},
                "pygments_lexer": "ipython3", "nbconvert_exporter": "python",
                "file_extension": ".py",
            },
            "banner": f"Python {sys.version}\nIPython {IPython.__version__}, grading kernel",
            "help_links": [],
        }

    def execute(self, content: dict[str, Any]) -> dict[str, Any]:
        code = content.get("code", "")
        if not isinstance(code, str):
            code = ""
        silent = bool(content.get("silent", False))
        store_history = bool(content.get("store_history", not silent))
        shell = self.shell
        if not silent:
            self.publish("execute_input", {"code": code,
                                           "execution_count": shell.execution_count})
        shell.last_error = None
        saved_input, saved_getpass = builtins.input, getpass.getpass
        builtins.input = getpass.getpass = no_stdin
        expressions = content.get("user_expressions") or {}
        # SIGINT interrupts the cell and the expressions (a learner function the judge calls)
        # and is ignored otherwise, as ipykernel's pre- and post-handler hooks do: one that
        # came while the kernel answered anything else would end the kernel.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            result = shell.run_cell(code, store_history=store_history, silent=silent)
            answers = (shell.user_expressions(expressions)
                       if result.success and isinstance(expressions, dict) else {})
        finally:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            builtins.input, getpass.getpass = saved_input, saved_getpass
        reply: dict[str, Any] = {"execution_count": shell.execution_count - 1, "payload": []}
        if result.success:
            reply["status"] = "ok"
            reply["user_expressions"] = answers
        else:
            error = shell.last_error or {"ename": "UnknownError", "evalue": "",
                                         "traceback": []}
            reply.update(status="error", user_expressions={}, **error)
        reply["payload"] = shell.payload_manager.read_payload()
        shell.payload_manager.clear_payload()
        return reply

    def shutdown(self, content: dict[str, Any]) -> dict[str, Any]:
        self.stopping = True
        return {"status": "ok", "restart": bool(content.get("restart", False))}

    def interrupt(self, content: dict[str, Any]) -> dict[str, Any]:
        return {"status": "ok"}  # between requests there is nothing to interrupt


def no_stdin(*args: Any, **kwargs: Any) -> str:
    raise StdinNotImplementedError(NO_STDIN)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """ipykernel's spelling of what the runner passes (:data:`pls_grading.execute.
    KERNEL_ARGUMENTS`), so either kernel takes the same command line."""
    parser = argparse.ArgumentParser(prog="python -m pls_grading.shell_kernel")
    parser.add_argument("-f", dest="connection_file", required=True)
    parser.add_argument("--IPKernelApp.extra_extensions", dest="extensions", action="append",
                        default=[], metavar="MODULE")
    parser.add_argument("--HistoryManager.hist_file", dest="history_file", default=":memory:")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    options = parse_args(argv)
    with open(options.connection_file) as file:
        connection = json.load(file)
    ShellKernel(connection, options.extensions, options.history_file).serve()
    # Asked to shut down, its last messages sent: the heartbeat's thread holds its socket for
    # good, so the interpreter's own ending (which would wait for that context) is skipped.
    os._exit(0)


if __name__ == "__main__":
    main()
