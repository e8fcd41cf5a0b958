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
That kernel is the judge's (:mod:`pls_grading.shell_kernel`, the default way of grading); a
request for in-kernel grading replaces it with ipykernel before any of the notebook runs.

Execution follows nbgrader's ``Execute`` preprocessor, i.e. nbclient with nbgrader's settings
(the same timeout, interrupt and error handling, outputs as nbclient records them), but on
:mod:`pls_grading.kernel_client` instead of nbclient and jupyter_client, and on plain JSON
instead of nbformat: every sandbox imports this module anew, and those libraries cost ~0.18 s
of CPU per sandbox (importing nbgrader would cost ~1.2 s). The course's ``python3`` kernel
starts as :mod:`pls_grading.shell_kernel` under the judge (IPython's shell without ipykernel:
about half the CPU to start, a fifth for each request) and as :mod:`pls_grading.kernel` for
in-kernel grading (ipykernel without debugpy: ~0.17 s less per kernel); see
:func:`grading_kernels`. What nbclient does and this runner does as well:

- a code cell's outputs are replaced by what the kernel publishes for it (``stream``,
  ``display_data``, ``execute_result``, ``error``; ``clear_output``, also with ``wait``; a
  ``display_id``'s updates), and its execution count is the number of code cells run so far;
- an error reply without an error output (a timeout, or a kernel with tracebacks turned off)
  becomes one, as nbgrader's ``Execute`` adds it, so the cell fails;
- cells with no code are not sent to the kernel, and nothing is read from stdin.

What it leaves out, because grading does not use it: nbclient's timing metadata, widget state,
and kernels other than local processes. On top of it:

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
import base64
import binascii
import contextlib
import ctypes
import dataclasses
import hashlib
import hmac
import json
import logging
import math
import os
import secrets
import signal
import sys
import tempfile
import time
from pathlib import Path, PurePosixPath
from typing import Any

from pls_grading.judge import Judge, JudgeStop
from pls_grading.kernel_client import Kernel, KernelDied, KernelSpec, find_kernel_spec

log = logging.getLogger("pls_grading.execute")

Cell = dict[str, Any]
Output = dict[str, Any]

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
IOPUB_SECONDS = 4  # nbclient's iopub_timeout as nbgrader sets it: a cell's outputs after its reply
ALIVE_SECONDS = 1.0  # how often a silent kernel is checked for being alive, as nbclient does
OUTPUT_MESSAGES = {"stream", "display_data", "execute_result", "error"}
DISPLAYED = {"display_data", "execute_result", "update_display_data"}
KERNEL_DIED = (
    "the kernel died while running this cell: it ran out of memory or was killed; the cells "
    "after it run in a fresh kernel"
)
KERNEL_HUNG = "the kernel was restarted; the cells after this one run in a fresh kernel"
KERNEL_ARGUMENTS = [
    "--HistoryManager.hist_file=:memory:",  # as nbgrader's Execute: no history database
    "--IPKernelApp.extra_extensions=pls_grading.output_cap",
    "--IPKernelApp.extra_extensions=pls_grading.guard",
    "--IPKernelApp.extra_extensions=pls_grading.probe",
]
JUDGE = "judge"
IN_KERNEL = "in-kernel"
GRADING_MODES = (JUDGE, IN_KERNEL)
# The judge's questions to the kernel (pls_grading.probe), through user_expressions.
PROBE_EXPRESSION = '__import__("pls_grading.probe").probe.answer({question})'
PROBE_ANSWER_LIMIT = 64 * MIB  # characters of one answer's text
# Asked before (and after) each graded cell through user_expressions: evaluated by the kernel
# without IPython's input transformers, AST transformers or compiler.
GUARD_EXPRESSION = '__import__("pls_grading.guard").guard.check({phase!r})'
GUARD_SECONDS = 10
GUARD_SILENT = "the grader's check before this cell gave no answer"


