"""The development fallback when no Docker engine answers: a local process per user.

NOT ISOLATED. Learners' servers are ordinary processes on the hub's machine: they share its file
system (anything any local account may read, e.g. the repository with the courses' solutions),
its network and its CPUs. It exists so that ``make up`` works on a machine without Docker, and
says so loudly at startup and at every spawn.

Who a server runs as:

- the hub is not root (a developer's own ``make up``): the hub's own user, as JupyterHub's
  LocalProcessSpawner would for a single user. A learner's code can read whatever the hub can.
- the hub is root (how ``make up`` runs on the project's machines): each user's server runs as an
  operating-system account of that user's own, ``pls-<username>`` (:attr:`account_template`),
  created on the first spawn with ``useradd --system --user-group``: no password, no login
  shell, no group but its own, and a comment naming the user (an existing account without that
  comment is never used, so two users can never share one). Never root: Jupyter runs without
  ``--allow-root``.

  Why one account per user rather than one shared learner account: the per-user folder (mode
  0700) keeps another learner out only if that learner is another account; ``RLIMIT_NPROC``
  counts the processes of an account, so with a shared account one learner's fork bomb would
  use up every learner's process limit; and processes of the same account may signal and trace
  each other. The cost, one system account per learner, is small on a development machine.

What it provides:

- a folder per user (``<users_dir>/<name>``, mode 0700, owned by the user's account) as
  ``$HOME``, with the work folder ``work/`` inside; ``users_dir`` itself is 0711, so learners
  can pass through it to their own folder but cannot list the others. Course materials are
  copied into ``work/`` without overwriting (:func:`hub.materials.copy_missing`) by a short-lived
  process running as the account, so the hub never writes, as root, into a folder a learner
  controls (where a symbolic link swapped in at the right moment could redirect it);
- rlimits from the resource profile, applied in the child before ``exec``: ``RLIMIT_AS``
  (memory), ``RLIMIT_NPROC`` (processes and threads of the account: the profile's pids limit on
  top of what the account already runs) and ``RLIMIT_CPU`` (CPU seconds per process);
- a check, before the spawn, that the account can reach the server's program, the interpreter
  that copies the materials and its folder: a failed spawn names the folder that blocks it
  instead of failing in ``exec``;
- ports from :class:`hub.ports.PortAllocator`: two servers can never get the same port;
- an environment with nothing from the hub's but ``PATH``, ``LANG``, ``LC_ALL``, ``VIRTUAL_ENV``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import pwd
import re
import resource
import shutil
import subprocess
import sys
from pathlib import Path

from jupyterhub.spawner import LocalProcessSpawner, set_user_setuid
from traitlets import Integer, Unicode, default

from hub.errors import SpawnFailed
from hub.ports import PortAllocator
from hub.settings import HubSettings
from hub.spawners.plan import SpawnPlan, StudioSpawnerMixin

NOT_ISOLATED = "not isolated — development only"

ACCOUNT_NAME_MAX = 32  # useradd refuses longer user names
ACCOUNT_NAME = re.compile(r"^[a-z_][a-z0-9_-]*$")
ACCOUNT_COMMENT = "Python Learning Studio learner {username}"
COPY_SECONDS = 120

# Run as the user's account by the hub's Python: copy the materials (JSON [[source, target]] on
# stdin) into the work folder (argv[1]) without overwriting; print how many were copied.
COPY_MATERIALS = """
import json, sys
from pathlib import Path, PurePosixPath
from hub.materials import Material, copy_missing
pairs = json.load(sys.stdin)
materials = [Material(Path(source), PurePosixPath(target)) for source, target in pairs]
print(len(copy_missing(materials, Path(sys.argv[1]))))
"""

# Run as the user's account: print the first argument that is not a folder it may enter or a
# program it may run (the kernel decides, with every folder on the way).
FIRST_UNREACHABLE = 'for p; do [ -x "$p" ] || { printf %s "$p"; exit 1; }; done'


def hub_is_root() -> bool:
    return os.geteuid() == 0


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


def account_name(template: str, username: str) -> str:
    """The OS account name for ``username``: ``template`` filled in; a name longer than useradd
    allows keeps its start and ends with a hash of the username, so it stays unique."""
    name = template.format(username=username)
    if len(name) > ACCOUNT_NAME_MAX:
        digest = hashlib.sha256(username.encode()).hexdigest()[:8]
        name = f"{name[: ACCOUNT_NAME_MAX - len(digest) - 1]}-{digest}"
    if not ACCOUNT_NAME.match(name):
        raise SpawnFailed(
            f"The account name {name!r} for {username} is not a valid user name: "
            "set StudioLocalSpawner.account_template to lower-case letters, digits, '-' and '_'."
        )
    return name


def lookup_account(name: str) -> pwd.struct_passwd | None:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        return None


def useradd_command(account: str, username: str) -> list[str]:
    """A system account with its own group, no home folder, no login shell and no password."""
    return [
        "useradd",
        "--system",
        "--user-group",
        "--no-create-home",
        "--home-dir",
        "/nonexistent",
        "--shell",
        "/usr/sbin/nologin",
        "--comment",
        ACCOUNT_COMMENT.format(username=username),
        account,
    ]


def path_steps(path: str | Path) -> list[str]:
    """Every folder on the way to ``path`` and ``path`` itself, after following symbolic links
    and as written (the real location first: it names the folder that actually blocks)."""
    steps: list[str] = []
    for full in (Path(os.path.realpath(path)), Path(os.path.abspath(path))):
        steps += [str(folder) for folder in reversed(full.parents)] + [str(full)]
    return list(dict.fromkeys(steps))


def hand_over(folder: Path, uid: int, gid: int) -> None:
    """Make ``folder`` and everything in it belong to ``uid:gid`` (a folder made before the user
    had an account). Never follows a symbolic link: ``os.fwalk`` walks by folder descriptors, so
    a link swapped in meanwhile cannot send it elsewhere."""
    os.chown(folder, uid, gid, follow_symlinks=False)
    for _, dirs, files, dir_fd in os.fwalk(folder, follow_symlinks=False):
        for name in dirs + files:
            os.chown(name, uid, gid, dir_fd=dir_fd, follow_symlinks=False)


def server_preexec(home: str, limits: dict[int, int], account: str | None = None):
    """A preexec_fn: set each ``{resource.RLIMIT_*: value}`` (soft and hard, so the server
    cannot raise them again), become ``account`` if given (JupyterHub's ``set_user_setuid``:
    its uid, its group, no other groups), then enter ``home`` as that account. Runs in the child
    between fork and exec."""
    become = set_user_setuid(account, chdir=False) if account else None

    def preexec() -> None:
        for which, value in limits.items():
            resource.setrlimit(which, (value, value))
        if become is not None:
            become()
        os.chdir(home)

    return preexec


class StudioLocalSpawner(StudioSpawnerMixin, LocalProcessSpawner):
    """Local-process spawner for development: an OS account per user when the hub is root, a
    per-user folder, rlimits, collision-free ports."""

    users_dir = Unicode(
        help="Folder holding one folder per user. Default: <STUDIO_VAR_DIR>/hub/users.",
    ).tag(config=True)

    @default("users_dir")
    def _users_dir_default(self):
        return str(HubSettings.from_env().hub_dir / "users")

    account_template = Unicode(
        "pls-{username}",
        help="""When the hub runs as root: the operating-system account each user's server runs
        as ({username} is the hub username), one per user, created on the user's first spawn
        (useradd --system --user-group, no login shell, a comment naming the user). One account
        per user keeps learners out of each other's folders and gives each their own process
        limit. Names longer than 32 characters are shortened with a hash. Not used when the hub
        is not root: servers then run as the hub's own user.""",
    ).tag(config=True)

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
    account: pwd.struct_passwd | None = None  # set by start() when the hub is root

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

    # -- who the server runs as ----------------------------------------------------------------

    def ensure_account(self) -> pwd.struct_passwd:
        """The user's OS account, created if missing; refused if it exists but was not made
        for this user."""
        name = account_name(self.account_template, self.user.name)
        comment = ACCOUNT_COMMENT.format(username=self.user.name)
        account = lookup_account(name)
        if account is None:
            self.log.warning("Creating the OS account %s for %s's server", name, self.user.name)
            try:
                created = subprocess.run(  # noqa: S603 - a fixed program, a checked name
                    useradd_command(name, self.user.name),
                    capture_output=True,
                    text=True,
                    timeout=60,
                    check=False,
                )
            except OSError as exc:
                raise SpawnFailed(f"Could not run useradd to create {name}: {exc}") from exc
            account = lookup_account(name)
            if account is None:
                raise SpawnFailed(
                    f"useradd could not create the account {name}: {created.stderr.strip()}"
                )
        if account.pw_gecos != comment or account.pw_uid == 0:
            raise SpawnFailed(
                f"The OS account {name} exists but was not created for {self.user.name} "
                f"(its comment is {account.pw_gecos!r}): refusing to run their server as it. "
                "Remove it or change StudioLocalSpawner.account_template."
            )
        return account

    def rlimits(self, plan: SpawnPlan) -> dict[int, int]:
        uid = self.account.pw_uid if self.account else os.getuid()
        return {
            resource.RLIMIT_AS: int(plan.profile.mem_limit),
            resource.RLIMIT_NPROC: count_tasks_of_uid(uid) + plan.profile.pids_limit,
            resource.RLIMIT_CPU: self.cpu_seconds,
        }

    def make_preexec_fn(self, name):
        account = self.account.pw_name if self.account else None
        return server_preexec(str(self.home_dir), self.rlimits(self.plan), account)

    def get_env(self):
        env = super().get_env()
        env.update(self.service_env(env.get("JUPYTERHUB_API_URL")))
        return env

    def user_env(self, env):
        env["USER"] = self.account.pw_name if self.account else self.user.name
        env["HOME"] = str(self.home_dir)
        env["SHELL"] = "/bin/sh"
        env["MALLOC_ARENA_MAX"] = "2"  # keeps address space (RLIMIT_AS) close to real use
        return env

    def move_certs(self, paths):
        return paths

    # -- the user's folder -----------------------------------------------------------------------

    def prepare_home(self) -> None:
        """``users_dir`` (0711), the user's folder (0700, the account's) and its work folder."""
        users = Path(self.users_dir)
        users.mkdir(parents=True, exist_ok=True)
        users.chmod(0o711)
        home = self.home_dir
        home.mkdir(mode=0o700, exist_ok=True)
        home.chmod(0o700)
        if self.account is None:
            self.work_dir.mkdir(exist_ok=True)
            return
        uid, gid = self.account.pw_uid, self.account.pw_gid
        if home.stat(follow_symlinks=False).st_uid != uid:
            self.log.warning("Handing %s over to the account %s", home, self.account.pw_name)
            hand_over(home, uid, gid)
        try:  # in the learner's folder: never follow what they may have put there
            os.mkdir(self.work_dir, 0o755)
            os.chown(self.work_dir, uid, gid, follow_symlinks=False)
        except FileExistsError:
            pass

    def check_reachable(self, plan: SpawnPlan) -> None:
        """Fail the spawn, naming the folder, if the account cannot run the server's program
        (or the interpreter that copies the materials) or enter its own folder."""
        program = shutil.which(self.cmd[0]) or self.cmd[0]
        needed = list(dict.fromkeys([program, sys.executable] if plan.materials else [program]))
        steps = [step for path in [*needed, self.home_dir] for step in path_steps(path)]
        result = subprocess.run(  # noqa: S603 - a fixed script, the paths as arguments
            ["/bin/sh", "-c", FIRST_UNREACHABLE, "check", *steps],
            preexec_fn=set_user_setuid(self.account.pw_name, chdir=False),
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if result.returncode != 0:
            blocked = result.stdout or result.stderr.strip()
            raise SpawnFailed(
                f"The account {self.account.pw_name} that runs {self.user.name}'s server cannot "
                f"reach {blocked}. It must be able to enter every folder on the way to "
                f"{', '.join(needed)} and {self.home_dir}: let other users pass through "
                f"{blocked} (chmod o+x), or keep the studio's Python and STUDIO_VAR_DIR out of "
                "private folders."
            )

    async def copy_materials(self, plan: SpawnPlan) -> None:
        """Copy the course materials into the work folder as the account (never as root)."""
        if not plan.materials:
            return
        pairs = [[str(m.source), str(m.target)] for m in plan.materials]
        env = {key: os.environ[key] for key in self.env_keep if key in os.environ}
        env["HOME"] = str(self.home_dir)
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            COPY_MATERIALS,
            str(self.work_dir),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            preexec_fn=self.make_preexec_fn(self.user.name),
        )
        try:
            out, err = await asyncio.wait_for(
                process.communicate(json.dumps(pairs).encode()), COPY_SECONDS
            )
        except TimeoutError:
            process.kill()
            await process.wait()
            out, err = b"", f"gave up after {COPY_SECONDS} s".encode()
        if process.returncode == 0:
            self.log.info("Copied %s course files for %s", out.decode().strip(), self.user.name)
        else:  # the server still starts; the learner's own files are what matters
            self.log.warning(
                "Course materials for %s could not all be copied: %s",
                self.user.name,
                err.decode(errors="replace").strip()[-2000:],
            )

    # -- start and state ---------------------------------------------------------------------------

    async def start(self):
        self.plan = plan = self.spawn_plan()
        self.mem_limit = plan.profile.mem_limit
        self.account = self.ensure_account() if hub_is_root() else None
        self.log.warning(
            "Spawning %s with the local process spawner: %s. Runs as %s. Limits: %s",
            self.user.name,
            NOT_ISOLATED,
            f"the account {self.account.pw_name} (uid {self.account.pw_uid})"
            if self.account
            else "the hub's own user",
            plan.profile,
        )
        self.prepare_home()
        if self.account is not None:
            self.check_reachable(plan)
        await self.copy_materials(plan)
        hint = getattr(getattr(self, "orm_spawner", None), "id", 0) or 0
        self.port = self.port_allocator.allocate(self.port_owner, hint=hint)
        try:
            address = await super().start()
        except BaseException:
            self.port_allocator.release(self.port_owner)
            raise
        return await self.answering(address)

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
