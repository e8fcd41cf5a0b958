"""Run one notebook inside the grading sandbox: ``python -m pls_grading.execute``.

The grader (``grading.sandbox`` on its host) starts a fresh container of the course's image with
this module as its command, writes one request on its stdin and reads the executed notebook from
its stdout. Nothing is mounted: the notebook exists only in this process's memory.

Protocol::

    stdin   one JSON object, at most --max-input-bytes:
            {"notebook": <nbformat 4 notebook>,
             "files": {"data/points.csv": "<base64>", ...},    (optional: written to --workdir)
             "key": "<hex>"}                                  (optional: see "Trust" below)
    stdout  the executed notebook as one line of JSON, then, when a key was given, one line with
            HMAC-SHA256(key, that first line) in hex
    exit    0 done (also when cells failed, timed out or killed the kernel); 2 the request was
            unusable; 3 the kernel did not start. Messages for the grader's log go to stderr.

The kernel starts *before* the request is read, so a container started ahead of time (the
grader's warm pool) answers as soon as a notebook arrives; it still serves exactly one notebook.

Execution follows nbgrader's ``Execute`` preprocessor (the same timeout, interrupt and error
settings), built on nbclient directly: importing nbgrader costs ~1.2 s of CPU per sandbox and
nbclient ~0.3 s (measured in the learner image). Kernels start through
:mod:`pls_grading.kernel` (ipykernel without debugpy: ~0.17 s less per kernel). On top of it:

- **Per-cell timeout with interrupt**: a cell that runs too long is interrupted and fails with
  ``CellTimeoutError``; the next cells still run. A kernel that ignores the interrupt, or dies
  (out of memory, a fork bomb, ``os._exit``), is killed with everything it started and a fresh
  kernel runs the remaining cells (at most --max-restarts times; then they fail as not run).
- **A time limit for the whole notebook** (--time-limit): cells it leaves no time for fail as
  not run. The grader kills the container a little later if even this does not happen.
- **Output caps** per cell and in total (:class:`OutputBudget`): output beyond them is dropped
  while it arrives and one notice says so, so memory does not grow with what a cell prints.
  Errors and a cell's result value are always kept (shortened), because nbgrader grades on
  them; dropped ``stderr`` output leaves a ``stderr`` notice, because nbgrader fails a test
  cell that wrote to ``stderr``.

- **Tampering with execution** (:mod:`pls_grading.guard`): before each graded cell the runner
  asks the guard in the kernel whether IPython's machinery (input and AST transformers, the
  compiler, display and exception hooks, trace and profile functions, audit hooks, IPython's
  own methods) still is what it was when the kernel started; the guard puts back what differs.
  The runner records every answer that names a change, and every missing or malformed one, in
  ``metadata.pls_grading.tampering``; the grader then gives the graded cells from there on no
  points. Graded cells run with ``store_history=False`` and the guard forgets their source
  after them, so a later cell cannot read the hidden tests from IPython's history or caches.

Trust: the kernel runs the learner's code as the same user as this process. So this process
makes itself non-dumpable (its memory, file descriptors and ``/proc`` entries are then out of
the kernel's reach), gives the kernel no stdin/stdout/stderr of its own, and signs its result
with the request's key, which the kernel never sees: output that the learner's code manages to
write to the container's stdout (e.g. through ``/proc/1/fd/1``) fails the grader's check. A
kernel it starts again (after a crash or a hung cell) starts as clean as the first one, although
the learner's code could write files in the meantime: the kernel spec is the one found at start,
each kernel gets a fresh IPython folder (no learner-written ``ipython_kernel_config.py`` or
startup file), and ``PYTHONSAFEPATH`` keeps a learner's ``ipykernel_launcher.py`` in the work
folder from being the kernel (the guard makes the work folder importable again).
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import base64
import binascii
import contextlib
import ctypes
import hashlib
import hmac
import json
import logging
import math
import os
import queue
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path, PurePosixPath
from typing import Any

FORMAT_LIBRARIES = (
    "rfc3987_syntax", "rfc3987", "rfc3986_validator", "rfc3339_validator", "fqdn", "idna",
    "webcolors", "jsonpointer", "uri_template", "isoduration",
)
# jsonschema (imported by nbformat) imports the libraries of its optional format checks when
# they are installed, as the learner image has them: rfc3987-syntax alone builds a grammar for
# ~1.1 s, the others (arrow through isoduration, ...) take ~0.05 s more. nbformat's schema uses
# none of these formats and this runner never validates one, so they are left out (each sandbox
# pays for its imports: docs/grading.md, "Throughput").
for _format_library in FORMAT_LIBRARIES:
    sys.modules.setdefault(_format_library, None)  # type: ignore[arg-type]

import nbformat  # noqa: E402
from jupyter_client.kernelspec import KernelSpec, KernelSpecManager, NoSuchKernel  # noqa: E402
from jupyter_client.manager import AsyncKernelManager  # noqa: E402
from nbclient import NotebookClient  # noqa: E402
from nbclient.exceptions import CellTimeoutError, DeadKernelError  # noqa: E402
from nbformat import NotebookNode  # noqa: E402
from nbformat.v4.rwbase import rejoin_lines  # noqa: E402

log = logging.getLogger("pls_grading.execute")

EXIT_OK = 0
EXIT_BAD_REQUEST = 2
EXIT_NO_KERNEL = 3
MIB = 1024 * 1024
MAX_FILES = 200
PR_SET_DUMPABLE = 4
ERROR_TEXT_LIMIT = 4000  # characters of an error's value and of each traceback line
ERROR_LINES_LIMIT = 200
RESULT_TEXT_LIMIT = 1000  # characters of a result value kept once the budget is spent
NOTICE_ROOM = 1024  # characters of a cell's budget kept for the kernel's truncation notices
CELL_ENV = "PLS_GRADING_CELL_OUTPUT_BYTES"  # read by pls_grading.output_cap in the kernel
TOTAL_ENV = "PLS_GRADING_TOTAL_OUTPUT_BYTES"
CAPPED_MESSAGES = {
    "stream",
    "display_data",
    "execute_result",
    "update_display_data",
    "comm_open",
    "comm_msg",
}
KERNEL_DIED = (
    "the kernel died while running this cell: it ran out of memory or was killed; the cells "
    "after it run in a fresh kernel"
)
KERNEL_HUNG = "the kernel was restarted; the cells after this one run in a fresh kernel"
KERNEL_ARGUMENTS = [
    "--HistoryManager.hist_file=:memory:",  # as nbgrader's Execute: no history database
    "--IPKernelApp.extra_extensions=pls_grading.output_cap",
    "--IPKernelApp.extra_extensions=pls_grading.guard",
]
# Asked before (and after) each graded cell through user_expressions: evaluated by the kernel
# without IPython's input transformers, AST transformers or compiler.
GUARD_EXPRESSION = '__import__("pls_grading.guard").guard.check({phase!r})'
GUARD_SECONDS = 10
GUARD_SILENT = "the grader's check before this cell gave no answer"


class BadRequest(Exception):
    """The request on stdin cannot be used; the message is for the grader's log."""