class BadRequest(Exception):
    """The request on stdin cannot be used; the message is for the grader's log."""


class CellHung(Exception):
    """The cell was interrupted after its time limit, and its outputs still did not end."""


# -- outputs -------------------------------------------------------------------------------------


def stream_output(name: str, text: str) -> Output:
    return {"output_type": "stream", "name": name, "text": text}


def error_output(ename: str, evalue: str, traceback: list[str] | None = None) -> Output:
    return {
        "output_type": "error",
        "ename": ename,
        "evalue": evalue,
        "traceback": traceback or [f"\x1b[0;31m{ename}\x1b[0m: {evalue}"],
    }


def mime_bundle(data: Any) -> dict[str, Any]:
    """A display's data as nbformat has it: text for each type, any JSON for ``*json`` types
    (the kernel runs the learner's code, so its messages are not trusted to have that shape)."""
    if not isinstance(data, dict):
        return {}
    bundle: dict[str, Any] = {}
    for mime, value in data.items():
        if str(mime).endswith("json"):
            bundle[str(mime)] = value
        elif isinstance(value, list) and all(isinstance(line, str) for line in value):
            bundle[str(mime)] = "".join(value)
        else:
            bundle[str(mime)] = value if isinstance(value, str) else str(value)
    return bundle


def output_from_message(msg: dict[str, Any]) -> Output:
    """The notebook output for an IOPub output message, as nbformat's ``output_from_msg``."""
    kind = msg["msg_type"]
    content = msg["content"]
    if kind == "stream":
        name = content.get("name")
        return stream_output(name if name in ("stdout", "stderr") else "stdout",
                             str(content.get("text", "")))
    if kind == "error":
        traceback = content.get("traceback")
        return error_output(
            str(content.get("ename", "")), str(content.get("evalue", "")),
            [str(line) for line in traceback] if isinstance(traceback, list) else None,
        )
    metadata = content.get("metadata")
    output = {
        "output_type": kind,
        "data": mime_bundle(content.get("data")),
        "metadata": metadata if isinstance(metadata, dict) else {},
    }
    if kind == "execute_result":
        count = content.get("execution_count")
        output["execution_count"] = count if isinstance(count, int) else None
    return output


def content_size(msg: dict[str, Any]) -> int:
    """Roughly how many characters an output message adds to the notebook."""
    content = msg.get("content") or {}
    if isinstance(content.get("text"), str):
        return len(content["text"])
    size = sum(len(b) for b in msg.get("buffers") or [])
    data = content.get("data")
    for value in (data if isinstance(data, dict) else {}).values():
        size += len(value) if isinstance(value, str) else len(json.dumps(value))
    return size


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + " [...]"


class OutputBudget:
    """How much output the current cell and the whole notebook may still add.

    :meth:`admit` is called for each output message before it is stored; what does not fit is
    dropped (a stream is cut at the limit) and counted, and :meth:`finish_cell` appends one
    notice per cell that lost output."""

    def __init__(self, per_cell: int, total: int) -> None:
        self.per_cell = per_cell
        self.total = total
        self.total_used = 0
        self.cell_used = 0
        self.dropped = 0
        self.dropped_stderr = False

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
            data = content.get("data")
            text = data.get("text/plain", "") if isinstance(data, dict) else ""
            content["data"] = {"text/plain": shorten(str(text), RESULT_TEXT_LIMIT)}
            return True
        return False

    @staticmethod
    def trim_error(content: dict[str, Any]) -> None:
        """Errors are always kept, since they fail a test, but their text is shortened."""
        content["evalue"] = shorten(str(content.get("evalue", "")), ERROR_TEXT_LIMIT)
        traceback = content.get("traceback")
        lines = [shorten(str(line), ERROR_TEXT_LIMIT)
                 for line in (traceback if isinstance(traceback, list) else [])]
        if len(lines) > ERROR_LINES_LIMIT:
            half = ERROR_LINES_LIMIT // 2
            lines = [*lines[:half], "[... traceback shortened ...]", *lines[-half:]]
        content["traceback"] = lines

    def finish_cell(self, cell: Cell) -> None:
        if self.dropped:
            notice = (
                f"[{self.dropped} characters of output were dropped by the grader: a cell may "
                f"show {self.per_cell}, a notebook {self.total}]\n"
            )
            cell["outputs"].append(stream_output("stdout", notice))
            if self.dropped_stderr:
                cell["outputs"].append(stream_output("stderr", notice))
        self.cell_used = 0
        self.dropped = 0
        self.dropped_stderr = False


