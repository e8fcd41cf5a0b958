"""Reading a kernel's answers in tests of the grading runner's kernels
(tests/integration/grading/test_kernel_client.py, test_shell_kernel.py)."""

from __future__ import annotations

import time

from pls_grading.kernel_client import Kernel


def collect(kernel: Kernel, msg_id: str, seconds: float = 30) -> tuple[dict, list[dict]]:
    """The shell reply to ``msg_id`` and its IOPub messages up to the kernel's idle status."""
    reply, published, idle = None, [], False
    deadline = time.monotonic() + seconds
    while reply is None or not idle:
        got = kernel.receive(deadline - time.monotonic())
        assert got is not None, "the kernel went silent"
        channel, msg = got
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if channel == "shell":
            reply = msg
        else:
            published.append(msg)
            idle = msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle"
    return reply, published


def wait_until_it_prints(kernel: Kernel, msg_id: str, seconds: float = 30) -> None:
    """Until the cell of ``msg_id`` has printed something (so it runs now)."""
    deadline = time.monotonic() + seconds
    while True:
        got = kernel.receive(deadline - time.monotonic())
        assert got is not None, "the cell did not start"
        _, msg = got
        if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "stream":
            return