# -- output caps ---------------------------------------------------------------------------------


def content_size(msg: dict[str, Any]) -> int:
    """Roughly how many characters an output message adds to the notebook."""
    content = msg.get("content") or {}
    if isinstance(content.get("text"), str):
        return len(content["text"])
    size = sum(len(b) for b in msg.get("buffers") or [])
    for value in (content.get("data") or {}).values():
        size += len(value) if isinstance(value, str) else len(json.dumps(value))
    return size


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + " [...]"


class OutputBudget:
    """How much output the current cell and the whole notebook may still add.

    :meth:`admit` is called for each output message before nbclient stores it; what does not
    fit is dropped (a stream is cut at the limit) and counted, and :meth:`finish_cell` appends
    one notice per cell that lost output."""

    def __init__(self, per_cell: int, total: int) -> None:
        self.per_cell = per_cell
        self.total = total
        self.total_used = 0
        self.cell_used = 0
        self.dropped = 0
        self.dropped_stderr = False
        self.truncated_cells: list[int] = []

    def room(self) -> int:
        return max(0, min(self.per_cell - self.cell_used, self.total - self.total_used))

    def spend(self, size: int) -> None:
        self.cell_used += size
        self.total_used += size

    def admit(self, msg: dict[str, Any]) -> bool:
        """Whether to keep this message; a stream may be cut (in place) to what fits."""
        content = msg["content"]
        size = content_size(msg)
        room = self.room()
        if size <= room:
            self.spend(size)
            return True
        self.dropped += size - room
        kind = msg["msg_type"]
        if kind == "stream":
            if content.get("name") == "stderr":
                self.dropped_stderr = True
            content["text"] = content["text"][:room]
            self.spend(room)
            return room > 0
        if kind == "execute_result":
            # nbgrader reads partial credit from a test cell's result: keep it, as text.
            text = (content.get("data") or {}).get("text/plain", "")
            content["data"] = {"text/plain": shorten(str(text), RESULT_TEXT_LIMIT)}
            return True
        return False

    @staticmethod
    def trim_error(content: dict[str, Any]) -> None:
        """Errors are always kept, since they fail a test, but their text is shortened."""
        content["evalue"] = shorten(str(content.get("evalue", "")), ERROR_TEXT_LIMIT)
        lines = [shorten(str(line), ERROR_TEXT_LIMIT) for line in content.get("traceback") or []]
        if len(lines) > ERROR_LINES_LIMIT:
            half = ERROR_LINES_LIMIT // 2
            lines = [*lines[:half], "[... traceback shortened ...]", *lines[-half:]]
        content["traceback"] = lines

    def finish_cell(self, cell: NotebookNode, index: int) -> None:
        if self.dropped:
            notice = (
                f"[{self.dropped} characters of output were dropped by the grader: a cell may "
                f"show {self.per_cell}, a notebook {self.total}]\n"
            )
            cell.outputs.append(nbformat.v4.new_output("stream", name="stdout", text=notice))
            if self.dropped_stderr:
                cell.outputs.append(nbformat.v4.new_output("stream", name="stderr", text=notice))
            self.truncated_cells.append(index)
        self.cell_used = 0
        self.dropped = 0
        self.dropped_stderr = False


