"""How the grader reads a sandbox's answer: the signed result, and not waiting for the end.

A fake ``docker`` CLI stands in for the engine: ``run`` reads the request, answers like the
runner does (the executed notebook, then its signature with the request's key) and then stays
until the test lets it go; ``kill`` records the name it was given. (The real container:
tests/integration/grading/test_autograde_sandbox.py.)
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sys
import time
from pathlib import Path

import pytest

from grading.sandbox import Sandbox, signed_result

KEY = b"k" * 32
NOTEBOOK = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}

FAKE_DOCKER = """#!{python}
import hashlib, hmac, json, os, sys, time
state = {state!r}
if sys.argv[1] == "kill":
    open(os.path.join(state, "killed"), "w").write(sys.argv[2])
    os.kill(int(open(os.path.join(state, "pid")).read()), 9)
    sys.exit(0)
open(os.path.join(state, "pid"), "w").write(str(os.getpid()))
request = json.loads(sys.stdin.buffer.read())
line = json.dumps({{"cells": [], "metadata": {{"pls_grading": {{"run": {{"answered": 1}}}}}},
                   "nbformat": 4, "nbformat_minor": 5}}).encode()
sys.stdout.buffer.write(line + b"\\n")
sys.stdout.buffer.write(hmac.new(bytes.fromhex(request["key"]), line,
                                 hashlib.sha256).hexdigest().encode() + b"\\n")
sys.stdout.buffer.write(b"written after the result by the learner's code\\n")
sys.stdout.flush()
while not os.path.exists(os.path.join(state, "release")):  # the container winding down
    time.sleep(0.05)
"""


def signed(body: bytes, key: bytes = KEY) -> bytes:
    return body + b"\n" + hmac.new(key, body, hashlib.sha256).hexdigest().encode() + b"\n"


def test_the_result_is_the_json_line_before_its_own_signature():
    assert signed_result(signed(json.dumps(NOTEBOOK).encode()), KEY) == NOTEBOOK


def test_output_before_the_result_spoils_it_and_output_after_it_is_not_read():
    body = json.dumps(NOTEBOOK).encode()
    assert signed_result(b"printed by the learner\n" + signed(body), KEY) is None
    assert signed_result(signed(body) + b"more\n" + b"0" * 64 + b"\n", KEY) == NOTEBOOK


@pytest.mark.parametrize("stdout", [
    signed(json.dumps(NOTEBOOK).encode(), key=b"x" * 32),  # not this run's key
    json.dumps(NOTEBOOK).encode() + b"\n" + b"0" * 64 + b"\n",  # forged
    signed(json.dumps(NOTEBOOK).encode())[:-1],  # the signature's line has not ended yet
    signed(b"[1, 2]"),  # signed, but not a notebook
    b"",
])
def test_anything_else_is_no_result(stdout):
    assert signed_result(stdout, KEY) is None


def test_a_result_arriving_in_pieces_is_found_when_its_last_piece_comes():
    whole = signed(json.dumps(NOTEBOOK).encode())
    buffer = bytearray()
    found = []
    for start in range(0, len(whole), 7):
        searched = len(buffer)
        buffer.extend(whole[start : start + 7])
        found.append(signed_result(buffer, KEY, searched))
    assert found[-1] == NOTEBOOK
    assert all(piece is None for piece in found[:-1])


@pytest.fixture
def fake_docker(tmp_path) -> tuple[Path, Path]:
    state = tmp_path / "state"
    state.mkdir()
    cli = tmp_path / "docker"
    cli.write_text(FAKE_DOCKER.format(python=sys.executable, state=str(state)))
    cli.chmod(0o755)
    return cli, state


def wait_for(path: Path) -> None:
    deadline = time.monotonic() + 30
    while not path.exists():
        assert time.monotonic() < deadline, f"{path.name} never appeared"
        time.sleep(0.05)


def test_a_run_returns_once_the_signed_result_is_in_while_the_container_still_ends(fake_docker):
    cli, state = fake_docker
    # Limits short enough that waiting for the end would give up: 1 + 1 + 3 s.
    box = Sandbox(docker=str(cli), pool_size=0, time_limit=1, startup_timeout=1, grace_seconds=3)
    try:
        run = box.run(NOTEBOOK)
        assert run.notebook is not None and run.stopped == ""
        assert run.timing == {"answered": 1}
        assert run.exit_code is None  # the "container" had not ended when the run returned
    finally:
        (state / "release").touch()
        box.close()
    assert not (state / "killed").exists()


def test_a_container_that_answered_but_does_not_end_is_killed_after_the_grace(fake_docker):
    cli, state = fake_docker
    box = Sandbox(docker=str(cli), pool_size=0, grace_seconds=0.2, name_prefix="pls-t")
    try:
        assert box.run(NOTEBOOK).notebook is not None
        wait_for(state / "killed")
        assert (state / "killed").read_text().startswith("pls-t-")
    finally:
        (state / "release").touch()
        box.close()
