"""Run one notebook in a fresh, throwaway container: the grading sandbox, host side.

The grader never runs a learner's code in its own process. :meth:`Sandbox.run` starts a
container of the course's image with the runner, ``pls_grading.execute`` (``grading/image/``),
writes the notebook to its stdin and reads the executed notebook from its stdout; nothing is
mounted, so the container sees that one notebook (and the assignment's data files sent with
it), never the hidden tests' source folder, the gradebook or another learner's submission.
It talks to the Docker engine through docker-py, as the hub's spawners do: the engine's
answers are typed (``docker.errors.ImageNotFound``, ``APIError`` with its status), and the
container's end is the engine's wait answer with its exit status, so nothing is read from
error text (docs/grading.md, "Throughput", has the measurement against the ``docker`` CLI).

The container is hardened like a learner's server (``hub/spawners/docker.py``) and more:
no network at all, uid 1000, every capability dropped, ``no-new-privileges``, memory limit with
no swap, CPU quota, pids limit, a read-only root file system with size-capped ``tmpfs`` for
``/tmp`` and the home folder, no log driver (nothing a notebook prints reaches the disk), and
removed by the engine when it ends (``AutoRemove``, ``docker run --rm``: also when the grader
dies). A time limit kills the container, and stdout is read only up to a cap.

The result is signed: each run sends a fresh random key with the notebook and the runner signs
its answer with it (HMAC-SHA256); the learner's code cannot read the key, so output it writes
to the container's stdout is not taken for a result. A run returns once that signed result is
in; the container's own end (kernel shutdown, exit, removal) is waited for in the background.

Warm pool: with ``pool_size`` > 0 a container is started ahead of time for the next notebook,
its kernel already running and waiting for stdin; the next one starts as soon as a run takes
its container, so a busy queue's next notebook finds its kernel up. Each container still runs
exactly one notebook and is thrown away; the pool only moves container and kernel start-up
(~1-2 s) out of the time a learner waits for feedback.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import hashlib
import hmac
import json
import posixpath
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import docker
import docker.errors
import requests
from docker.types import (
    ContainerSpec,
    DriverConfig,
    LogConfig,
    Mount,
    Placement,
    Resources,
    RestartPolicy,
    TaskTemplate,
    Ulimit,
)
from docker.utils import parse_bytes
from docker.utils.socket import STDOUT, frames_iter
from traitlets import Any as AnyTrait
from traitlets import Bool, Dict, Float, Integer, Unicode
from traitlets.config import LoggingConfigurable

from grading import metrics

MIB = 1024 * 1024
LABEL_KEY = "org.pythonlearningstudio.role"
LABEL_VALUE = "grading"
STDERR_TAIL = 64 * 1024
SIGNATURE_LINE = 65  # 64 hex digits and the newline
# Exit statuses of the runner (pls_grading.execute), of the launcher below, and the ones the
# engine gives a container whose command could not be run.
RUNNER_BAD_REQUEST = 2
RUNNER_NO_KERNEL = 3
RUNNER_MISSING = 4
ENGINE_CANNOT_INVOKE = 126
ENGINE_NOT_FOUND = 127
GRADERS_FAULT = {RUNNER_NO_KERNEL, RUNNER_MISSING, ENGINE_CANNOT_INVOKE, ENGINE_NOT_FOUND}
# The runner, as ``python -m pls_grading.execute`` would run it, but an image without
# pls_grading (built before it existed) ends with RUNNER_MISSING instead of Python's general 1:
# that image is the grader's problem (grading is tried again later), not a zero for the learner.
LAUNCHER = f"""\
import sys
try:
    from pls_grading.execute import main
except ModuleNotFoundError as exc:
    if exc.name not in ("pls_grading", "pls_grading.execute"):
        raise
    sys.exit({RUNNER_MISSING})