# -- the notebook client -------------------------------------------------------------------------


def error_output(ename: str, evalue: str) -> NotebookNode:
    return nbformat.v4.new_output(
        "error", ename=ename, evalue=evalue, traceback=[f"\x1b[0;31m{ename}\x1b[0m: {evalue}"]
    )


class GradingClient(NotebookClient):
    """nbclient's NotebookClient with nbgrader's Execute settings and the output budget."""

    def __init__(self, nb: NotebookNode, budget: OutputBudget, cell_timeout: int, **kw) -> None:
        super().__init__(
            nb,
            timeout=cell_timeout,
            interrupt_on_timeout=True,
            allow_errors=True,
            raise_on_iopub_timeout=True,
            error_on_timeout={
                "ename": "CellTimeoutError",
                "evalue": f"the cell ran longer than its time limit ({cell_timeout} s) and was "
                "stopped",
                "traceback": [
                    "\x1b[0;31mCellTimeoutError\x1b[0m: No reply from kernel before timeout"
                ],
            },
            on_cell_executed=self.record_reply_error,
            **kw,
        )
        self.budget = budget

    def process_message(self, msg, cell, cell_index):
        kind = msg["msg_type"]
        if kind == "error":
            self.budget.trim_error(msg["content"])
        elif kind in CAPPED_MESSAGES and not self.budget.admit(msg):
            return None
        return super().process_message(msg, cell, cell_index)

    def record_reply_error(self, cell, cell_index, execute_reply) -> None:
        """nbgrader's Execute.on_cell_executed: an error reply with no matching error output
        (a timeout, or showtraceback disabled) becomes an error output, so the cell fails."""
        content = execute_reply["content"]
        if content["status"] != "error":
            return
        if any(o.output_type == "error" and o.ename == content["ename"] for o in cell.outputs):
            return
        self.budget.trim_error(content)
        output = nbformat.v4.new_output(
            "error",
            ename=content["ename"],
            evalue=content["evalue"],
            traceback=content["traceback"]
            or ["ERROR: An error occurred while showtraceback was disabled"],
        )
        cell.outputs.append(output)