class CellOutputs:
    """The outputs of the cell that runs now, kept as nbclient keeps them: ``clear_output``
    (now, or with ``wait`` before the next output) and updates of a ``display_id`` (in any
    cell run so far), within the :class:`OutputBudget`."""

    def __init__(self, budget: OutputBudget) -> None:
        self.budget = budget
        self.displays: dict[str, list[Output]] = {}
        self.outputs: list[Output] = []
        self.clear_before_next = False

    def start(self, cell: Cell) -> None:
        self.outputs = cell["outputs"] = []
        self.clear_before_next = False

    def add(self, msg: dict[str, Any]) -> bool:
        """Take one IOPub message for this cell; True once the kernel says it is idle again."""
        kind = msg["msg_type"]
        content = msg["content"]
        if kind == "status":
            return content.get("execution_state") == "idle"
        if kind == "clear_output":
            if content.get("wait"):
                self.clear_before_next = True
            else:
                self.outputs.clear()
            return False
        transient = content.get("transient")
        display_id = transient.get("display_id") if isinstance(transient, dict) else None
        if kind not in OUTPUT_MESSAGES and kind != "update_display_data":
            return False  # execute_input, comms (no widget state is kept), ...
        if kind == "error":
            self.budget.trim_error(content)
        elif not self.budget.admit(msg):
            return False
        if display_id and kind in DISPLAYED:
            self.update_display(str(display_id), msg)
        if kind == "update_display_data":
            return False
        if self.clear_before_next:
            self.outputs.clear()
            self.clear_before_next = False
        output = output_from_message(msg)
        if display_id and kind in DISPLAYED:
            self.displays.setdefault(str(display_id), []).append(output)
        self.outputs.append(output)
        return False

    def update_display(self, display_id: str, msg: dict[str, Any]) -> None:
        shown = output_from_message({**msg, "msg_type": "display_data"})
        for output in self.displays.get(display_id, []):
            output["data"] = shown["data"]
            output["metadata"] = shown["metadata"]

    def add_reply_error(self, reply: dict[str, Any]) -> None:
        """nbgrader's Execute.on_cell_executed: an error reply with no matching error output
        (a timeout, or showtraceback disabled) becomes an error output, so the cell fails."""
        content = reply["content"]
        if content.get("status") != "error":
            return
        ename = str(content.get("ename", ""))
        if any(o["output_type"] == "error" and o["ename"] == ename for o in self.outputs):
            return
        self.budget.trim_error(content)
        self.outputs.append(error_output(
            ename, str(content["evalue"]),
            content["traceback"] or ["ERROR: An error occurred while showtraceback was disabled"],
        ))


# -- the runner ----------------------------------------------------------------------------------


