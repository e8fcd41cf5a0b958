"""The local fallback spawner in the real studio: learners' servers run as unprivileged accounts
of their own, and the rlimits hold.

A studio of this module's own (``own_studio``, ``HUB_SPAWNER=local``, names under ``pls-test4``)
runs as root, as ``make up`` does on these machines, so each learner's server runs as the
account ``pls-<username>``. The tests drive learner1's server the way JupyterLab does: through
the proxy with the learner's own token, a kernel started with the REST API and code run over its
websocket. The stressful ones (memory hog, process-spawning loop) come last.

The studio's var dir is not under pytest's temporary root, which is private to root (0700): the
learners' accounts must pass through the var dir to reach their folders (``<var>/hub/users``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import pwd
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import websocket

pytestmark = [pytest.mark.docker, pytest.mark.slow]

PREFIX = "pls-test4"
PORTS = {"lms": 18300, "hub": 18301, "proxy_api": 18302, "hub_api": 18381}
CPU_SECONDS = 900  # HUB_LOCAL_CPU_SECONDS: not the default, so the test sees the setting
GiB = 1024**3
LEARNER_MEM = GiB  # the learner profile's defaults
LEARNER_PIDS = 512
RUN_SECONDS = 120  # one cell, including the kernel's start
LESSON = Path("work") / "python-101" / "lessons" / "01-basics.ipynb"


class ReachableTemp:
    """``tmp_path_factory`` for ``own_studio``: folders that every account may pass through
    (mode 0711) but not list, in a temporary root of their own."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix=f"{PREFIX}-"))
        self.root.chmod(0o711)

    def mktemp(self, basename: str) -> Path:
        path = Path(tempfile.mkdtemp(prefix=f"{basename}-", dir=self.root))
        path.chmod(0o711)
        return path

    def cleanup(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


@dataclass
class Ran:
    stdout: str
    error: str | None

    def json(self):
        assert self.error is None, f"the cell failed: {self.error}\n{self.stdout}"
        return json.loads(self.stdout.strip().splitlines()[-1])


class Kernel:
    """A kernel on a user's own server, driven as JupyterLab drives it: started through the REST
    API, code run over the kernel's websocket, both through the proxy with the user's token."""

    def __init__(self, studio, username: str) -> None:
        token = studio.tokens[username]
        self.api = studio.server_url(username, "api")
        self.headers = {"Authorization": f"token {token}"}
        started = requests.post(
            f"{self.api}/kernels", json={"name": "python3"}, headers=self.headers, timeout=60
        )
        assert started.status_code == 201, (started.status_code, started.text)
        self.id = started.json()["id"]
        self.session = uuid.uuid4().hex
        self.username = username
        self.socket = websocket.create_connection(
            f"ws{self.api.removeprefix('http')}/kernels/{self.id}/channels",
            header=[f"Authorization: token {token}"],
            timeout=RUN_SECONDS,
        )

    def _message(self, msg_type: str, channel: str, content: dict, parent: dict | None = None):
        header = {
            "msg_id": uuid.uuid4().hex,
            "msg_type": msg_type,
            "session": self.session,
            "username": self.username,
            "date": dt.datetime.now(dt.UTC).isoformat(),
            "version": "5.3",
        }
        return {
            "header": header,
            "parent_header": parent or {},
            "metadata": {},
            "content": content,
            "channel": channel,
            "buffers": [],
        }

    def run(self, code: str, on_input=None) -> Ran:
        """Run ``code``; ``on_input(prompt)`` answers the cell's ``input()`` calls."""
        content = {
            "code": code,
            "silent": False,
            "store_history": False,
            "user_expressions": {},
            "allow_stdin": on_input is not None,
            "stop_on_error": True,
        }
        request = self._message("execute_request", "shell", content)
        msg_id = request["header"]["msg_id"]
        self.socket.send(json.dumps(request))
        stdout, error, replied, idle = [], None, False, False
        deadline = time.monotonic() + RUN_SECONDS
        while not (replied and idle):
            assert time.monotonic() < deadline, f"no reply within {RUN_SECONDS} s: {stdout}"
            message = json.loads(self.socket.recv())
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = message["header"]["msg_type"], message["content"]
            if kind == "stream" and content["name"] == "stdout":
                stdout.append(content["text"])
            elif kind == "error":
                error = f"{content['ename']}: {content['evalue']}"
            elif kind == "input_request":
                value = on_input(content["prompt"])
                reply = self._message(
                    "input_reply", "stdin", {"value": value, "status": "ok"}, message["header"]
                )
                self.socket.send(json.dumps(reply))
            elif kind == "execute_reply":
                replied = True
            elif kind == "status" and content["execution_state"] == "idle":
                idle = True
        return Ran("".join(stdout), error)

    def close(self) -> None:
        with contextlib.suppress(websocket.WebSocketException, OSError):
            self.socket.close()
        requests.delete(f"{self.api}/kernels/{self.id}", headers=self.headers, timeout=30)


# -- the studio, its learners and learner1's kernel ----------------------------------------------


@pytest.fixture(scope="module")
def local_studio(own_studio_factory):
    temp = ReachableTemp()
    try:
        with own_studio_factory(
            temp, PREFIX, PORTS, HUB_SPAWNER="local", HUB_LOCAL_CPU_SECONDS=str(CPU_SECONDS)
        ) as own:
            yield own.studio
    finally:
        temp.cleanup()


@pytest.fixture(scope="module")
def learners(local_studio):
    """learner1 and learner2 signed in through the LMS, each with a running server."""
    return {name: local_studio.login(name) for name in ("learner1", "learner2")}


@pytest.fixture(scope="module")
def kernel(local_studio, learners):
    """A kernel on learner1's server."""
    running = Kernel(local_studio, "learner1")
    yield running
    running.close()


def users_dir(studio) -> Path:
    return studio.var_dir / "hub" / "users"


def proc_limits(text: str) -> dict[str, tuple[str, str]]:
    """``/proc/<pid>/limits`` as {name: (soft, hard)}."""
    limits = {}
    for line in text.splitlines()[1:]:
        soft, hard = line[26:].split()[:2]
        limits[line[:26].strip()] = (soft, hard)
    return limits


IDENTITY = """
import json, os, pwd
def ids(pid):
    found = {}
    for line in open(f"/proc/{pid}/status"):
        key, _, value = line.partition(":")
        if key in ("Uid", "Gid", "Groups"):
            found[key] = [int(part) for part in value.split()]
    return found
server = os.getppid()
print(json.dumps({
    "kernel": ids("self"),
    "server": ids(server),
    "server_command": open(f"/proc/{server}/cmdline").read().split("\\0"),
    "account": pwd.getpwuid(os.getuid()).pw_name,
    "home": os.environ["HOME"],
}))
"""

LIMITS = """
import json, os
print(json.dumps({
    "kernel": open("/proc/self/limits").read(),
    "server": open(f"/proc/{os.getppid()}/limits").read(),
}))
"""

ACCESS = """
import json, os
results = {}
for path in PATHS:
    try:
        if os.path.isdir(path):
            os.listdir(path)
        else:
            with open(path, "rb") as handle:
                handle.read(1)
        results[path] = "read"
    except PermissionError:
        results[path] = "denied"
print(json.dumps(results))
"""

MEMORY_HOG = f"""
try:
    hog = bytearray({3 * LEARNER_MEM // 2})
    print("allocated")
except MemoryError:
    print("MemoryError")
"""

SPAWN_UNTIL_REFUSED = f"""
import json, subprocess
children, error = [], None
try:
    for _ in range({4 * LEARNER_PIDS}):
        children.append(subprocess.Popen(["sleep", "60"]))
except OSError as exc:
    error = f"{{type(exc).__name__}}: {{exc}}"
print(json.dumps({{"children": len(children), "error": error}}))
try:
    input("holding the children")
finally:
    for child in children:
        child.kill()
    for child in children:
        child.wait()
"""


# -- the tests --------------------------------------------------------------------------------


def test_learners_server_runs_as_their_own_unprivileged_account(local_studio, kernel):
    found = kernel.run(IDENTITY).json()
    account = pwd.getpwnam("pls-learner1")
    assert found["account"] == "pls-learner1"
    assert account.pw_uid != 0 and account.pw_shell == "/usr/sbin/nologin"
    for process in ("kernel", "server"):
        assert found[process]["Uid"] == [account.pw_uid] * 4, found
        assert found[process]["Gid"] == [account.pw_gid] * 4, found
        assert found[process]["Groups"] == [account.pw_gid], found
    assert "jupyterhub.singleuser" in found["server_command"]
    assert "--allow-root" not in found["server_command"]
    home = users_dir(local_studio) / "learner1"
    assert found["home"] == str(home)
    assert home.stat().st_uid == account.pw_uid and home.stat().st_mode & 0o777 == 0o700
    # Course materials were copied by the account itself: the learner owns and can edit them.
    assert (home / LESSON).stat().st_uid == account.pw_uid
    assert pwd.getpwnam("pls-learner2").pw_uid != account.pw_uid


def test_server_and_kernel_run_with_the_profiles_limits(kernel):
    found = kernel.run(LIMITS).json()
    for process in ("kernel", "server"):
        limits = proc_limits(found[process])
        assert limits["Max cpu time"] == (str(CPU_SECONDS), str(CPU_SECONDS)), process
        assert limits["Max address space"] == (str(LEARNER_MEM), str(LEARNER_MEM)), process
        soft, hard = limits["Max processes"]
        assert soft == hard and LEARNER_PIDS <= int(soft) < 2 * LEARNER_PIDS, (process, soft)


def test_learner_cannot_read_another_learners_folder_or_the_hubs_secrets(local_studio, kernel):
    users = users_dir(local_studio)
    secrets = sorted(str(path) for path in (local_studio.var_dir / "secrets").iterdir())
    assert any(path.endswith("hub-cookie-secret") for path in secrets), secrets
    own = [str(users / "learner1"), str(users / "learner1" / LESSON)]
    others = [str(users / "learner2"), str(users / "learner2" / LESSON), *secrets]
    assert (users / "learner2" / LESSON).is_file()  # it is there, for root
    code = f"PATHS = {own + others!r}\n{ACCESS}"
    found = kernel.run(code).json()
    assert {path: found[path] for path in own} == dict.fromkeys(own, "read")
    assert {path: found[path] for path in others} == dict.fromkeys(others, "denied")


def test_memory_hog_gets_memory_error_and_the_server_stays_up(local_studio, learners, kernel):
    assert kernel.run(MEMORY_HOG).stdout.split() == ["MemoryError"]
    assert kernel.run("print(6 * 7)").stdout.strip() == "42"  # the same kernel, still there
    assert local_studio.server_status(learners["learner1"], "learner1") == 200


def test_process_spawning_loop_is_stopped_by_the_process_limit_and_the_hub_answers(
    local_studio, learners, kernel
):
    while_held = {}

    def at_the_limit(prompt: str) -> str:
        # learner1's account cannot start one more process: the hub, the proxy and learner2's
        # server (other accounts) must not notice.
        while_held["hub"] = local_studio.hub_health()
        while_held["learner2"] = local_studio.server_status(learners["learner2"], "learner2")
        return ""

    ran = kernel.run(SPAWN_UNTIL_REFUSED, on_input=at_the_limit)
    found = ran.json()
    assert found["error"] is not None, f"spawning never failed ({found['children']} children)"
    assert found["error"].startswith("BlockingIOError"), found  # EAGAIN: RLIMIT_NPROC
    assert 0 < found["children"] < LEARNER_PIDS, found
    assert while_held == {"hub": 200, "learner2": 200}
    assert kernel.run("print('still here')").stdout.strip() == "still here"
    assert local_studio.server_status(learners["learner1"], "learner1") == 200
    assert local_studio.hub_health() == 200