# -- the runner ----------------------------------------------------------------------------------


class Runner:
    """Start a kernel, read the request, run every cell, write the signed result."""

    def __init__(self, options: argparse.Namespace, result_fd: int) -> None:
        self.options = options
        self.result_fd = result_fd
        self.workdir = Path(options.workdir)
        self.km: AsyncKernelManager | None = None
        self.kc = None
        self.restarts = 0
        self.timing: dict[str, float] = {}
        self.specs = FixedKernelSpecs(options.kernel)  # before any learner code runs
        self.tampering: list[dict[str, Any]] = []

    async def run(self) -> int:
        started = time.monotonic()
        try:
            await self.start_kernel()
        except Exception as exc:
            log.error("the kernel did not start: %s", exc)
            return EXIT_NO_KERNEL
        self.timing["kernel_start_seconds"] = time.monotonic() - started
        waiting = time.monotonic()
        loop = asyncio.get_running_loop()
        try:
            raw = await loop.run_in_executor(None, read_input, self.options.max_input_bytes)
            received = time.monotonic()
            self.timing["waited_seconds"] = received - waiting
            nb, files, key = parse_request(raw)
            write_files(self.workdir, files)
        except BadRequest as exc:
            log.error("unusable request: %s", exc)
            await self.stop_kernel()
            return EXIT_BAD_REQUEST
        await self.execute(nb, deadline=received + self.options.time_limit)
        self.timing["execute_seconds"] = time.monotonic() - received
        record = nb.metadata.setdefault("pls_grading", {})
        record["run"] = {
            **{k: round(v, 3) for k, v in self.timing.items()},
            "kernel_restarts": self.restarts,
        }
        record["tampering"] = self.tampering
        write_result(self.result_fd, nb, key)
        await self.stop_kernel()
        return EXIT_OK

    # -- kernels --------------------------------------------------------------------------

    def kernel_env(self) -> dict[str, str]:
        """The kernel's caps leave room under the runner's for their own notices. Each kernel
        gets an IPython folder of its own, made now: one the learner's code wrote config or
        startup files into (before a restart) is never used again. ``PYTHONSAFEPATH``: see
        the module's "Trust"."""
        env = dict(os.environ)
        env[CELL_ENV] = str(max(1, self.options.max_cell_output - NOTICE_ROOM))
        env[TOTAL_ENV] = str(max(1, self.options.max_total_output - NOTICE_ROOM))
        env["IPYTHONDIR"] = tempfile.mkdtemp(prefix="pls-ipython-")
        env["PYTHONSAFEPATH"] = "1"
        env["PYTHONNOUSERSITE"] = "1"
        return env

    async def start_kernel(self) -> None:
        km = AsyncKernelManager(kernel_name=self.options.kernel, kernel_spec_manager=self.specs)
        await km.start_kernel(
            extra_arguments=list(KERNEL_ARGUMENTS),
            cwd=str(self.workdir),
            env=self.kernel_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.km = km
        pid = getattr(km.provisioner, "pid", None)
        if pid:  # the kernel, not this process, is what the OOM killer should pick
            with contextlib.suppress(OSError):
                Path(f"/proc/{pid}/oom_score_adj").write_text("1000")
        kc = km.client()
        kc.start_channels()
        await kc.wait_for_ready(timeout=self.options.startup_timeout)
        self.kc = kc
        if await self.ask_guard("after") is None:  # the image's fault, not the notebook's
            raise RuntimeError("pls_grading.guard did not load in the kernel")

    async def stop_kernel(self) -> None:
        if self.kc is not None:
            self.kc.stop_channels()
            self.kc = None
        if self.km is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.km.shutdown_kernel(now=True), timeout=5)
            self.km = None

    async def restart_kernel(self) -> bool:
        """Kill the kernel and everything it started, then start a fresh one."""
        self.restarts += 1
        pid = getattr(self.km.provisioner, "pid", None) if self.km else None
        if self.options.own_container:
            # Every process in the container but tini and this one: also the ones the
            # learner's code started in new sessions, which a process group would miss.
            with contextlib.suppress(ProcessLookupError):
                os.kill(-1, signal.SIGKILL)
        elif pid:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
        await self.stop_kernel()
        try:
            await self.start_kernel()
        except Exception as exc:
            log.error("the kernel did not restart: %s", exc)
            return False
        return True

    # -- cells ----------------------------------------------------------------------------

    async def execute(self, nb: NotebookNode, deadline: float) -> None:
        budget = OutputBudget(self.options.max_cell_output, self.options.max_total_output)
        cell_timeout = self.options.cell_timeout
        client = GradingClient(nb, budget, cell_timeout, km=self.km, iopub_timeout=4)
        client.kc = self.kc

        def timeout_of(_cell) -> int:
            return max(1, min(cell_timeout, math.ceil(deadline - time.monotonic())))

        client.timeout_func = timeout_of
        with contextlib.suppress(Exception):
            info = await client.async_wait_for_reply(self.kc.kernel_info())
            if info is not None and "language_info" in info["content"]:
                nb.metadata["language_info"] = info["content"]["language_info"]

        not_run = ""  # once set, why the remaining code cells are not run
        executed = 0
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            cell.outputs = []
            if not not_run and deadline - time.monotonic() < 1:
                not_run = (
                    f"the notebook's time limit ({self.options.time_limit} s) ran out before "
                    "this cell"
                )
            if not_run:
                cell.outputs.append(error_output("NotRun", not_run))
                continue
            executed += 1
            graded = is_graded(cell)
            if graded and not await self.guard_before(client, cell, index):
                not_run = "the kernel could not be restarted"
                cell.outputs.append(error_output("NotRun", not_run))
                continue
            failures: list[NotebookNode] = []
            try:
                await client.async_execute_cell(
                    cell, index, execution_count=executed, store_history=not graded
                )
                if graded:
                    await self.ask_guard("after")
            except DeadKernelError:
                failures = [error_output("KernelRestarted", KERNEL_DIED)]
            except CellTimeoutError:
                # Still a timeout (the grader flags it so), and the kernel is restarted.
                failures = [
                    error_output(
                        "CellTimeoutError",
                        f"the cell ran longer than its time limit ({cell_timeout} s) and did "
                        "not stop when interrupted",
                    ),
                    error_output("KernelRestarted", KERNEL_HUNG),
                ]
            budget.finish_cell(cell, index)
            if not failures:
                continue
            cell.outputs.extend(failures)
            if self.restarts >= self.options.max_restarts:
                not_run = "the kernel had to be restarted too often"
            elif not await self.restart_kernel():
                not_run = "the kernel could not be restarted"
            else:
                client.km, client.kc = self.km, self.kc

    # -- the guard (pls_grading.guard) ------------------------------------------------------

    async def ask_guard(self, phase: str) -> list[str] | None:
        """The parts of IPython's machinery the guard found changed (and put back), or None
        when it gave no usable answer. The answer comes in the reply to this request, under a
        name chosen now: nothing a cell prints can stand in for it."""
        name = f"guard_{secrets.token_hex(8)}"
        msg_id = self.kc.execute(
            "", silent=True, store_history=False, allow_stdin=False, stop_on_error=False,
            user_expressions={name: GUARD_EXPRESSION.format(phase=phase)},
        )
        try:
            reply = await asyncio.wait_for(self.shell_reply(msg_id), GUARD_SECONDS)
        except (TimeoutError, DeadKernelError):
            return None
        return guard_answer(reply, name)

    async def shell_reply(self, msg_id: str) -> dict[str, Any]:
        while True:
            try:
                msg = await self.kc.get_shell_msg(timeout=1)
            except queue.Empty:
                if not await self.km.is_alive():
                    raise DeadKernelError("the kernel died") from None
                continue
            if msg["parent_header"].get("msg_id") == msg_id:
                return msg

    async def guard_before(self, client: GradingClient, cell: NotebookNode, index: int) -> bool:
        """Ask the guard before a graded cell and record what it found. No answer: the
        learner's code may hold the kernel, so the cell runs in a fresh one. False when that
        kernel did not start."""
        found = await self.ask_guard("before")
        if found == []:
            return True
        self.tampering.append({
            "cell": index,
            "grade_id": (cell.metadata.get("nbgrader") or {}).get("grade_id"),
            "found": found if found is not None else [GUARD_SILENT],
        })
        if found is not None:
            return True
        if not await self.restart_kernel():
            return False
        client.km, client.kc = self.km, self.kc
        return True