class Runner:
    """Start a kernel, read the request, run every cell, write the signed result."""

    def __init__(self, options: argparse.Namespace, result_fd: int) -> None:
        self.options = options
        self.result_fd = result_fd
        self.workdir = Path(options.workdir)
        self.kernel: Kernel | None = None
        self.language_info: dict[str, Any] | None = None
        self.restarts = 0
        self.timing: dict[str, float] = {}
        self.specs = grading_kernels(find_kernel_spec(options.kernel))  # before learner code
        self.tampering: list[dict[str, Any]] = []
        self.mode = JUDGE
        self.judged: list[int] = []
        self.judge = Judge(self.ask_probe)  # one for the notebook: it keeps what tests define

    def run(self) -> int:
        started = time.monotonic()
        if not self.kernel_for_grading():  # the judge's, before the request says otherwise
            return EXIT_NO_KERNEL
        self.timing["kernel_start_seconds"] = time.monotonic() - started
        waiting = time.monotonic()
        try:
            raw = read_input(self.options.max_input_bytes)
            received = time.monotonic()
            self.timing["waited_seconds"] = received - waiting
            nb, files, key, self.mode = parse_request(raw)
            write_files(self.workdir, files)
        except BadRequest as exc:
            log.error("unusable request: %s", exc)
            self.stop_kernel()
            return EXIT_BAD_REQUEST
        if not self.kernel_for_grading():  # in-kernel grading: ipykernel instead
            return EXIT_NO_KERNEL
        self.execute(nb, deadline=received + self.options.time_limit)
        self.timing["execute_seconds"] = time.monotonic() - received
        metadata = nb.setdefault("metadata", {})
        if self.language_info is not None:
            metadata["language_info"] = self.language_info
        metadata["pls_grading"] = {
            "run": {
                **{k: round(v, 3) for k, v in self.timing.items()},
                "kernel_restarts": self.restarts,
            },
            "tampering": self.tampering,
            "grading": self.mode,
            "judged": self.judged,
        }
        write_result(self.result_fd, nb, key)
        self.stop_kernel()
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

    @property
    def spec(self) -> KernelSpec:
        """The kernel this notebook's grading runs in (before the request is read: the
        judge's, the default)."""
        return self.specs[self.mode]

    def kernel_for_grading(self) -> bool:
        """Start the kernel of this grading mode unless it runs already; False when it did
        not start."""
        if self.kernel is not None and self.kernel.spec == self.spec:
            return True
        self.stop_kernel()
        try:
            self.start_kernel()
        except Exception as exc:
            log.error("the kernel did not start: %s", exc)
            self.stop_kernel()
            return False
        return True

    def start_kernel(self) -> None:
        kernel = Kernel(
            self.spec, cwd=str(self.workdir), env=self.kernel_env(),
            extra_arguments=list(KERNEL_ARGUMENTS),
            runtime_dir=Path(os.environ["JUPYTER_RUNTIME_DIR"]),
        )
        self.kernel = kernel
        try:
            info = kernel.start(timeout=self.options.startup_timeout)
        finally:
            if kernel.pid:  # the kernel, not this process, is what the OOM killer should pick
                with contextlib.suppress(OSError):
                    Path(f"/proc/{kernel.pid}/oom_score_adj").write_text("1000")
        if isinstance(info.get("language_info"), dict):
            self.language_info = info["language_info"]
        if self.ask_guard("after") is None:  # the image's fault, not the notebook's
            raise RuntimeError("pls_grading.guard did not load in the kernel")

    def stop_kernel(self) -> None:
        if self.kernel is not None:
            self.kernel.close()
            self.kernel = None

    def restart_kernel(self) -> bool:
        """Kill the kernel and everything it started, then start a fresh one."""
        self.restarts += 1
        if self.options.own_container:
            # Every process in the container but tini and this one: also the ones the
            # learner's code started in new sessions, which a process group would miss.
            with contextlib.suppress(ProcessLookupError):
                os.kill(-1, signal.SIGKILL)
        self.stop_kernel()
        try:
            self.start_kernel()
        except Exception as exc:
            log.error("the kernel did not restart: %s", exc)
            return False
        return True

    # -- cells ----------------------------------------------------------------------------

    def execute(self, nb: dict[str, Any], deadline: float) -> None:
        budget = OutputBudget(self.options.max_cell_output, self.options.max_total_output)
        outputs = CellOutputs(budget)
        cell_timeout = self.options.cell_timeout
        not_run = ""  # once set, why the remaining code cells are not run
        executed = 0
        for index, cell in enumerate(nb["cells"]):
            if cell["cell_type"] != "code":
                continue
            outputs.start(cell)
            if not not_run and deadline - time.monotonic() < 1:
                not_run = (
                    f"the notebook's time limit ({self.options.time_limit} s) ran out before "
                    "this cell"
                )
            if not_run:
                cell["outputs"].append(error_output("NotRun", not_run))
                continue
            executed += 1
            graded = is_graded(cell)
            if self.mode == JUDGE and is_read_only(cell):
                # What it defines (import, def, class) is the tests' own from here on.
                self.judge.define(cell["source"], max(1, min(
                    cell_timeout, math.ceil(deadline - time.monotonic()))))
            if self.mode == JUDGE and is_test(cell):
                timeout = max(1, min(cell_timeout, math.ceil(deadline - time.monotonic())))
                if not self.judge_cell(cell, index, executed, outputs, timeout):
                    budget.finish_cell(cell)
                    if self.restarts >= self.options.max_restarts:
                        not_run = "the kernel had to be restarted too often"
                    elif not self.restart_kernel():
                        not_run = "the kernel could not be restarted"
                    continue
                budget.finish_cell(cell)
                continue
            if graded and self.mode == IN_KERNEL and not self.guard_before(cell, index):
                not_run = "the kernel could not be restarted"
                cell["outputs"].append(error_output("NotRun", not_run))
                continue
            if not cell["source"].strip():
                continue  # as nbclient: nothing to run, and no execution count
            failures: list[Output] = []
            timeout = max(1, min(cell_timeout, math.ceil(deadline - time.monotonic())))
            try:
                reply = self.run_cell(cell["source"], outputs, timeout, store_history=not graded)
                cell["execution_count"] = executed
                outputs.add_reply_error(reply)
                if graded and self.mode == IN_KERNEL:
                    self.ask_guard("after")
            except KernelDied:
                failures = [error_output("KernelRestarted", KERNEL_DIED)]
            except CellHung:
                # Still a timeout (the grader flags it so), and the kernel is restarted.
                failures = [
                    error_output(
                        "CellTimeoutError",
                        f"the cell ran longer than its time limit ({cell_timeout} s) and did "
                        "not stop when interrupted",
                    ),
                    error_output("KernelRestarted", KERNEL_HUNG),
                ]
            budget.finish_cell(cell)
            if not failures:
                continue
            cell["outputs"].extend(failures)
            if self.restarts >= self.options.max_restarts:
                not_run = "the kernel had to be restarted too often"
            elif not self.restart_kernel():
                not_run = "the kernel could not be restarted"

    def run_cell(
        self, source: str, outputs: CellOutputs, timeout: int, store_history: bool
    ) -> dict[str, Any]:
        """Run one cell and collect its outputs until the kernel is idle again; its reply.

        As nbclient with nbgrader's settings: after ``timeout`` seconds without a reply the
        kernel is interrupted and the reply is a ``CellTimeoutError``; outputs that do not end
        within :data:`IOPUB_SECONDS` of the reply raise :class:`CellHung`; a kernel that dies
        on the way raises :class:`KernelDied`."""
        kernel = self.kernel
        msg_id = kernel.execute(source, store_history=store_history, stop_on_error=False)
        reply: dict[str, Any] | None = None
        idle = False
        until = time.monotonic() + timeout  # the reply's deadline, then the outputs'
        while reply is None or not idle:
            now = time.monotonic()
            if now >= until:
                if reply is not None:
                    raise CellHung
                if not kernel.alive():
                    raise KernelDied
                kernel.interrupt()
                reply = {"content": {
                    "status": "error",
                    "ename": "CellTimeoutError",
                    "evalue": f"the cell ran longer than its time limit ({timeout} s) and was "
                    "stopped",
                    "traceback": [
                        "\x1b[0;31mCellTimeoutError\x1b[0m: No reply from kernel before timeout"
                    ],
                }}
                until = now + IOPUB_SECONDS
                continue
            got = kernel.receive(min(until - now, ALIVE_SECONDS))
            if got is None:
                if not kernel.alive():
                    raise KernelDied
                continue
            channel, msg = got
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if channel == "shell" and reply is None:
                reply = msg
                until = time.monotonic() + IOPUB_SECONDS
            elif channel == "iopub":
                idle = outputs.add(msg) or idle
        return reply

    # -- the judge (pls_grading.judge) ------------------------------------------------------

    def judge_cell(
        self, cell: Cell, index: int, count: int, outputs: CellOutputs, timeout: int
    ) -> bool:
        """Evaluate a test cell in this process (never in the kernel): its outputs come from the
        judge alone. False when the kernel must be restarted (the learner's code hung it or
        killed it); the cell has its failure then."""
        judge = self.judge
        restart = False
        try:
            produced = judge.evaluate(cell["source"], count, timeout)
        except JudgeStop as stop:
            produced = judge.outputs.items
            restart = stop.restart
            if stop.ename == "KernelRestarted":
                produced.append(error_output("KernelRestarted", KERNEL_DIED))
            else:
                produced.append(error_output("KernelRestarted", KERNEL_HUNG))
        cell["execution_count"] = count
        for output in produced:
            outputs.add(judged_message(output))
        self.judged.append(index)
        return not restart

    def ask_probe(self, question: dict[str, Any], seconds: float) -> dict[str, Any]:
        """One question of the judge to the kernel's probe (:mod:`pls_grading.probe`), answered
        in the reply to this request under a name chosen now. A call that runs out of time is
        interrupted; a kernel that still does not answer, or dies, raises :class:`JudgeStop`
        with ``restart``."""
        name = f"judge_{secrets.token_hex(8)}"
        kernel = self.kernel
        expression = PROBE_EXPRESSION.format(question=json.dumps(json.dumps(question)))
        msg_id = kernel.execute("", silent=True, store_history=False, stop_on_error=False,
                                user_expressions={name: expression})
        until = time.monotonic() + max(seconds, 0.01)
        interrupted = False
        while True:
            now = time.monotonic()
            if now >= until:
                if interrupted:
                    raise JudgeStop("CellTimeoutError", "the learner's code ran longer than "
                                    "the test's time limit and did not stop", restart=True)
                if not kernel.alive():
                    raise JudgeStop("KernelRestarted", KERNEL_DIED, restart=True)
                kernel.interrupt()
                interrupted = True
                until = now + IOPUB_SECONDS
                continue
            got = kernel.receive(min(until - now, ALIVE_SECONDS))
            if got is None:
                if not kernel.alive():
                    raise JudgeStop("KernelRestarted", KERNEL_DIED, restart=True)
                continue
            channel, msg = got
            if channel == "shell" and msg["parent_header"].get("msg_id") == msg_id:
                answer = probe_answer(msg, name)
                if interrupted:
                    raise JudgeStop("CellTimeoutError", "the learner's code ran longer than "
                                    "the test's time limit and was stopped")
                return answer

    # -- the guard (pls_grading.guard) ------------------------------------------------------

    def ask_guard(self, phase: str) -> list[str] | None:
        """The parts of IPython's machinery the guard found changed (and put back), or None
        when it gave no usable answer. The answer comes in the reply to this request, under a
        name chosen now: nothing a cell prints can stand in for it."""
        name = f"guard_{secrets.token_hex(8)}"
        kernel = self.kernel
        msg_id = kernel.execute(
            "", silent=True, store_history=False, stop_on_error=False,
            user_expressions={name: GUARD_EXPRESSION.format(phase=phase)},
        )
        deadline = time.monotonic() + GUARD_SECONDS
        while (left := deadline - time.monotonic()) > 0:
            got = kernel.receive(min(left, ALIVE_SECONDS))
            if got is None:
                if not kernel.alive():
                    return None
                continue
            channel, msg = got
            if channel == "shell" and msg["parent_header"].get("msg_id") == msg_id:
                return guard_answer(msg, name)
        return None

    def guard_before(self, cell: Cell, index: int) -> bool:
        """Ask the guard before a graded cell and record what it found. No answer: the
        learner's code may hold the kernel, so the cell runs in a fresh one. False when that
        kernel did not start."""
        found = self.ask_guard("before")
        if found == []:
            return True
        nbgrader = cell["metadata"].get("nbgrader")
        self.tampering.append({
            "cell": index,
            "grade_id": nbgrader.get("grade_id") if isinstance(nbgrader, dict) else None,
            "found": found if found is not None else [GUARD_SILENT],
        })
        if found is not None:
            return True
        return self.restart_kernel()