sys.exit(main())
"""
# The runner as a Swarm service runs it: a service's container cannot be told to close its stdin
# when the grader's end closes (the engine's StdinOnce is not part of a service's spec), so the
# request comes after a line with its length, and the runner reads it from there.
SWARM_LAUNCHER = f"""\
import io
import sys
size = int(sys.stdin.buffer.readline() or 0)
sys.stdin = io.TextIOWrapper(io.BytesIO(sys.stdin.buffer.read(size)))
{LAUNCHER}"""
# What nbgrader's autograde sets in its environment while it runs a notebook (its kernel inherits
# it), so that a notebook can tell it is being autograded: set in the sandbox for the runner, its
# judge (which evaluates the tests) and the kernel alike.
NBGRADER_ENVIRONMENT = {"NBGRADER_EXECUTION": "autograde"}
# What the engine may fail with besides its own typed errors: no engine at the address, a
# connection dropped.
ENGINE_ERRORS = (docker.errors.DockerException, requests.exceptions.RequestException, OSError)


class SandboxUnavailable(Exception):
    """The sandbox could not run at all (no engine, no image, an image without the runner):
    the grader's problem, not the notebook's; grading should be tried again later. ``kind``
    names the cause in the grader's metrics (one of :data:`KINDS`)."""

    KINDS = ("no_engine", "no_image", "start_failed", "engine_lost", "no_runner",
             "runner_failed", "request_refused", "not_judged", "unavailable")

    def __init__(self, message: str, kind: str = "unavailable") -> None:
        super().__init__(message)
        self.kind = kind


# Why a run ended without a result, in the grader's metrics: the notebook's doing (or its
# limits'), not the grader's (SandboxRun.failure).
STOPPED_KINDS = ("time_limit", "output_limit", "killed", "no_result")
metrics.known_sandbox_failures(SandboxUnavailable.KINDS, "grader")
metrics.known_sandbox_failures(STOPPED_KINDS, "notebook")


@dataclass
class SandboxRun:
    """What one run gave.

    ``notebook`` is the executed notebook (its signature checked), or None when the sandbox
    stopped without one; ``stopped`` then says why, in words for the learner, and ``failure``
    names it for the metrics (one of :data:`STOPPED_KINDS`)."""

    notebook: dict[str, Any] | None
    stopped: str = ""
    failure: str = ""
    exit_code: int | None = None
    seconds: float = 0.0
    warm: bool = False
    stderr: str = ""
    timing: dict[str, Any] = field(default_factory=dict)


def _socket_of(attached: Any) -> Any:
    """The socket under what docker-py's ``attach_socket`` answers (a ``socket.SocketIO`` on
    the local socket and plain TCP, the socket itself with TLS)."""
    return getattr(attached, "_sock", attached)


class _Container:
    """One created, attached and started container; used for exactly one notebook.

    Attached before it starts (stdin, stdout and stderr on one connection, as ``docker run
    -i`` does), so none of its output is missed; the engine's wait for its removal is asked
    for before it starts too, so its exit status is known however soon it ends."""

    def __init__(self, api: docker.APIClient, name: str, image: str, config: dict[str, Any]):
        self.api = api
        self.name = name
        self.image = image
        self.started = time.monotonic()
        self.exit_code: int | None = None
        self.engine_error: BaseException | None = None
        self.ended = threading.Event()
        self.id = api.create_container_from_config(config, name)["Id"]
        try:
            self.attached = api.attach_socket(
                self.id, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1}
            )
            _socket_of(self.attached).settimeout(None)  # a silent notebook is no error
            wait = api.post(
                f"{api.base_url}/v{api.api_version}/containers/{self.id}/wait",
                params={"condition": "removed"}, stream=True, timeout=None,
            )  # answers its headers once the wait is in place, its body when the container is gone
            if wait.status_code != 200:
                raise docker.errors.APIError("the engine refused to wait", response=wait)
            threading.Thread(target=self._wait, args=(wait,), daemon=True).start()
            api.start(self.id)
        except BaseException:
            with contextlib.suppress(*ENGINE_ERRORS):
                api.remove_container(self.id, force=True)
            self.close()
            raise

    def _wait(self, response: requests.Response) -> None:
        try:
            self.exit_code = int(response.json()["StatusCode"])
        except (*ENGINE_ERRORS, ValueError, KeyError, TypeError) as exc:
            self.engine_error = exc
        finally:
            response.close()
            self.ended.set()

    def alive(self) -> bool:
        return not self.ended.is_set()

    def send(self, data: bytes) -> None:
        """Write ``data`` to the container's stdin and close it (the runner reads to its end)."""
        sock = _socket_of(self.attached)
        with contextlib.suppress(OSError):  # a container that died does not read
            sock.sendall(data)
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_WR)

    def frames(self):
        """``(stream, bytes)`` as the container writes them (1: stdout, 2: stderr), until its
        output ends."""
        with contextlib.suppress(OSError, ValueError):  # ValueError: closed meanwhile
            yield from frames_iter(self.attached, tty=False)

    def kill(self) -> None:
        """Kill the container (one that has ended already, or is gone, is left as it is)."""
        with contextlib.suppress(*ENGINE_ERRORS):
            self.api.kill(self.id)

    def close(self) -> None:
        """Close the connection to the container's streams (the container is not touched)."""
        attached = getattr(self, "attached", None)
        for closing in (attached, _socket_of(attached)):
            if closing is not None:
                with contextlib.suppress(OSError):
                    closing.close()

    def discard(self) -> None:
        """Let an unused container end by itself: on end of input the runner exits and the
        engine removes the container. Its output is drained in the background."""
        self.send(b"")
        threading.Thread(target=self._reap, daemon=True).start()

    def _reap(self) -> None:
        """Read the output to its end (a runner never blocks on a full pipe) and wait for the
        container's end; after 30 s it is killed."""
        for _ in self.frames():
            pass
        if not self.ended.wait(30):
            self.kill()
            self.ended.wait(30)
        self.close()


