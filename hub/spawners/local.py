"""The development fallback when no Docker engine answers: a local process per user.

NOT ISOLATED. The server runs as the hub's own operating-system user, so a learner's code can
read whatever the hub can. It exists so that ``make up`` works on a machine without Docker, and
says so loudly at startup and at every spawn.

What it does provide:

- a folder per user (``<users_dir>/<name>``, mode 0700) as ``$HOME``, with the work folder
  ``work/`` inside, where course materials are copied without overwriting (:mod:`hub.materials`);
- rlimits from the resource profile, applied in the child before ``exec``: ``RLIMIT_AS``
  (memory), ``RLIMIT_NPROC`` (processes: the profile's pids limit on top of what the hub's
  user already runs; the kernel ignores it for root) and ``RLIMIT_CPU`` (CPU seconds per process);
- ports from :class:`hub.ports.PortAllocator`: two servers can never get the same port;
- an environment with nothing from the hub's but ``PATH``, ``LANG``, ``LC_ALL``, ``VIRTUAL_ENV``.
"""

from __future__ import annotations

import os
import resource
import sys
from pathlib import Path

from jupyterhub.spawner import LocalProcessSpawner
from traitlets import Integer, Unicode, default

from hub.materials import copy_missing
from hub.ports import PortAllocator
from hub.settings import var_dir
from hub.spawners.plan import SpawnPlan, StudioSpawnerMixin

NOT_ISOLATED = "not isolated — development only"


def count_tasks_of_uid(uid: int) -> int:
    """Processes and threads the user ``uid`` runs now (what RLIMIT_NPROC counts)."""
    total = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            if entry.stat().st_uid != uid:
                continue
            total += len(os.listdir(f"/proc/{entry.name}/task"))
        except OSError:  # the process ended meanwhile
            continue
    return total


def rlimits_preexec(home: str, limits: dict[int, int]):
    """A preexec_fn: enter ``home``, then set each ``{resource.RLIMIT_*: value}`` (soft and
    hard, so the server cannot raise them again). Runs in the child between fork and exec."""

    def preexec() -> None:
        os.chdir(home)
        for which, value in limits.items():
            resource.setrlimit(which, (value, value))

    return preexec


class StudioLocalSpawner(StudioSpawnerMixin, LocalProcessSpawner):
    """Local-process spawner for development: per-user folder, rlimits, collision-free ports."""

    users_dir = Unicode(
        help="Folder holding one folder per user. Default: <STUDIO_VAR_DIR>/hub/users.",
    ).tag(config=True)

    @default("users_dir")
    def _users_dir_default(self):
        return str(var_dir() / "hub" / "users")

    cpu_seconds = Integer(
        3600,
        help="""RLIMIT_CPU: CPU seconds each process (the server, each kernel) may use before
        the kernel stops it. The local stand-in for a CPU quota.""",
    ).tag(config=True)

    port_range_start = Integer(20000, help="First port for local servers.").tag(config=True)
    port_range_end = Integer(29999, help="Last port for local servers.").tag(config=True)

    _allocators: dict[tuple[int, int, str], PortAllocator] = {}

    @property
    def port_allocator(self) -> PortAllocator:
        """One allocator per hub process (per range), shared by every user's spawner."""
        key = (self.port_range_start, self.port_range_end, self.ip or "127.0.0.1")
        if key not in self._allocators:
            self._allocators[key] = PortAllocator(*key)
        return self._allocators[key]

    @property
    def port_owner(self) -> str:
        return f"{self.user.name}/{self.name}" if self.name else self.user.name

    plan = None

    @default("cmd")
    def _cmd_default(self):
        return [sys.executable, "-m", "jupyterhub.singleuser"]

    @default("env_keep")
    def _env_keep_default(self):
        return ["PATH", "LANG", "LC_ALL", "VIRTUAL_ENV"]

    @property
    def home_dir(self) -> Path:
        return Path(self.users_dir) / self.user.name

    @property
    def work_dir(self) -> Path:
        return self.home_dir / "work"

    @default("notebook_dir")
    def _notebook_dir_default(self):
        return str(self.work_dir)

    def rlimits(self, plan: SpawnPlan) -> dict[int, int]:
        return {
            resource.RLIMIT_AS: int(plan.profile.mem_limit),
            resource.RLIMIT_NPROC: count_tasks_of_uid(os.getuid()) + plan.profile.pids_limit,
            resource.RLIMIT_CPU: self.cpu_seconds,
        }

    def make_preexec_fn(self, name):
        return rlimits_preexec(str(self.home_dir), self.rlimits(self.plan))

    def user_env(self, env):
        env["USER"] = self.user.name
        env["HOME"] = str(self.home_dir)
        env["SHELL"] = "/bin/sh"
        env["MALLOC_ARENA_MAX"] = "2"  # keeps address space (RLIMIT_AS) close to real use
        return env

    def move_certs(self, paths):
        return paths

    def get_args(self):
        args = super().get_args()
        if os.geteuid() == 0:  # Jupyter refuses root without it; the startup log says why
            args.append("--allow-root")
        return args

    async def start(self):
        self.plan = plan = self.spawn_plan()
        self.mem_limit = plan.profile.mem_limit
        self.log.warning(
            "Spawning %s with the local process spawner: %s%s. Limits: %s",
            self.user.name,
            NOT_ISOLATED,
            " (running as root: the process limit does not apply)" if os.geteuid() == 0 else "",
            plan.profile,
        )
        self.home_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.home_dir, 0o700)
        copied = copy_missing(plan.materials, self.work_dir)
        if copied:
            self.log.info("Copied %d course files for %s", len(copied), self.user.name)
        hint = getattr(getattr(self, "orm_spawner", None), "id", 0) or 0
        self.port = self.port_allocator.allocate(self.port_owner, hint=hint)
        try:
            return await super().start()
        except BaseException:
            self.port_allocator.release(self.port_owner)
            raise

    def get_state(self):
        state = super().get_state()
        if self.pid and self.port:
            state["port"] = self.port
        return state

    def load_state(self, state):
        super().load_state(state)
        port = state.get("port")
        if self.pid and port:
            if self.port_allocator.claim(self.port_owner, port):
                self.port = port
            else:
                self.log.error(
                    "Port %s of %s's restored server is held by %s: not reusing it",
                    port,
                    self.user.name,
                    self.port_allocator.owner(port),
                )

    def clear_state(self):
        super().clear_state()
        self.port_allocator.release(self.port_owner)
        self.port = 0