def is_test(cell: Cell) -> bool:
    """An autograder test cell: graded, and not an answer (nbgrader's ``grade`` without
    ``solution``)."""
    meta = cell["metadata"].get("nbgrader")
    return is_graded(cell) and isinstance(meta, dict) and not meta.get("solution")


def is_read_only(cell: Cell) -> bool:
    """An instructor's code cell that is neither an answer nor a test: nbgrader locked it, and
    put the release's source back (the grader the release's metadata) before the notebook came
    here, so the learner cannot change it."""
    meta = cell["metadata"].get("nbgrader")
    return (cell["cell_type"] == "code" and isinstance(meta, dict) and bool(meta.get("locked"))
            and not meta.get("solution") and not meta.get("grade"))


def judged_message(output: Output) -> dict[str, Any]:
    """A judge's output as the IOPub message it stands for, so the output budget applies."""
    kind = output["output_type"]
    content = {key: value for key, value in output.items() if key != "output_type"}
    return {"msg_type": kind, "content": content, "parent_header": {}}


def probe_answer(reply: dict[str, Any], name: str) -> dict[str, Any]:
    """The probe's answer from an execute reply; :class:`JudgeStop` when there is none (the
    learner's code broke the probe: the test fails)."""
    try:
        value = reply["content"]["user_expressions"][name]
        if value["status"] != "ok":
            raise JudgeStop("JudgeError", "the learner's kernel could not answer the judge "
                            f"({str(value.get('ename', 'an error'))[:100]})")
        text = value["data"]["text/plain"]
        if not isinstance(text, str) or len(text) > PROBE_ANSWER_LIMIT:
            raise JudgeStop("JudgeError", "the learner's kernel gave an answer too large to check")
        answer = json.loads(ast.literal_eval(text))
    except (KeyError, TypeError, ValueError, SyntaxError, MemoryError, RecursionError):
        raise JudgeStop("JudgeError", "the learner's kernel gave no usable answer") from None
    if not isinstance(answer, dict):
        raise JudgeStop("JudgeError", "the learner's kernel gave no usable answer")
    return answer