class _Service(_Container):
    """One sandbox as a one-shot Swarm service (``GRADER_SANDBOX_SWARM``); used for exactly one
    notebook, like a container.

    The service runs on the grader's own node (a placement constraint on this engine's node
    id): its task's container is attached through this engine, as a container is. It is alone
    on an internal overlay network of its own (no route out, no other sandbox: Swarm has no
    ``none`` network for services), its restart condition is ``none``, and the service and its
    network are removed once its container has ended. The request is sent after a line with its
    length (:data:`SWARM_LAUNCHER`)."""

    def __init__(self, api: docker.APIClient, name: str, image: str,
                 template: dict[str, Any], labels: dict[str, str], startup_timeout: float):
        self.api = api
        self.name = name
        self.image = image
        self.started = time.monotonic()
        self.exit_code: int | None = None
        self.engine_error: BaseException | None = None
        self.ended = threading.Event()
        self.network = api.create_network(name, driver="overlay", internal=True,
                                          labels=labels)["Id"]
        self.service = None
        try:
            template["Networks"] = [{"Target": self.network}]
            self.service = api.create_service(template, name=name, labels=labels)["ID"]
            self.id = self._container_of_task(startup_timeout)
            self.attached = api.attach_socket(
                self.id, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1}
            )
            _socket_of(self.attached).settimeout(None)  # a silent notebook is no error
            threading.Thread(target=self._wait_service, daemon=True).start()
        except BaseException:
            self._remove()
            self.close()
            raise

    def _container_of_task(self, timeout: float) -> str:
        """The id of the service's task's container once it runs (a task that ended at once
        counts too: its exit status is the engine's answer)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for task in self.api.tasks(filters={"service": self.service}):
                status = task.get("Status") or {}
                container = (status.get("ContainerStatus") or {}).get("ContainerID")
                state = status.get("State")
                if container and state in {"running", "complete", "failed", "shutdown"}:
                    return container
                if state in {"rejected", "orphaned"}:
                    raise docker.errors.DockerException(
                        f"the Swarm did not run the sandbox's task: {status.get('Err')}")
            time.sleep(0.05)
        raise docker.errors.DockerException(
            f"the sandbox's task did not start within {timeout:g} s")

    def _wait_service(self) -> None:
        """The container's exit status once it ends; then the service and its network go."""
        try:
            self.exit_code = int(self.api.wait(self.id, timeout=None)["StatusCode"])
        except (*ENGINE_ERRORS, ValueError, KeyError, TypeError) as exc:
            self.engine_error = exc
        finally:
            self._remove()
            self.ended.set()

    def _remove(self) -> None:
        if self.service is not None:
            with contextlib.suppress(*ENGINE_ERRORS):
                self.api.remove_service(self.service)
        for _ in range(50):  # the network is in use until the task's container is gone
            try:
                self.api.remove_network(self.network)
                return
            except docker.errors.NotFound:
                return
            except ENGINE_ERRORS:
                time.sleep(0.2)

    def send(self, data: bytes) -> None:
        """Write the length of ``data``, then ``data``; the connection stays open both ways
        (the engine ends an attachment's output when its input ends, and the container's stdin
        would not end anyway)."""
        with contextlib.suppress(OSError):  # a container that died does not read
            _socket_of(self.attached).sendall(f"{len(data)}\n".encode() + data)

    def kill(self) -> None:
        """Remove the service, which stops its task's container."""
        with contextlib.suppress(*ENGINE_ERRORS):
            self.api.remove_service(self.service)


