"""IPython extension for the grading kernel: cap what ``stdout`` and ``stderr`` may carry.

ipykernel buffers everything a cell prints between two flushes (every 0.2 s) and sends it as
one message, so a loop printing hundreds of MB grows the kernel's memory and the runner's
(:mod:`pls_grading.execute`) by as much before anyone can drop it. This extension truncates at
the source: once a cell (or the whole notebook) has written its budget, further writes are
dropped and one line says so, on the stream that overflowed, so a test that wrote to ``stderr``
still shows ``stderr`` output (nbgrader fails such a test).

It only protects well-meaning code: the learner's code runs in the same process and could undo
it. The runner's own cap is the one that holds (:class:`pls_grading.execute.OutputBudget`), and
the container's memory limit bounds the rest.

Loaded by the runner with ``--IPKernelApp.extra_extensions=pls_grading.output_cap``; the budgets
come from ``PLS_GRADING_CELL_OUTPUT_BYTES`` and ``PLS_GRADING_TOTAL_OUTPUT_BYTES``
(characters, 0: no cap).
"""

from __future__ import annotations

import os
import sys
import threading

CELL_ENV = "PLS_GRADING_CELL_OUTPUT_BYTES"
TOTAL_ENV = "PLS_GRADING_TOTAL_OUTPUT_BYTES"
NOTICE = "\n[output truncated by the grader: more than {limit} characters]\n"


class StreamBudget:
    """Characters the current cell, and the whole run, may still write (shared by both
    streams). Writes come from the cell's thread and from ipykernel's fd-watching threads."""

    def __init__(self, per_cell: int, total: int) -> None:
        self.per_cell = per_cell
        self.total = total
        self.cell_used = 0
        self.total_used = 0
        self.noticed: set[str] = set()
        self.lock = threading.Lock()

    def new_cell(self, *_info: object) -> None:
        with self.lock:
            self.cell_used = 0
            self.noticed.clear()

    def take(self, text: str, stream: str) -> tuple[str, str]:
        """The part of ``text`` that may be written, and a notice to write after it (or '')."""
        with self.lock:
            room = len(text)
            limit = 0
            if self.per_cell:
                room = min(room, self.per_cell - self.cell_used)
                limit = self.per_cell
            if self.total:
                left = self.total - self.total_used
                if left < room:
                    room, limit = left, self.total
            room = max(room, 0)
            self.cell_used += room
            self.total_used += room
            if room == len(text) or stream in self.noticed:
                return text[:room], ""
            self.noticed.add(stream)
            return text[:room], NOTICE.format(limit=limit)


def capped(write, budget: StreamBudget, stream: str):
    def write_capped(text: str) -> int:
        allowed, notice = budget.take(text, stream)
        if allowed:
            write(allowed)
        if notice:
            write(notice)
        return len(text)  # the caller's text is consumed either way

    return write_capped


def load_ipython_extension(ipython) -> None:
    budget = StreamBudget(
        per_cell=int(os.environ.get(CELL_ENV, "0") or 0),
        total=int(os.environ.get(TOTAL_ENV, "0") or 0),
    )
    if not (budget.per_cell or budget.total):
        return
    for stream in (sys.stdout, sys.stderr):
        name = getattr(stream, "name", "stdout")
        stream.write = capped(stream.write, budget, name)
    ipython.events.register("pre_run_cell", budget.new_cell)