def is_graded(cell: Cell) -> bool:
    """A cell nbgrader gives points for (tests, and answers graded by hand): the grader put
    the release's nbgrader metadata back before the notebook came here."""
    meta = cell["metadata"].get("nbgrader")
    return cell["cell_type"] == "code" and isinstance(meta, dict) and bool(meta.get("grade"))


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


def grading_kernels(spec: KernelSpec) -> dict[str, KernelSpec]:
    """The kernel for each way of grading. ipykernel's own spec (``python -m
    ipykernel_launcher ...``) becomes :mod:`pls_grading.shell_kernel` for the judge's grading
    (IPython's shell without ipykernel: the learner's cells and the judge's questions, at a
    fraction of the CPU) and :mod:`pls_grading.kernel` for in-kernel grading (ipykernel without
    debugpy: the tests run in it, as in nbgrader); any other spec is used as it is for both."""
    if spec.argv[1:3] != ["-m", "ipykernel_launcher"]:
        return {mode: spec for mode in GRADING_MODES}
    python, rest = spec.argv[0], spec.argv[3:]
    return {
        JUDGE: dataclasses.replace(spec, argv=[python, "-m", "pls_grading.shell_kernel", *rest]),
        IN_KERNEL: dataclasses.replace(spec, argv=[python, "-m", "pls_grading.kernel", *rest]),
    }