def is_graded(cell: NotebookNode) -> bool:
    """A cell nbgrader gives points for (tests, and answers graded by hand): the grader put
    the release's nbgrader metadata back before the notebook came here."""
    meta = cell.metadata.get("nbgrader")
    return cell.cell_type == "code" and isinstance(meta, dict) and bool(meta.get("grade"))


def guard_answer(reply: dict[str, Any] | None, name: str) -> list[str] | None:
    """The guard's list of changed parts from an execute reply, or None if there is none."""
    try:
        value = reply["content"]["user_expressions"][name]
        if value["status"] != "ok":
            return None
        report = json.loads(ast.literal_eval(value["data"]["text/plain"]))
        found = report["found"]
    except (KeyError, TypeError, ValueError, SyntaxError, MemoryError, RecursionError):
        return None
    if not isinstance(found, list) or not all(isinstance(part, str) for part in found):
        return None
    return [part[:100] for part in found[:20]]


class FixedKernelSpecs(KernelSpecManager):
    """The kernel spec found when the runner started, for every kernel it starts: the
    learner's code can write a ``kernel.json`` into the home folder's Jupyter data folder,
    which a restart would otherwise find first."""

    def __init__(self, kernel_name: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fixed_name = kernel_name
        self.fixed_spec = without_debugger(super().get_kernel_spec(kernel_name))

    def get_kernel_spec(self, kernel_name: str, *args: Any, **kwargs: Any) -> KernelSpec:
        if kernel_name != self.fixed_name:
            raise NoSuchKernel(kernel_name)
        return self.fixed_spec


def without_debugger(spec: KernelSpec) -> KernelSpec:
    """ipykernel's own spec (``python -m ipykernel_launcher ...``) started through
    :mod:`pls_grading.kernel` instead, which leaves debugpy out; any other spec as it is."""
    argv = list(spec.argv)
    if argv[1:3] == ["-m", "ipykernel_launcher"]:
        argv[2] = "pls_grading.kernel"
        spec.argv = argv
    return spec


# -- input and output ----------------------------------------------------------------------------


def read_input(limit: int) -> bytes:
    data = sys.stdin.buffer.read(limit + 1)
    if len(data) > limit:
        raise BadRequest(f"larger than {limit} bytes")
    return data


def parse_request(raw: bytes) -> tuple[NotebookNode, dict[str, bytes], bytes]:
    """The notebook, the extra files and the signing key of a request."""
    if not raw.strip():
        raise BadRequest("empty")
    try:
        request = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"not JSON: {exc}") from exc
    if not isinstance(request, dict) or not isinstance(request.get("notebook"), dict):
        raise BadRequest("no 'notebook' object")
    try:
        nb = nbformat.from_dict(request["notebook"])
        if nb.get("nbformat") != 4 or not isinstance(nb.get("cells"), list):
            raise BadRequest("not an nbformat 4 notebook")
        rejoin_lines(nb)  # text as .ipynb files may store it: lists of lines
    except (AttributeError, KeyError, TypeError) as exc:
        raise BadRequest(f"not a notebook: {exc}") from exc
    files: dict[str, bytes] = {}
    raw_files = request.get("files") or {}
    if not isinstance(raw_files, dict) or len(raw_files) > MAX_FILES:
        raise BadRequest(f"'files' must map at most {MAX_FILES} paths to base64 text")
    for name, encoded in raw_files.items():
        try:
            files[name] = base64.b64decode(encoded, validate=True)
        except (TypeError, ValueError, binascii.Error) as exc:
            raise BadRequest(f"file {name!r} is not base64") from exc
    try:
        key = bytes.fromhex(request.get("key") or "")
    except (TypeError, ValueError) as exc:
        raise BadRequest("'key' is not hex") from exc
    return nb, files, key


