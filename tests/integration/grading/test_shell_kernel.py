"""The judge's kernel (pls_grading.shell_kernel) against ipykernel: for everything the grading
runner sends and reads, both kernels answer alike. Each behaviour runs on both (``kernel`` is
parametrized), with the runner's own kernel arguments and extensions, on this machine's Python.
Then the shell kernel alone with jupyter_client, the protocol's reference client.
(The runner choosing it in the sandbox: tests/integration/grading/test_autograde_sandbox.)
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from pls_grading.execute import IN_KERNEL, JUDGE, KERNEL_ARGUMENTS, grading_kernels
from pls_grading.kernel_client import Kernel, find_kernel_spec

from tests.support.kernel_messages import collect, wait_until_it_prints

pytestmark = pytest.mark.slow

KERNELS = {"ipykernel": IN_KERNEL, "shell_kernel": JUDGE}


def started_kernel(mode: str, folder) -> Kernel:
    spec = grading_kernels(find_kernel_spec("python3"))[mode]
    # Without pytest's variable: ipykernel leaves file descriptors alone under pytest.
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
    kernel = Kernel(spec, cwd=str(folder), env=env,
                    extra_arguments=list(KERNEL_ARGUMENTS), runtime_dir=folder / "runtime")
    info = kernel.start(timeout=60)
    assert info["language_info"]["name"] == "python"
    return kernel


@pytest.fixture(params=list(KERNELS))
def kernel(request, tmp_path) -> Iterator[Kernel]:
    started = started_kernel(KERNELS[request.param], tmp_path)
    yield started
    started.close()


def shown(published: list[dict]) -> list[tuple]:
    """The outputs of a cell, as (message type, the part of its content that matters)."""
    found = []
    for msg in published:
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            found.append((kind, content["name"], content["text"]))
        elif kind in ("display_data", "update_display_data", "execute_result"):
            found.append((kind, content["data"].get("text/plain"),
                          content.get("transient", {}).get("display_id")))
        elif kind == "clear_output":
            found.append((kind, content["wait"]))
        elif kind == "error":
            found.append((kind, content["ename"], content["evalue"]))
    return found


def test_a_cells_messages_come_in_the_protocols_order(kernel):
    reply, published = collect(kernel, kernel.execute("print(6 * 7)\n6 * 7"))
    assert reply["msg_type"] == "execute_reply" and reply["content"]["status"] == "ok"
    assert reply["content"]["execution_count"] == 1
    kinds = [msg["msg_type"] for msg in published]
    assert kinds == ["status", "execute_input", "stream", "execute_result", "status"]
    assert published[1]["content"] == {"code": "print(6 * 7)\n6 * 7", "execution_count": 1}
    assert published[3]["content"]["execution_count"] == 1
    assert shown(published) == [("stream", "stdout", "42\n"), ("execute_result", "42", None)]


def test_prints_displays_updates_and_clears_keep_their_order(kernel):
    code = (
        "import sys\n"
        "from IPython.display import display, clear_output\n"
        "print('one')\n"
        "print('warned', file=sys.stderr)\n"
        "handle = display('first', display_id='d1')\n"
        "print('two')\n"
        "handle.update('second')\n"
        "clear_output(wait=True)\n"
        "print('three')\n"
    )
    reply, published = collect(kernel, kernel.execute(code))
    assert reply["content"]["status"] == "ok"
    assert shown(published) == [
        ("stream", "stdout", "one\n"),
        ("stream", "stderr", "warned\n"),
        ("display_data", "'first'", "d1"),
        ("stream", "stdout", "two\n"),
        ("update_display_data", "'second'", "d1"),
        ("clear_output", True),
        ("stream", "stdout", "three\n"),
    ]


def test_what_is_written_to_file_descriptors_1_and_2_is_shown_too(kernel):
    reply, published = collect(kernel, kernel.execute(
        "import os, subprocess, time\n"
        "os.write(1, b'from fd 1\\n')\n"
        "subprocess.run(['sh', '-c', 'echo from a subprocess >&2'])\n"
        "time.sleep(0.5)  # ipykernel reads file descriptors in a thread of its own\n"
    ))
    assert reply["content"]["status"] == "ok"
    text = {name: "".join(t for kind, n, t in shown(published) if n == name)
            for name in ("stdout", "stderr")}
    assert text == {"stdout": "from fd 1\n", "stderr": "from a subprocess\n"}


def test_a_message_sent_through_the_kernels_session_reaches_iopub(kernel):
    """ipykernel's API for code in the kernel (widgets use it; so do hostile cells, in
    tests/integration/grading/test_adversarial.py): ``session.send`` on ``iopub_socket``."""
    reply, published = collect(kernel, kernel.execute(
        "k = get_ipython().kernel\n"
        "sent = k.session.send(k.iopub_socket, 'display_data', {'data': {'text/plain': 'sent'},\n"
        "                      'metadata': {}, 'transient': {}}, parent=k.get_parent())\n"
    ))
    assert reply["content"]["status"] == "ok"
    assert shown(published) == [("display_data", "sent", None)]


def test_an_exception_is_an_error_reply_and_an_error_output(kernel):
    reply, published = collect(kernel, kernel.execute("def f(x):\n    return 1 / x\nf(0)"))
    content = reply["content"]
    assert (content["status"], content["ename"], content["evalue"]) == (
        "error", "ZeroDivisionError", "division by zero")
    assert any("ZeroDivisionError" in line for line in content["traceback"])
    assert shown(published) == [("error", "ZeroDivisionError", "division by zero")]


def test_input_is_refused_as_ipykernel_refuses_it_without_a_stdin_channel(kernel):
    reply, _ = collect(kernel, kernel.execute("name = input('who? ')"))
    assert reply["content"]["ename"] == "StdinNotImplementedError"
    assert reply["content"]["evalue"] == (
        "raw_input was called, but this frontend does not support input requests.")
    reply, _ = collect(kernel, kernel.execute("import getpass\ngetpass.getpass()"))
    assert reply["content"]["ename"] == "StdinNotImplementedError"


def test_a_silent_request_answers_user_expressions_and_shows_nothing(kernel):
    collect(kernel, kernel.execute("total = 40"))
    reply, published = collect(kernel, kernel.execute(
        "total += 2", silent=True, store_history=False,
        user_expressions={"answer": "total", "broken": "1 / 0"},
    ))
    expressions = reply["content"]["user_expressions"]
    assert expressions["answer"]["status"] == "ok"
    assert expressions["answer"]["data"]["text/plain"] == "42"
    assert expressions["broken"]["status"] == "error"
    assert expressions["broken"]["ename"] == "ZeroDivisionError"
    assert [msg["msg_type"] for msg in published] == ["status", "status"]
    reply, _ = collect(kernel, kernel.execute("1"))
    assert reply["content"]["execution_count"] == 2  # the silent request counted no cell


def test_an_interrupt_stops_a_running_cell_and_one_between_cells_is_ignored(kernel):
    kernel.interrupt()  # nothing runs: the kernel goes on
    reply, _ = collect(kernel, kernel.execute("'alive'"))
    assert reply["content"]["status"] == "ok"
    msg_id = kernel.execute("import time\nprint('running', flush=True)\nwhile True:\n    pass")
    wait_until_it_prints(kernel, msg_id)
    kernel.interrupt()
    reply, published = collect(kernel, msg_id)
    assert reply["content"]["ename"] == "KeyboardInterrupt"
    assert ("error", "KeyboardInterrupt", "") in shown(published)
    reply, _ = collect(kernel, kernel.execute("'still alive'"))
    assert reply["content"]["status"] == "ok"


def test_exit_asks_the_frontend_and_the_kernel_goes_on(kernel):
    reply, _ = collect(kernel, kernel.execute("exit()"))
    assert reply["content"]["status"] == "ok"
    assert [p["source"] for p in reply["content"]["payload"]] == ["ask_exit"]
    reply, published = collect(kernel, kernel.execute("print('after')"))
    assert shown(published) == [("stream", "stdout", "after\n")]


def test_the_runners_extensions_are_loaded(kernel):
    reply, _ = collect(kernel, kernel.execute(
        "", silent=True, store_history=False,
        user_expressions={"loaded": "sorted(m for m in get_ipython().extension_manager.loaded"
                                    " if m.startswith('pls_grading'))"},
    ))
    loaded = reply["content"]["user_expressions"]["loaded"]["data"]["text/plain"]
    assert loaded == "['pls_grading.guard', 'pls_grading.output_cap', 'pls_grading.probe']"


def test_a_figure_is_shown_as_an_image_after_its_cell(kernel):
    reply, published = collect(kernel, kernel.execute(
        "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\nNone"))
    assert reply["content"]["status"] == "ok"
    images = [msg for msg in published if msg["msg_type"] == "display_data"]
    assert len(images) == 1 and "image/png" in images[0]["content"]["data"]


# -- the shell kernel and jupyter_client ---------------------------------------------------------


def test_jupyter_clients_own_client_drives_the_shell_kernel(tmp_path):
    from jupyter_client.blocking import BlockingKernelClient

    kernel = started_kernel(JUDGE, tmp_path)
    try:
        client = BlockingKernelClient(connection_file=str(kernel.connection_file))
        client.load_connection_file()
        client.start_channels()
        try:
            info = client.kernel_info(reply=True, timeout=30)
            assert info["content"]["implementation"] == "pls_grading.shell_kernel"
            assert client.is_alive()
            printed = []
            reply = client.execute_interactive(
                "print('from', 'the', 'client')\n2 ** 10", timeout=30,
                output_hook=lambda msg: printed.append((msg["msg_type"], msg["content"])),
            )
            assert reply["content"]["status"] == "ok"
            assert ("stream", {"name": "stdout", "text": "from the client\n"}) in printed
            results = [c for kind, c in printed if kind == "execute_result"]
            assert results[0]["data"] == {"text/plain": "1024"}
            client.shutdown()
            assert kernel.process.wait(timeout=30) == 0
        finally:
            client.stop_channels()
    finally:
        kernel.close()
