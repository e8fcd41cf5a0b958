"""How the grader reads a sandbox's answer: the signed result, not waiting for the end, and the
engine's typed answers.

A fake engine stands in for Docker at docker-py's level (``Sandbox.client``, the low-level
``docker.APIClient``): a container's attached streams are one end of a socket pair, on which
the "runner" reads the request and answers like the real one does (the executed notebook in
stdout frames, then its signature with the request's key), then stays until the test lets it go;
``kill`` records the name it was given and ends the container, and the engine's wait answers
with the exit status once the container is gone. (The real container:
tests/integration/grading/test_autograde_sandbox.py.)
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import struct
import threading
import time
from collections.abc import Callable
from typing import Any

import docker.errors
import pytest
import requests
from prometheus_client import REGISTRY

from grading.sandbox import RUNNER_MISSING, Sandbox, SandboxUnavailable, signed_result

KEY = b"k" * 32
NOTEBOOK = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
ANSWERED = {"cells": [], "metadata": {"pls_grading": {"run": {"answered": 1}}}, "nbformat": 4,
            "nbformat_minor": 5}
STDOUT, STDERR = 1, 2


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


# -- a fake engine ----------------------------------------------------------------------------


class FakeContainer:
    """A started container: its streams are ``engine_end`` of a socket pair (the grader holds
    the other end), its "process" the engine's ``behaviour`` run in a thread."""

    def __init__(self, name: str, config: dict[str, Any]) -> None:
        self.name = name
        self.config = config
        self.grader_end, self.engine_end = socket.socketpair()
        self.released = threading.Event()  # the test lets a lingering container end
        self.gone = threading.Event()
        self.exit_code: int | None = None
        self.lock = threading.Lock()

    def read_request(self) -> bytes:
        """stdin up to its end (the grader closes it after the request)."""
        chunks = []
        while chunk := self.engine_end.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks)

    def write(self, stream: int, data: bytes) -> None:
        """One frame of docker's multiplexed stream (stdout 1, stderr 2)."""
        self.engine_end.sendall(struct.pack(">BxxxL", stream, len(data)) + data)

    def end(self, exit_code: int) -> None:
        """Exit with ``exit_code`` and be removed (once: a killed container stays killed)."""
        with self.lock:
            if self.gone.is_set():
                return
            self.exit_code = exit_code
            self.engine_end.close()
            self.gone.set()


def answering_runner(container: FakeContainer) -> None:
    """What the runner does: read the request, answer the signed notebook (and the learner's
    code writes more after it), then wind down until the test lets it go. A container given
    no request (a waiting one discarded) ends as the runner does, with its bad-request exit."""
    raw = container.read_request()
    if not raw:
        container.end(2)
        return
    request = json.loads(raw)
    body = json.dumps(ANSWERED).encode()
    container.write(STDOUT, signed(body, bytes.fromhex(request["key"])))
    container.write(STDOUT, b"written after the result by the learner's code\n")
    container.released.wait(30)
    container.end(0)


def no_runner(container: FakeContainer) -> None:
    """An image without pls_grading: the launcher ends at once, reading nothing."""
    container.write(STDERR, b"Traceback (most recent call last): ...\n")
    container.end(RUNNER_MISSING)


class WaitAnswer:
    """The engine's answer to ``POST /containers/{id}/wait?condition=removed``: its headers at
    once, its body when the container is gone."""

    status_code = 200

    def __init__(self, container: FakeContainer) -> None:
        self.container = container

    def json(self) -> dict[str, Any]:
        self.container.gone.wait()
        return {"StatusCode": self.container.exit_code}

    def close(self) -> None:
        pass