# -- input and output ----------------------------------------------------------------------------


def read_input(limit: int) -> bytes:
    data = sys.stdin.buffer.read(limit + 1)
    if len(data) > limit:
        raise BadRequest(f"larger than {limit} bytes")
    return data


def joined(text: Any, what: str) -> str:
    """Text as .ipynb files may store it, a string or a list of lines, as one string."""
    if isinstance(text, list) and all(isinstance(line, str) for line in text):
        return "".join(text)
    if not isinstance(text, str):
        raise BadRequest(f"{what} is not text")
    return text


def parse_notebook(value: Any) -> dict[str, Any]:
    """The notebook of a request, checked for what this runner reads: nbformat 4, cells with a
    type and metadata, code cells with their source as one string."""
    if not isinstance(value, dict):
        raise BadRequest("no 'notebook' object")
    cells = value.get("cells")
    if value.get("nbformat") != 4 or not isinstance(cells, list):
        raise BadRequest("not an nbformat 4 notebook")
    if not isinstance(value.setdefault("metadata", {}), dict):
        raise BadRequest("not a notebook: its metadata is not an object")
    for index, cell in enumerate(cells):
        if not isinstance(cell, dict) or not isinstance(cell.get("cell_type"), str):
            raise BadRequest(f"not a notebook: cell {index} has no type")
        if not isinstance(cell.setdefault("metadata", {}), dict):
            raise BadRequest(f"not a notebook: cell {index}'s metadata is not an object")
        if "source" in cell or cell["cell_type"] == "code":
            cell["source"] = joined(cell.get("source", ""), f"cell {index}'s source")
    return value