class Sandbox(LoggingConfigurable):
    """Runs notebooks in fresh, network-less, resource-limited containers."""

    client = AnyTrait(
        None,
        allow_none=True,
        help="""The docker-py low-level client (docker.APIClient) to talk to the engine with;
        None: one from the environment (DOCKER_HOST or the local socket), made on first use.""",
    )
    image = Unicode(
        "pls-notebook:latest",
        help="""Image used when run() is not given one (normally the course's image, from
        course.yml). It must contain pls-grading (grading/image/).""",
    ).tag(config=True)
    name_prefix = Unicode(
        "pls-grading",
        help="""Containers are named <prefix>-<random hex> and carry the label
        org.pythonlearningstudio.role=grading.""",
    ).tag(config=True)
    user = Unicode("1000:100", help="uid:gid the notebook runs as. Never root.").tag(config=True)
    home = Unicode(
        "/home/jovyan", help="The home folder in the image: a fresh tmpfs in each sandbox."
    ).tag(config=True)
    work_dir = Unicode(
        "/home/jovyan/work",
        help="Where the notebook runs and its data files are written (inside the home tmpfs).",
    ).tag(config=True)
    mem_limit = Unicode(
        "1g",
        help="""Memory limit (docker --memory), with no swap on top (--memory-swap is the
        same). The tmpfs folders count against it. Default: the learner profile's.""",
    ).tag(config=True)
    cpu_limit = Float(1.0, help="CPUs the sandbox may use (docker --cpus).").tag(config=True)
    pids_limit = Integer(
        256, help="Most processes and threads in the sandbox: stops fork bombs."
    ).tag(config=True)
    tmp_size = Unicode("64m", help="Size cap of the tmpfs on /tmp.").tag(config=True)
    home_size = Unicode("128m", help="Size cap of the tmpfs on the home folder.").tag(config=True)
    cell_timeout = Integer(
        30,
        help="""Seconds a cell may run before it is interrupted and fails (nbgrader's
        Execute.timeout); the next cells still run.""",
    ).tag(config=True)
    time_limit = Integer(
        300,
        help="""Seconds the whole notebook may run; cells it leaves no time for fail as not
        run.""",
    ).tag(config=True)
    startup_timeout = Integer(
        60, help="Seconds for the container and its kernel to start (CPU-starved engines)."
    ).tag(config=True)
    grace_seconds = Float(
        15,
        help="""Seconds past time_limit + startup_timeout after which the container is killed
        whatever it is doing (the runner normally ends well before); also how long a
        container that has answered may take to end before it is killed.""",
    ).tag(config=True)
    max_restarts = Integer(
        3, help="Kernel restarts (after a death or a hung cell) before the rest is not run."
    ).tag(config=True)
    max_input_bytes = Integer(
        32 * MIB, help="Largest request (notebook and data files, as JSON) sent to a sandbox."
    ).tag(config=True)
    max_cell_output = Integer(
        1 * MIB, help="Characters of output one cell may keep; the rest is dropped, noted."
    ).tag(config=True)
    max_total_output = Integer(
        8 * MIB, help="Characters of output the whole notebook may keep."
    ).tag(config=True)
    max_result_bytes = Integer(
        64 * MIB,
        help="""Most bytes read from a sandbox's stdout: the executed notebook is at most
        the request plus the output caps, so more means something else wrote there; the
        container is killed and the run counts as stopped.""",
    ).tag(config=True)
    pool_size = Integer(
        2,
        help="""Containers kept started ahead of time per image, kernel running, each for
        exactly one notebook (0: start one when needed). Each costs ~100 MB while it
        waits; with one, a worker often waited for the next one's kernel (docs/grading.md,
        "Throughput").""",
    ).tag(config=True)
    pool_max_age = Float(
        600, help="Seconds after which a waiting container is replaced (picks up new images)."
    ).tag(config=True)
    swarm = Bool(
        False,
        help="""Run each sandbox as a one-shot Docker Swarm service (restart condition none,
        the same limits and hardening, removed after the run) on the grader's own node,
        instead of a plain container; the engine must be a Swarm node.""",
    ).tag(config=True)
    extra_host_config = Dict(
        help="""More of the engine's host settings for each sandbox, as docker-py's
        create_host_config takes them, e.g. {"runtime": "runsc"} for gVisor or
        {"cgroup_parent": "..."}; the hardening above cannot be changed this way."""
    ).tag(config=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._pool: dict[str, list[_Container]] = {}
        self._starting: dict[str, int] = {}
        self._lock = threading.Lock()
        self._started = threading.Condition(self._lock)  # a pool's container was started
        self._closed = False
        atexit.register(self.close)

    def __deepcopy__(self, memo: dict) -> Sandbox:
        """The same sandbox: traitlets deep-copies configuration values (nbgrader's
        preprocessors get theirs that way), and a sandbox with its warm pool is shared."""
        return self

    # -- the container ---------------------------------------------------------------------

    def api(self) -> docker.APIClient:
        """The engine's client, made on first use (no engine is needed until a run)."""
        with self._lock:
            if self.client is None:
                try:
                    self.client = docker.from_env().api
                except docker.errors.DockerException as exc:
                    raise SandboxUnavailable(f"no Docker engine answers: {exc}",
                                             "no_engine") from exc
            return self.client

    def command(self, launcher: str, work_dir: str) -> list[str]:
        """The runner's command line with the sandbox's limits."""
        return [
            "python", "-c", launcher, "--own-container",
            "--workdir", work_dir,
            "--cell-timeout", str(self.cell_timeout),
            "--time-limit", str(self.time_limit),
            "--startup-timeout", str(self.startup_timeout),
            "--max-restarts", str(self.max_restarts),
            "--max-input-bytes", str(self.max_input_bytes),
            "--max-cell-output", str(self.max_cell_output),
            "--max-total-output", str(self.max_total_output),
        ]  # fmt: skip

    def service_template(self, api: docker.APIClient, image: str) -> dict[str, Any]:
        """The same sandbox as a Swarm service's task template (``swarm``): the container's
        hardening in a service's terms, its restart condition ``none``, on this engine's node.
        What a service cannot do alike: no swap cap (services have none: run the nodes
        without swap); the home tmpfs takes no owner, so it is mode 0777 (the notebook's user
        is the only one in the sandbox). Measured on Docker 20.10: a service's tmpfs on a
        folder the image has, or on the container's working folder, gets that folder's mode
        (root's 0755) whatever its own says, so the home's parent is an empty tmpfs of its own
        (the home is then a folder the image does not have) and the working folder is ``/``.
        No network but one of its own (:class:`_Service`). ``extra_host_config`` does not apply
        to services."""
        node = (api.info().get("Swarm") or {}).get("NodeID")
        if not node:
            raise docker.errors.DockerException(
                "GRADER_SANDBOX_SWARM is set but the Docker engine is not a Swarm node")
        spec = ContainerSpec(
            image,
            command=self.command(SWARM_LAUNCHER, self.work_dir),
            user=self.user,
            env={"HOME": self.home, **NBGRADER_ENVIRONMENT},
            workdir="/",
            labels={LABEL_KEY: LABEL_VALUE},
            open_stdin=True,
            read_only=True,
            cap_drop=["ALL"],
            privileges={"NoNewPrivileges": True},
            mounts=[
                Mount("/tmp", None, type="tmpfs", tmpfs_size=self.tmp_size,  # noqa: S108
                      tmpfs_mode=0o777),
                Mount(posixpath.dirname(self.home.rstrip("/")), None, type="tmpfs",
                      tmpfs_size="1m", tmpfs_mode=0o755),
                Mount(self.home, None, type="tmpfs", tmpfs_size=self.home_size,
                      tmpfs_mode=0o777),
            ],
        )
        spec["Ulimits"] = [{"Name": "core", "Soft": 0, "Hard": 0}]  # engine API >= 1.41
        resources = Resources(cpu_limit=round(self.cpu_limit * 1e9),
                              mem_limit=parse_bytes(self.mem_limit))
        resources["Limits"]["Pids"] = self.pids_limit  # engine API >= 1.41
        return TaskTemplate(
            spec,
            resources=resources,
            restart_policy=RestartPolicy(condition="none"),
            placement=Placement(constraints=[f"node.id == {node}"]),
            log_driver=DriverConfig("none"),
        )

    def container_config(self, api: docker.APIClient, image: str) -> dict[str, Any]:
        """The engine's configuration of one sandbox (what ``docker run`` would send)."""
        tmpfs = "rw,nosuid,nodev,noexec"
        hardening = dict(
            auto_remove=True,
            network_mode="none",
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            mem_limit=self.mem_limit,
            memswap_limit=self.mem_limit,
            nano_cpus=round(self.cpu_limit * 1e9),
            pids_limit=self.pids_limit,
            read_only=True,
            tmpfs={
                "/tmp": f"{tmpfs},size={self.tmp_size},mode=1777",  # noqa: S108
                self.home: f"{tmpfs},size={self.home_size},uid=1000,gid=100,mode=0700",
            },
            log_config=LogConfig(type=LogConfig.types.NONE),
            ulimits=[Ulimit(name="core", soft=0, hard=0)],
        )
        host_config = api.create_host_config(**{**self.extra_host_config, **hardening})
        return api.create_container_config(
            image,
            self.command(LAUNCHER, self.work_dir),
            user=self.user,
            stdin_open=True,
            environment={"HOME": self.home, **NBGRADER_ENVIRONMENT},
            working_dir=self.home,
            host_config=host_config,
            labels={LABEL_KEY: LABEL_VALUE},
        )  # fmt: skip

    def _start(self, image: str) -> _Container:
        """A new container of ``image``; the image is pulled first when the engine does not
        have it (as ``docker run`` does)."""
        api = self.api()
        name = f"{self.name_prefix}-{secrets.token_hex(6)}"
        try:
            try:
                return self._create(api, name, image)
            except docker.errors.ImageNotFound:
                self.log.warning("pulling the sandbox image %s", image)
                try:
                    api.pull(image)
                except docker.errors.APIError as exc:
                    raise SandboxUnavailable(
                        f"the image {image!r} is not on the Docker engine and cannot be "
                        f"pulled: {exc}", "no_image"
                    ) from exc
                return self._create(api, name, image)
        except ENGINE_ERRORS as exc:
            raise SandboxUnavailable(f"the grading sandbox did not start: {exc}",
                                     "start_failed") from exc

    def _create(self, api: docker.APIClient, name: str, image: str) -> _Container:
        """A container, or with ``swarm`` a one-shot service, of ``image`` (raises
        ImageNotFound when this engine does not have it)."""
        if not self.swarm:
            return _Container(api, name, image, self.container_config(api, image))
        api.inspect_image(image)  # the task runs on this engine's node: it needs the image here
        return _Service(api, name, image, self.service_template(api, image),
                        {LABEL_KEY: LABEL_VALUE}, self.startup_timeout)

    def _take(self, image: str) -> tuple[_Container, bool]:
        """A started container for ``image``: a waiting one from the pool (one the pool is
        starting is waited for: it is ready sooner than a new one), else a new one."""
        with self._started:
            while True:
                waiting = self._pool.get(image, [])
                while waiting:
                    container = waiting.pop(0)
                    fresh = time.monotonic() - container.started < self.pool_max_age
                    if container.alive() and fresh:
                        return container, True
                    container.discard()
                if not self._starting.get(image):
                    break
                self._started.wait()
        return self._start(image), False

    def _refill(self, image: str) -> None:
        """Start containers for ``image`` until the pool holds ``pool_size`` (counting those
        being started); each is started outside the lock, so a run never waits for it."""
        with self._lock:
            if self._closed:
                return
            waiting = self._pool.setdefault(image, [])
            missing = self.pool_size - len(waiting) - self._starting.get(image, 0)
            if missing <= 0:
                return
            self._starting[image] = self._starting.get(image, 0) + missing
        for _ in range(missing):
            container, kept = None, False
            try:
                container = self._start(image)
            except SandboxUnavailable as exc:  # the next run starts its own, and says why
                self.log.warning("the warm pool could not start a sandbox: %s", exc)
            finally:
                with self._started:
                    self._starting[image] -= 1
                    kept = container is not None and not self._closed
                    if kept:
                        waiting.append(container)
                    self._started.notify_all()
            if container is not None and not kept:  # closed meanwhile
                container.discard()

    def close(self) -> None:
        """Discard every waiting container."""
        with self._lock:
            self._closed = True
            pools, self._pool = self._pool, {}
        for waiting in pools.values():
            for container in waiting:
                container.discard()

    # -- one run ---------------------------------------------------------------------------

    def run(
        self,
        notebook: dict[str, Any],
        files: dict[str, bytes] | None = None,
        image: str | None = None,
        grading: str = "judge",
    ) -> SandboxRun:
        """Execute ``notebook`` (nbformat 4, as a dict) in a fresh container of ``image``,
        with ``files`` (relative path -> content) written beside it first.

        Returns the executed notebook, or why the sandbox stopped without one. Raises
        :class:`SandboxUnavailable` when no sandbox could run, and ValueError for a request
        larger than ``max_input_bytes``."""
        image = image or self.image
        key = secrets.token_bytes(32)
        request = json.dumps(
            {
                "notebook": notebook,
                "files": {n: base64.b64encode(c).decode() for n, c in (files or {}).items()},
                "key": key.hex(),
                "grading": grading,
            }
        ).encode()
        if len(request) > self.max_input_bytes:
            raise ValueError(
                f"the notebook and its files take {len(request)} bytes; a sandbox takes at "
                f"most {self.max_input_bytes}"
            )
        container, warm = self._take(image)
        if self.pool_size > 0:
            # The next notebook's container starts now, while this one runs: started only
            # once this run ended, its kernel was still starting when the next submission of
            # a busy queue came (measured: 0.67 s of a 1.0 s sandbox run under load).
            threading.Thread(target=self._refill, args=(image,), daemon=True).start()
        return self._exchange(container, request, key, warm)

    def _exchange(
        self, container: _Container, request: bytes, key: bytes, warm: bool
    ) -> SandboxRun:
        """Send the request and wait for the signed result, not for the container's end:
        once the result is in, the runner only stops its kernel and the container exits and
        is removed (~0.2 s more), which :meth:`_end` waits for in the background."""
        started = time.monotonic()
        limit = self.time_limit + self.startup_timeout + self.grace_seconds
        stdout = bytearray()
        stderr = bytearray()
        overflow = threading.Event()
        ended = threading.Event()  # a signed result arrived, or the output ended without one
        answer: list[dict[str, Any]] = []

        def read() -> None:
            for stream, chunk in container.frames():
                if stream != STDOUT:
                    stderr.extend(chunk)
                    del stderr[:-STDERR_TAIL]
                    continue
                if answer or overflow.is_set():  # not the runner's: dropped
                    continue
                if len(stdout) + len(chunk) > self.max_result_bytes:
                    overflow.set()
                    container.kill()
                    ended.set()
                    continue
                searched = len(stdout)
                stdout.extend(chunk)
                notebook = signed_result(stdout, key, searched)
                if notebook is not None:
                    answer.append(notebook)
                    ended.set()
            ended.set()

        threads = [
            threading.Thread(target=container.send, args=(request,), daemon=True),
            threading.Thread(target=read, daemon=True),
        ]
        for thread in threads:
            thread.start()
        timed_out = not ended.wait(timeout=limit)
        if answer:  # the container's end is waited for in the background
            threading.Thread(
                target=self._end, args=(container, threads, self.grace_seconds), daemon=True
            ).start()
            run = SandboxRun(
                notebook=answer[0],
                exit_code=container.exit_code,
                seconds=time.monotonic() - started,
                warm=warm,
            )
            run.timing = run.notebook.get("metadata", {}).get("pls_grading", {}).get("run", {})
            return run
        self._end(container, threads, 0 if timed_out else 30)
        run = SandboxRun(
            notebook=None,
            exit_code=container.exit_code,
            seconds=time.monotonic() - started,
            warm=warm,
            stderr=stderr.decode(errors="replace"),
        )
        if timed_out:
            run.stopped = f"the notebook ran longer than the grader's limit ({limit:g} s)"
            run.failure = "time_limit"
        elif overflow.is_set():
            run.stopped = "the notebook wrote more output than the grader accepts"
            run.failure = "output_limit"
        else:
            self._check_engine(container, run)
            run.stopped = stopped_reason(run.exit_code)
            run.failure = "killed" if run.exit_code == 137 else "no_result"
        metrics.sandbox_failed(run.failure, "notebook")
        self.log.warning(
            "sandbox %s stopped (exit %s): %s; stderr: %s",
            container.name,
            run.exit_code,
            run.stopped,
            run.stderr[-2000:],
        )
        return run

    def _end(
        self, container: _Container, threads: list[threading.Thread], seconds: float
    ) -> None:
        """Wait ``seconds`` for the container to end by itself (an answered one: its runner
        stops the kernel and exits), then kill it, and its streams' threads to finish."""
        if not container.ended.wait(seconds):
            container.kill()
            container.ended.wait(30)
        for thread in threads:
            thread.join(timeout=10)
        container.close()

    def _check_engine(self, container: _Container, run: SandboxRun) -> None:
        """Raise SandboxUnavailable when the run failed for the grader's reasons: the engine
        lost the container, the image has no runner (or no Python), the kernel did not start,
        or the runner refused the grader's request."""
        if container.engine_error is not None:
            raise SandboxUnavailable(
                f"the Docker engine lost the grading sandbox: {container.engine_error}",
                "engine_lost",
            )
        code = run.exit_code
        if code == RUNNER_MISSING:
            raise SandboxUnavailable(
                f"the image {container.image!r} has no grading runner (pls_grading); rebuild "
                "it with grading/image/ installed", "no_runner",
            )
        if code in GRADERS_FAULT:
            raise SandboxUnavailable(
                f"the grading sandbox did not run (exit {code}): {run.stderr[-1000:].strip()}",
                "runner_failed",
            )
        if code == RUNNER_BAD_REQUEST:
            raise SandboxUnavailable(f"the sandbox refused the request: {run.stderr[-1000:]}",
                                     "request_refused")


def signed_result(stdout: bytes | bytearray, key: bytes, searched: int = 0) -> dict | None:
    """The runner's notebook, once ``stdout`` holds it: the first line that is the right
    signature (HMAC-SHA256 with the run's key, in hex) of everything before it, which must be
    one JSON object. Lines ending before ``searched`` were looked at already.

    The learner's code may write to the container's stdout too (``/proc/1/fd/1``): what it
    writes before the result spoils the signed text, and so the run; what it writes after the
    result is never read as part of it."""
    start = max(0, searched - SIGNATURE_LINE)
    while (end := stdout.find(b"\n", start)) != -1:
        start = end + 1
        line_start = stdout.rfind(b"\n", 0, end) + 1
        if end - line_start != SIGNATURE_LINE - 1 or line_start == 0:
            continue
        body = bytes(stdout[: line_start - 1])
        expected = hmac.new(key, body, hashlib.sha256).hexdigest().encode()
        if not hmac.compare_digest(bytes(stdout[line_start:end]), expected):
            continue
        try:
            notebook = json.loads(body)
        except ValueError:
            return None
        return notebook if isinstance(notebook, dict) else None
    return None


def stopped_reason(exit_code: int | None) -> str:
    """Why a sandbox ended without a (trustworthy) result, for the learner."""
    if exit_code == 137:
        return (
            "the sandbox was stopped: the notebook used more memory than allowed, or its code "
            "ended the grader's runner"
        )
    return f"the sandbox ended without a result (exit status {exit_code})"
