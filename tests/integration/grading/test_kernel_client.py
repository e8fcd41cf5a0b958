"""The grading runner's kernel client (pls_grading.kernel_client) against a real ipykernel on
this machine: the Jupyter messaging protocol, interrupts, a dying kernel, the kernel's process
group. (The runner built on it, in the sandbox: tests/integration/grading/test_autograde_sandbox.)
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest
from pls_grading.kernel_client import DELIMITER, Kernel, NoSuchKernel, find_kernel_spec

from tests.support.kernel_messages import collect, wait_until_it_prints

pytestmark = pytest.mark.slow


@pytest.fixture
def kernel(tmp_path) -> Iterator[Kernel]:
    started = Kernel(find_kernel_spec("python3"), cwd=str(tmp_path), env=dict(os.environ),
                     extra_arguments=[], runtime_dir=tmp_path / "runtime")
    info = started.start(timeout=60)
    assert info["language_info"]["name"] == "python"
    yield started
    started.close()


def test_a_cell_runs_and_its_outputs_come_on_iopub(kernel):
    reply, published = collect(kernel, kernel.execute("print(6 * 7)\n6 * 7"))
    assert reply["msg_type"] == "execute_reply" and reply["content"]["status"] == "ok"
    kinds = [msg["msg_type"] for msg in published]
    assert kinds == ["status", "execute_input", "stream", "execute_result", "status"]
    assert published[2]["content"]["text"] == "42\n"
    assert published[3]["content"]["data"]["text/plain"] == "42"


def test_a_message_not_signed_with_the_sessions_key_is_dropped(kernel):
    header, parent, metadata, content = (b'{"msg_type": "stream"}', b"{}", b"{}",
                                         b'{"name": "stdout", "text": "forged"}')
    parts = [header, parent, metadata, content]
    assert kernel.unpack([DELIMITER, kernel.sign(parts), *parts])["content"]["text"] == "forged"
    assert kernel.unpack([DELIMITER, b"0" * 64, *parts]) is None
    assert kernel.unpack([DELIMITER, kernel.sign(parts), *parts[:3]]) is None
    assert kernel.unpack([b"no delimiter", *parts]) is None


def test_an_interrupt_stops_a_running_cell(kernel):
    msg_id = kernel.execute("import time\nprint('running', flush=True)\ntime.sleep(60)")
    wait_until_it_prints(kernel, msg_id)
    kernel.interrupt()
    reply, published = collect(kernel, msg_id)
    assert reply["content"]["status"] == "error"
    assert reply["content"]["ename"] == "KeyboardInterrupt"
    assert "error" in [msg["msg_type"] for msg in published]


def test_a_kernel_that_exits_is_seen_dead(kernel):
    kernel.execute("import os\nos._exit(3)")
    deadline = time.monotonic() + 30
    while kernel.alive() and time.monotonic() < deadline:
        kernel.receive(0.2)
    assert not kernel.alive()


def test_closing_kills_what_the_kernel_started_and_forgets_its_connection_file(kernel):
    _, published = collect(kernel, kernel.execute(
        "import subprocess\nprint(subprocess.Popen(['sleep', '600']).pid)"))
    child = int(next(m for m in published if m["msg_type"] == "stream")["content"]["text"])
    os.kill(child, 0)  # running
    connection_file = kernel.connection_file
    kernel.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and alive(child):
        time.sleep(0.1)
    assert not alive(child)
    assert not connection_file.exists()


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, killed and waiting for its parent, does not)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.parametrize("name", ["no-such-kernel", "../python3", ""])
def test_an_unknown_kernel_name_is_no_such_kernel(name):
    with pytest.raises(NoSuchKernel):
        find_kernel_spec(name)