class FakeEngine:
    """docker-py's low-level client as the sandbox uses it, over fake containers."""

    base_url = "http+docker://localhost"
    api_version = "1.41"

    def __init__(self, behaviour: Callable[[FakeContainer], None] = answering_runner,
                 images: tuple[str, ...] = ("pls-notebook:latest",),
                 pullable: tuple[str, ...] = ()) -> None:
        self.behaviour = behaviour
        self.images = set(images)
        self.pullable = set(pullable)
        self.containers: dict[str, FakeContainer] = {}
        self.killed: list[str] = []
        self.pulled: list[str] = []
        self.removed: list[str] = []
        self.refuse_start: docker.errors.APIError | None = None

    def create_host_config(self, **kwargs: Any) -> dict[str, Any]:
        return kwargs

    def create_container_config(self, image: str, command: list[str],
                                **kwargs: Any) -> dict[str, Any]:
        return {"Image": image, "Cmd": command, **kwargs}

    def create_container_from_config(self, config: dict[str, Any], name: str) -> dict[str, str]:
        if config["Image"] not in self.images:
            raise docker.errors.ImageNotFound(f"no image {config['Image']}")
        container_id = f"id{len(self.containers)}"
        self.containers[container_id] = FakeContainer(name, config)
        return {"Id": container_id}

    def attach_socket(self, container_id: str, params: dict[str, int]) -> socket.socket:
        assert params == {"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1}
        return self.containers[container_id].grader_end

    def post(self, url: str, params: dict[str, str], stream: bool, timeout: None) -> WaitAnswer:
        assert url.endswith("/wait") and params == {"condition": "removed"} and stream
        return WaitAnswer(self.containers[url.split("/containers/")[1].split("/")[0]])

    def start(self, container_id: str) -> None:
        if self.refuse_start is not None:
            raise self.refuse_start
        container = self.containers[container_id]
        threading.Thread(target=self.behaviour, args=(container,), daemon=True).start()

    def kill(self, container_id: str) -> None:
        container = self.containers[container_id]
        if container.gone.is_set():
            raise docker.errors.NotFound(f"no container {container_id}")
        self.killed.append(container.name)
        container.end(137)
        container.released.set()

    def remove_container(self, container_id: str, force: bool = False) -> None:
        assert force
        self.removed.append(self.containers[container_id].name)

    def pull(self, image: str) -> None:
        if image not in self.pullable:
            raise docker.errors.NotFound(f"cannot pull {image}")
        self.pulled.append(image)
        self.images.add(image)


def wait_for(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, "never happened"
        time.sleep(0.05)


def release_all(engine: FakeEngine) -> None:
    for container in engine.containers.values():
        container.released.set()


# -- runs -------------------------------------------------------------------------------------


def test_a_run_returns_once_the_signed_result_is_in_while_the_container_still_ends():
    engine = FakeEngine()
    # Limits short enough that waiting for the end would give up: 1 + 1 + 3 s.
    box = Sandbox(client=engine, pool_size=0, time_limit=1, startup_timeout=1, grace_seconds=3)
    try:
        run = box.run(NOTEBOOK)
        assert run.notebook is not None and run.stopped == ""
        assert run.timing == {"answered": 1}
        assert run.exit_code is None  # the "container" had not ended when the run returned
    finally:
        release_all(engine)
        box.close()
    (container,) = engine.containers.values()
    wait_for(container.gone.is_set)
    assert engine.killed == []


def test_a_container_that_answered_but_does_not_end_is_killed_after_the_grace():
    engine = FakeEngine()
    box = Sandbox(client=engine, pool_size=0, grace_seconds=0.2, name_prefix="pls-t")
    try:
        assert box.run(NOTEBOOK).notebook is not None
        wait_for(lambda: engine.killed != [])
        assert engine.killed[0].startswith("pls-t-")
    finally:
        release_all(engine)
        box.close()


def config_of_a_run(**traits: Any) -> dict[str, Any]:
    """The engine's configuration of the one container a run in a sandbox with ``traits``
    made."""
    engine = FakeEngine()
    box = Sandbox(client=engine, pool_size=0, **traits)
    try:
        box.run(NOTEBOOK)
    finally:
        release_all(engine)
        box.close()
    (container,) = engine.containers.values()
    return container.config


def test_the_container_is_hardened_and_removed_by_the_engine_when_it_ends():
    config = config_of_a_run(extra_host_config={"runtime": "runsc", "network_mode": "bridge"})
    host = config["host_config"]
    assert host["auto_remove"] is True and host["network_mode"] == "none"  # not the extra's
    assert host["runtime"] == "runsc"
    assert host["cap_drop"] == ["ALL"] and host["read_only"] is True
    assert config["user"] == "1000:100" and config["stdin_open"] is True


def test_the_notebook_runs_with_nbgraders_autograde_environment():
    # nbgrader's autograde sets NBGRADER_EXECUTION=autograde while it runs a notebook, and
    # tests may rely on it (nbgrader's own validating-environment-variable.ipynb does).
    assert config_of_a_run()["environment"]["NBGRADER_EXECUTION"] == "autograde"


def test_a_run_does_not_wait_for_the_pools_next_container_and_the_next_run_takes_it():
    engine = FakeEngine()
    returned = threading.Event()
    run_had_returned = []
    start = engine.start

    def slow_start(container_id: str) -> None:
        if container_id != "id0":  # the pool's next container: starts as the first run ends
            run_had_returned.append(returned.wait(10))
        start(container_id)

    engine.start = slow_start  # type: ignore[method-assign]
    box = Sandbox(client=engine, pool_size=1)
    try:
        run = box.run(NOTEBOOK)
        returned.set()
        assert run.notebook is not None and run.warm is False
        warm = box.run(NOTEBOOK)  # while the pool may still be starting its container
        assert warm.notebook is not None and warm.warm is True
        assert run_had_returned[0] is True  # the pool's container started after the run
    finally:
        release_all(engine)
        box.close()


# -- the engine's typed answers -----------------------------------------------------------------


def test_an_image_the_engine_lacks_is_pulled_then_run():
    engine = FakeEngine(images=(), pullable=("pls-notebook:latest",))
    box = Sandbox(client=engine, pool_size=0)
    try:
        assert box.run(NOTEBOOK).notebook is not None
    finally:
        release_all(engine)
        box.close()
    assert engine.pulled == ["pls-notebook:latest"]


def test_an_image_that_cannot_be_pulled_makes_the_sandbox_unavailable():
    box = Sandbox(client=FakeEngine(images=()), pool_size=0)
    with pytest.raises(SandboxUnavailable, match="cannot be pulled"):
        box.run(NOTEBOOK, image="nowhere/course:1")


def test_an_image_without_the_runner_makes_the_sandbox_unavailable_not_a_zero():
    box = Sandbox(client=FakeEngine(behaviour=no_runner), pool_size=0)
    with pytest.raises(SandboxUnavailable, match="pls_grading"):
        box.run(NOTEBOOK)


def test_a_container_the_engine_refuses_to_start_is_removed_and_the_sandbox_unavailable():
    engine = FakeEngine()
    engine.refuse_start = docker.errors.APIError("the runtime refused", explanation="no exec")
    box = Sandbox(client=engine, pool_size=0, name_prefix="pls-r")
    with pytest.raises(SandboxUnavailable, match="did not start"):
        box.run(NOTEBOOK)
    assert len(engine.removed) == 1 and engine.removed[0].startswith("pls-r-")


def test_no_engine_makes_the_sandbox_unavailable(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path / 'no-engine.sock'}")
    box = Sandbox(pool_size=0)
    with pytest.raises(SandboxUnavailable, match="no Docker engine"):
        box.run(NOTEBOOK)


def test_an_engine_lost_during_a_run_makes_the_sandbox_unavailable():
    class LostWait(WaitAnswer):
        def json(self) -> dict[str, Any]:
            self.container.gone.wait()
            raise requests.exceptions.ConnectionError("the engine went away")

    engine = FakeEngine(behaviour=lambda container: container.end(1))
    engine.post = lambda url, params, stream, timeout: LostWait(  # type: ignore[method-assign]
        engine.containers[url.split("/containers/")[1].split("/")[0]]
    )
    box = Sandbox(client=engine, pool_size=0)
    with pytest.raises(SandboxUnavailable, match="lost"):
        box.run(NOTEBOOK)


# -- what the metrics are told ------------------------------------------------------------------


def failures(kind: str, fault: str) -> float:
    return REGISTRY.get_sample_value("grader_sandbox_failures_total",
                                     {"kind": kind, "fault": fault}) or 0.0


def refusing_start() -> FakeEngine:
    engine = FakeEngine()
    engine.refuse_start = docker.errors.APIError("the runtime refused", explanation="no exec")
    return engine


@pytest.mark.parametrize(("engine", "image", "kind"), [
    (lambda: FakeEngine(images=()), "nowhere/course:1", "no_image"),
    (lambda: FakeEngine(behaviour=no_runner), None, "no_runner"),
    (refusing_start, None, "start_failed"),
])
def test_each_way_the_sandbox_cannot_run_is_named_for_the_metrics(engine, image, kind):
    box = Sandbox(client=engine(), pool_size=0)
    with pytest.raises(SandboxUnavailable) as raised:
        box.run(NOTEBOOK, image=image)
    assert raised.value.kind == kind
    assert kind in SandboxUnavailable.KINDS


def test_no_engine_is_named_for_the_metrics(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path / 'no-engine.sock'}")
    with pytest.raises(SandboxUnavailable) as raised:
        Sandbox(pool_size=0).run(NOTEBOOK)
    assert raised.value.kind == "no_engine"


def test_every_failure_kind_is_a_series_from_the_start():
    for kind in SandboxUnavailable.KINDS:
        assert REGISTRY.get_sample_value("grader_sandbox_failures_total",
                                         {"kind": kind, "fault": "grader"}) is not None
    for kind in ("time_limit", "output_limit", "killed", "no_result"):
        assert REGISTRY.get_sample_value("grader_sandbox_failures_total",
                                         {"kind": kind, "fault": "notebook"}) is not None


@pytest.mark.parametrize(("exit_code", "kind"), [(137, "killed"), (1, "no_result")])
def test_a_notebook_stopped_without_a_result_is_counted_as_the_notebooks_failure(exit_code, kind):
    def stops(container: FakeContainer) -> None:
        container.read_request()
        container.end(exit_code)

    before = failures(kind, "notebook")
    box = Sandbox(client=FakeEngine(behaviour=stops), pool_size=0)
    run = box.run(NOTEBOOK)
    assert run.notebook is None and run.failure == kind
    assert failures(kind, "notebook") == before + 1