def write_files(workdir: Path, files: dict[str, bytes]) -> None:
    for name, content in files.items():
        relative = PurePosixPath(name)
        if relative.is_absolute() or ".." in relative.parts or not relative.parts:
            raise BadRequest(f"file {name!r} must be a relative path inside the work folder")
        target = workdir.joinpath(*relative.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)


def write_result(fd: int, nb: NotebookNode, key: bytes) -> None:
    line = json.dumps(nb, separators=(",", ":")).encode()
    with os.fdopen(fd, "wb") as out:
        out.write(line + b"\n")
        if key:
            out.write(hmac.new(key, line, hashlib.sha256).hexdigest().encode() + b"\n")


# -- the process ---------------------------------------------------------------------------------


def claim_stdout() -> int:
    """Keep stdout for the result alone: a private duplicate for it (not inherited by the
    kernel), and fd 1 pointed at stderr so that stray prints cannot corrupt the result."""
    result_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return result_fd


def make_undumpable() -> None:
    """prctl(PR_SET_DUMPABLE, 0): processes of the same user (the kernel) can no longer read
    this one's memory or open its file descriptors through /proc."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
            log.warning("prctl(PR_SET_DUMPABLE) failed: errno %s", ctypes.get_errno())
    except (OSError, AttributeError) as exc:
        log.warning("prctl is not available: %s", exc)


def prepare_environment(workdir: Path) -> None:
    """A writable work folder, and Jupyter's and IPython's state in a scratch folder (the
    sandbox's root file system is read-only)."""
    workdir.mkdir(parents=True, exist_ok=True)
    os.chdir(workdir)
    scratch = Path(tempfile.mkdtemp(prefix="pls-grading-"))
    for name, sub in (
        ("JUPYTER_RUNTIME_DIR", "runtime"),
        ("IPYTHONDIR", "ipython"),
        ("MPLCONFIGDIR", "matplotlib"),
    ):
        os.environ.setdefault(name, str(scratch / sub))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m pls_grading.execute",
        description="Run the notebook given on stdin; write the executed notebook on stdout.",
    )
    parser.add_argument("--cell-timeout", type=int, default=30, help="seconds per cell")
    parser.add_argument(
        "--time-limit", type=int, default=300, help="seconds for the whole notebook"
    )
    parser.add_argument("--startup-timeout", type=int, default=60, help="seconds for a kernel")
    parser.add_argument(
        "--max-restarts", type=int, default=3, help="kernel restarts before giving up"
    )
    parser.add_argument("--max-input-bytes", type=int, default=32 * MIB)
    parser.add_argument("--max-cell-output", type=int, default=1 * MIB, help="characters")
    parser.add_argument("--max-total-output", type=int, default=8 * MIB, help="characters")
    parser.add_argument("--kernel", default="python3", help="kernel name")
    parser.add_argument("--workdir", default=".", help="where the kernel runs")
    parser.add_argument(
        "--own-container",
        action="store_true",
        help="this runner owns its container: a kernel restart kills every other process in it",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    options.workdir = str(Path(options.workdir).resolve())
    logging.basicConfig(level=logging.WARNING, format="pls_grading: %(message)s")
    result_fd = claim_stdout()
    make_undumpable()
    prepare_environment(Path(options.workdir))
    return asyncio.run(Runner(options, result_fd).run())


if __name__ == "__main__":
    sys.exit(main())