def parse_request(raw: bytes) -> tuple[dict[str, Any], dict[str, bytes], bytes, str]:
    """The notebook, the extra files, the signing key and the grading mode of a request."""
    if not raw.strip():
        raise BadRequest("empty")
    try:
        request = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise BadRequest(f"not JSON: {exc}") from exc
    if not isinstance(request, dict):
        raise BadRequest("no 'notebook' object")
    nb = parse_notebook(request.get("notebook"))
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
    mode = request.get("grading", JUDGE)
    if mode not in GRADING_MODES:
        raise BadRequest(f"'grading' must be one of {', '.join(GRADING_MODES)}")
    return nb, files, key, mode


def write_files(workdir: Path, files: dict[str, bytes]) -> None:
    for name, content in files.items():
        relative = PurePosixPath(name)
        if relative.is_absolute() or ".." in relative.parts or not relative.parts:
            raise BadRequest(f"file {name!r} must be a relative path inside the work folder")
        target = workdir.joinpath(*relative.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)


def write_result(fd: int, nb: dict[str, Any], key: bytes) -> None:
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
    # The judge imports modules after the learner's files exist (a test's `import math`): only
    # from the image's libraries, never from the work folder (`python -c` puts it first).
    sys.path[:] = [entry for entry in sys.path if entry not in ("", ".", os.getcwd())]
    options = parse_args(argv)
    options.workdir = str(Path(options.workdir).resolve())
    logging.basicConfig(level=logging.WARNING, format="pls_grading: %(message)s")
    result_fd = claim_stdout()
    make_undumpable()
    prepare_environment(Path(options.workdir))
    return Runner(options, result_fd).run()


if __name__ == "__main__":
    sys.exit(main())
