"""Run one notebook in a fresh, throwaway container: the grading sandbox, host side.

The grader never runs a learner's code in its own process. :meth:`Sandbox.run` starts a
container of the course's image with ``python -m pls_grading.execute`` (``grading/image/``),
writes the notebook to its stdin and reads the executed notebook from its stdout; nothing is
mounted, so the container sees that one notebook (and the assignment's data files sent with
it), never the hidden tests' source folder, the gradebook or another learner's submission.

The container is hardened like a learner's server (``hub/spawners/docker.py``) and more:
no network at all, uid 1000, every capability dropped, ``no-new-privileges``, memory limit with
no swap, CPU quota, pids limit, a read-only root file system with size-capped ``tmpfs`` for
``/tmp`` and the home folder, no log driver (nothing a notebook prints reaches the disk), and
``--rm``. A time limit kills the container (``docker kill``; ``--rm`` then removes it), and
stdout is read only up to a cap.

The result is signed: each run sends a fresh random key with the notebook and the runner signs
its answer with it (HMAC-SHA256); the learner's code cannot read the key, so output it writes
to the container's stdout is not taken for a result. A run returns once that signed result is
in; the container's own end (kernel shutdown, exit, removal) is waited for in the background.

Warm pool: with ``pool_size`` > 0 a container is started ahead of time for the next notebook,
its kernel already running and waiting for stdin. Each container still runs exactly one
notebook and is thrown away; the pool only moves container and kernel start-up (~1-2 s) out of
the time a learner waits for feedback.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import hmac
import json
import secrets
import subprocess
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from traitlets import Float, Integer, List, Unicode
from traitlets.config import LoggingConfigurable

MIB = 1024 * 1024
LABEL = "org.pythonlearningstudio.role=grading"
STDERR_TAIL = 64 * 1024
CHUNK = 256 * 1024
SIGNATURE_LINE = 65  # 64 hex digits and the newline
# Exit statuses of `python -m pls_grading.execute` and of `docker run` itself.
RUNNER_BAD_REQUEST = 2
RUNNER_NO_KERNEL = 3
DOCKER_RUN_FAILED = 125
DOCKER_CANNOT_INVOKE = 126
DOCKER_NOT_FOUND = 127
# Markers in stderr of a run that failed for the grader's reasons. Python 3 quotes the module's
# name ("No module named 'pls_grading'"), so the marker stops before it: an image without the
# runner must make the sandbox unavailable (retried later), not give the learner a zero.
ENGINE_TROUBLE = (
    "Cannot connect to the Docker daemon",
    "No such image",
    "Unable to find image",
    "No module named 'pls_grading",
    "No module named pls_grading",
    "pull access denied",
)


class SandboxUnavailable(Exception):
    """The sandbox could not run at all (no engine, no image, an image without the runner):
    the grader's problem, not the notebook's; grading should be tried again later."""


@dataclass
class SandboxRun:
    """What one run gave.

    ``notebook`` is the executed notebook (its signature checked), or None when the sandbox
    stopped without one; ``stopped`` then says why, in words for the learner."""

    notebook: dict[str, Any] | None
    stopped: str = ""
    exit_code: int | None = None
    seconds: float = 0.0
    warm: bool = False
    stderr: str = ""
    timing: dict[str, Any] = field(default_factory=dict)


class _Container:
    """One started ``docker run -i`` and its pipes; used for exactly one notebook."""

    def __init__(self, command: list[str], name: str, image: str) -> None:
        self.name = name
        self.image = image
        self.started = time.monotonic()
        self.process = subprocess.Popen(  # noqa: S603 (the command is built by Sandbox)
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )

    def alive(self) -> bool:
        return self.process.poll() is None

    def discard(self) -> None:
        """Let an unused container end by itself: on end of input the runner exits and
        ``--rm`` removes the container. The process is reaped in the background."""
        with contextlib.suppress(OSError):
            self.process.stdin.close()
        threading.Thread(target=self._reap, daemon=True).start()

    def _reap(self) -> None:
        """Read the pipes to their end (a runner never blocks on a full one) and wait for the
        ``docker run`` to exit; after 30 s it is killed. Not ``communicate()``: it flushes the
        stdin that ``discard`` closed, raises ``ValueError`` and leaves the process unreaped."""
        timer = threading.Timer(30, self.process.kill)
        timer.start()
        try:
            for pipe in (self.process.stdout, self.process.stderr):
                with contextlib.suppress(OSError, ValueError):
                    pipe.read()
                    pipe.close()
            self.process.wait()
        finally:
            timer.cancel()


class Sandbox(LoggingConfigurable):
    """Runs notebooks in fresh, network-less, resource-limited containers."""

    docker = Unicode("docker", help="The Docker CLI to run (a name on PATH or a path).").tag(
        config=True
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
    extra_args = List(
        Unicode(), help="More `docker run` options, e.g. ['--runtime', 'runsc'] for gVisor."
    ).tag(config=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._pool: dict[str, list[_Container]] = {}
        self._lock = threading.Lock()
        self._closed = False
        atexit.register(self.close)

    def __deepcopy__(self, memo: dict) -> Sandbox:
        """The same sandbox: traitlets deep-copies configuration values (nbgrader's
        preprocessors get theirs that way), and a sandbox with its warm pool is shared."""
        return self

    # -- the container ---------------------------------------------------------------------

    def docker_run_command(self, name: str, image: str) -> list[str]:
        """The full ``docker run`` command line of one sandbox."""
        tmpfs = "rw,nosuid,nodev,noexec"
        return [
            self.docker, "run", "--interactive", "--rm",
            "--name", name,
            "--label", LABEL,
            "--network", "none",
            "--user", self.user,
            "--cap-drop", "ALL",
            "--security-opt", "no-new-privileges",
            "--memory", self.mem_limit,
            "--memory-swap", self.mem_limit,
            "--cpus", f"{self.cpu_limit:g}",
            "--pids-limit", str(self.pids_limit),
            "--read-only",
            "--tmpfs", f"/tmp:{tmpfs},size={self.tmp_size},mode=1777",  # noqa: S108
            "--tmpfs", f"{self.home}:{tmpfs},size={self.home_size},uid=1000,gid=100,mode=0700",
            "--workdir", self.home,
            "--env", f"HOME={self.home}",
            "--log-driver", "none",
            "--ulimit", "core=0",
            *self.extra_args,
            image,
            "python", "-m", "pls_grading.execute", "--own-container",
            "--workdir", self.work_dir,
            "--cell-timeout", str(self.cell_timeout),
            "--time-limit", str(self.time_limit),
            "--startup-timeout", str(self.startup_timeout),
            "--max-restarts", str(self.max_restarts),
            "--max-input-bytes", str(self.max_input_bytes),
            "--max-cell-output", str(self.max_cell_output),
            "--max-total-output", str(self.max_total_output),
        ]  # fmt: skip

    def _start(self, image: str) -> _Container:
        name = f"{self.name_prefix}-{secrets.token_hex(6)}"
        try:
            return _Container(self.docker_run_command(name, image), name, image)
        except OSError as exc:
            raise SandboxUnavailable(f"cannot run {self.docker!r}: {exc}") from exc

    def _take(self, image: str) -> tuple[_Container, bool]:
        """A started container for ``image``: a waiting one from the pool, else a new one."""
        with self._lock:
            waiting = self._pool.get(image, [])
            while waiting:
                container = waiting.pop(0)
                fresh = time.monotonic() - container.started < self.pool_max_age
                if container.alive() and fresh:
                    return container, True
                container.discard()
        return self._start(image), False

    def _refill(self, image: str) -> None:
        with self._lock:
            if self._closed:
                return
            waiting = self._pool.setdefault(image, [])
            while len(waiting) < self.pool_size:
                waiting.append(self._start(image))

    def warm_up(self, image: str | None = None) -> None:
        """Start the pool's containers for ``image`` now (e.g. when a worker starts)."""
        self._refill(image or self.image)

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
    ) -> SandboxRun:
        """Execute ``notebook`` (nbformat 4, as a dict) in a fresh container of ``image``,
        with ``files`` (relative path -> content) written beside it first.

        Returns the executed notebook, or why the sandbox stopped without one. Raises
        :class:`SandboxUnavailable` when no sandbox could run, and ValueError for a request
        larger than ``max_input_bytes``."""
        import base64  # only here: the module stays cheap to import

        image = image or self.image
        key = secrets.token_bytes(32)
        request = json.dumps(
            {
                "notebook": notebook,
                "files": {n: base64.b64encode(c).decode() for n, c in (files or {}).items()},
                "key": key.hex(),
            }
        ).encode()
        if len(request) > self.max_input_bytes:
            raise ValueError(
                f"the notebook and its files take {len(request)} bytes; a sandbox takes at "
                f"most {self.max_input_bytes}"
            )
        container, warm = self._take(image)
        try:
            return self._exchange(container, request, key, warm)
        finally:
            if self.pool_size > 0:
                self._refill(image)

    def _exchange(
        self, container: _Container, request: bytes, key: bytes, warm: bool
    ) -> SandboxRun:
        """Send the request and wait for the signed result, not for the container's end:
        once the result is in, the runner only stops its kernel and the container exits and
        is removed (~0.2 s more), which :meth:`_end` waits for in the background."""
        started = time.monotonic()
        process = container.process
        limit = self.time_limit + self.startup_timeout + self.grace_seconds
        stdout = bytearray()
        stderr = bytearray()
        overflow = threading.Event()
        ended = threading.Event()  # a signed result arrived, or stdout ended without one
        answer: list[dict[str, Any]] = []

        def write() -> None:
            with contextlib.suppress(OSError):  # a container that died does not read
                process.stdin.write(request)
            with contextlib.suppress(OSError):
                process.stdin.close()

        def read_stdout() -> None:
            while chunk := process.stdout.read1(CHUNK):
                if answer:  # the result is in; the rest is not the runner's and is dropped
                    continue
                if len(stdout) + len(chunk) > self.max_result_bytes:
                    overflow.set()
                    self._kill(container)
                    break
                searched = len(stdout)
                stdout.extend(chunk)
                notebook = signed_result(stdout, key, searched)
                if notebook is not None:
                    answer.append(notebook)
                    ended.set()
            process.stdout.close()
            ended.set()

        def read_stderr() -> None:
            while chunk := process.stderr.read1(CHUNK):
                stderr.extend(chunk)
                del stderr[:-STDERR_TAIL]
            process.stderr.close()

        threads = [
            threading.Thread(target=f, daemon=True) for f in (write, read_stdout, read_stderr)
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
                exit_code=process.poll(),
                seconds=time.monotonic() - started,
                warm=warm,
            )
            run.timing = run.notebook.get("metadata", {}).get("pls_grading", {}).get("run", {})
            return run
        self._end(container, threads, 0 if timed_out else 30)
        run = SandboxRun(
            notebook=None,
            exit_code=process.returncode,
            seconds=time.monotonic() - started,
            warm=warm,
            stderr=stderr.decode(errors="replace"),
        )
        if timed_out:
            run.stopped = f"the notebook ran longer than the grader's limit ({limit:g} s)"
        elif overflow.is_set():
            run.stopped = "the notebook wrote more output than the grader accepts"
        else:
            self._check_engine(run)
            run.stopped = stopped_reason(run.exit_code)
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
        stops the kernel and exits), then kill it, and its pipes' threads to finish."""
        try:
            container.process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            self._kill(container)
            try:
                container.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                container.process.kill()
                container.process.wait()
        for thread in threads:
            thread.join(timeout=10)

    def _check_engine(self, run: SandboxRun) -> None:
        """Raise SandboxUnavailable when the run failed for the grader's reasons."""
        code = run.exit_code
        engine = code != 0 and any(marker in run.stderr for marker in ENGINE_TROUBLE)
        if engine or code in (
            DOCKER_RUN_FAILED,
            DOCKER_CANNOT_INVOKE,
            DOCKER_NOT_FOUND,
            RUNNER_NO_KERNEL,
        ):
            raise SandboxUnavailable(
                f"the grading sandbox did not run (exit {code}): {run.stderr[-1000:].strip()}"
            )
        if code == RUNNER_BAD_REQUEST:
            raise SandboxUnavailable(f"the sandbox refused the request: {run.stderr[-1000:]}")

    def _kill(self, container: _Container) -> None:
        subprocess.run(  # noqa: S603 (our CLI, our container's name)
            [self.docker, "kill", container.name],
            capture_output=True, timeout=30, check=False,
        )  # fmt: skip


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
