"""A learner's journey through the real studio (LMS + hub + Docker), and the sandbox it ends in.

The studio, the sign-in through the LMS and the spawn are in conftest.py. The tests run in file
order: the ones that stress learner1's container (fork bomb, memory hog) come last.
"""

from __future__ import annotations

import json
import re

import pytest

pytestmark = [pytest.mark.docker, pytest.mark.slow]

GIB = 1024**3
LEARNER_PIDS = 512
SECRET_NAMES = ("OPENAI", "LMS", "HUB_OAUTH", "SECRET", "PASSWORD", "DATABASE")
TOKEN_LIKE = re.compile(r"TOKEN|SECRET|PASSWORD|KEY", re.IGNORECASE)


def test_learner_logs_in_through_the_lms_and_gets_a_hardened_container(studio, learner1):
    info = studio.inspect(studio.container_name("learner1"))
    host = info["HostConfig"]
    summary = json.dumps(host, indent=1)[:3000]
    assert host["Memory"] == GIB, summary
    assert host["MemorySwap"] == GIB, summary  # no swap on top of the limit
    assert host["CpuQuota"] == 100_000, summary
    assert host["CpuPeriod"] == 100_000, summary
    assert host["PidsLimit"] == LEARNER_PIDS, summary
    assert host["CapDrop"] == ["ALL"], summary
    assert not host.get("CapAdd"), summary
    assert "no-new-privileges" in (host.get("SecurityOpt") or []), summary
    assert not host.get("Privileged"), summary
    assert info["Config"]["User"] == "1000:100"
    assert set(info["NetworkSettings"]["Networks"]) == {studio.network}
    assert info["Config"]["Labels"]["org.pythonlearningstudio.user"] == "learner1"

    uid = studio.exec_in("learner1", "id", "-u")
    assert uid.returncode == 0 and uid.stdout.strip() == "1000", uid
    status = studio.exec_in("learner1", "cat", "/proc/self/status").stdout
    capabilities = dict(re.findall(r"^(Cap\w+):\s+([0-9a-f]+)$", status, re.MULTILINE))
    assert int(capabilities["CapEff"], 16) == 0, capabilities
    assert int(capabilities["CapPrm"], 16) == 0, capabilities
    assert int(capabilities["CapBnd"], 16) == 0, capabilities
    assert re.search(r"^NoNewPrivs:\s+1$", status, re.MULTILINE), status
    memory = studio.exec_in(
        "learner1", "sh", "-c",
        "cat /sys/fs/cgroup/memory.max 2>/dev/null"
        " || cat /sys/fs/cgroup/memory/memory.limit_in_bytes",
    )
    assert memory.stdout.strip() == str(GIB), memory
    pids = studio.exec_in(
        "learner1", "sh", "-c",
        "cat /sys/fs/cgroup/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids/pids.max",
    )
    assert pids.stdout.strip() == str(LEARNER_PIDS), pids


def test_container_environment_holds_only_the_learners_hub_token(studio, learner1):
    result = studio.exec_in("learner1", "env", "-0")
    assert result.returncode == 0, result
    env = dict(item.split("=", 1) for item in result.stdout.split("\0") if "=" in item)
    # JupyterHub's own variables (JUPYTERHUB_OAUTH_SCOPES, ...) are checked by TOKEN_LIKE below.
    leaked = [
        key for key in env
        if not key.startswith("JUPYTERHUB_") and any(name in key.upper() for name in SECRET_NAMES)
    ]
    assert not leaked, leaked
    token_like = {key for key in env if TOKEN_LIKE.search(key)}
    assert token_like == {"JUPYTERHUB_API_TOKEN"}, token_like
    assert env["JUPYTERHUB_API_TOKEN"]
    assert env["JUPYTERHUB_USER"] == "learner1"
    # Not one of the studio's own secrets (OAuth client secret, proxy token, cookie secret, crypt
    # key, LMS and OIDC keys, demo passwords) appears anywhere in the environment.
    secrets = [
        path.read_text(errors="replace").strip()
        for path in (studio.var_dir / "secrets").iterdir()
        if path.is_file() and path.name != "demo-accounts.json"
    ]
    secrets += list(studio.passwords.values())
    values = "\n".join(env.values())
    for secret in secrets:
        for line in filter(None, (line.strip() for line in secret.splitlines())):
            if len(line) >= 8 and not line.startswith("-----"):
                assert line not in values, "a studio secret is in the learner's environment"


def test_second_learner_is_refused_the_first_learners_server(studio, learner1, learner2):
    lab = learner2.get(studio.server_url("learner1", "lab"), timeout=30)
    assert lab.status_code == 403, (lab.status_code, lab.url)
    assert studio.server_status(learner2, "learner1") == 403
    assert studio.server_status(learner2, "learner2") == 200  # their own server works
    assert studio.server_status(learner1, "learner1") == 200

    mounts = studio.inspect(studio.container_name("learner2"))["Mounts"]
    work = [m for m in mounts if m["Destination"] == "/home/jovyan/work"]
    assert [m.get("Name") for m in work] == [f"{studio.prefix}-work-learner2"], mounts
    for mount in mounts:
        assert "learner1" not in (mount.get("Name") or ""), mount
        assert "learner1" not in mount.get("Source", ""), mount
    listing = studio.exec_in("learner2", "sh", "-c", "ls -a /home /home/jovyan; cat /proc/mounts")
    assert "learner1" not in listing.stdout, listing.stdout


PROBE = """
import json, os, socket, sys, urllib.request
gateway, lms_port = sys.argv[1], int(sys.argv[2])
def connect(host, port):
    try:
        socket.create_connection((host, port), timeout=3).close()
        return "connected"
    except OSError as exc:
        return type(exc).__name__
request = urllib.request.Request(
    os.environ["JUPYTERHUB_API_URL"].rstrip("/") + "/",
    headers={"Authorization": "token " + os.environ["JUPYTERHUB_API_TOKEN"]},
)
with urllib.request.urlopen(request, timeout=10) as response:
    hub = response.status
print(json.dumps({
    "postgres": connect(gateway, 5432),
    "lms": connect(gateway, lms_port),
    "outside": connect("1.1.1.1", 443),
    "hub_api": hub,
}))
"""


def test_container_cannot_reach_postgres_lms_admin_or_outside(studio, learner1):
    network = json.loads(studio.docker("network", "inspect", studio.network).stdout)[0]
    assert network["Internal"] is True, network
    gateway = next(c["Gateway"] for c in network["IPAM"]["Config"] if c.get("Gateway"))
    lms_port = studio.lms_url.rsplit(":", 1)[1]
    result = studio.exec_in("learner1", "python3", "-c", PROBE, gateway, lms_port, timeout=60)
    assert result.returncode == 0, result
    reached = json.loads(result.stdout.strip().splitlines()[-1])
    assert reached["postgres"] != "connected", reached
    assert reached["lms"] != "connected", reached
    assert reached["outside"] != "connected", reached
    assert reached["hub_api"] == 200, reached


FORK_BOMB = """
import os, signal, sys, time
children, error = [], None
deadline = time.monotonic() + 20
while time.monotonic() < deadline and len(children) < 2000:
    try:
        pid = os.fork()
    except OSError as exc:
        error = type(exc).__name__
        break
    if pid == 0:
        time.sleep(60)
        os._exit(0)
    children.append(pid)
try:
    with open("/sys/fs/cgroup/pids.current") as f:
        current = int(f.read())
except OSError:
    current = -1
for pid in children:
    os.kill(pid, signal.SIGKILL)
for pid in children:
    os.waitpid(pid, 0)
print(len(children), current, error)
"""


def test_fork_bomb_is_capped_by_the_pids_limit_and_the_hub_stays_up(studio, learner1):
    result = studio.exec_in("learner1", "python3", "-c", FORK_BOMB, timeout=90)
    assert result.returncode == 0, result
    forked, current, error = result.stdout.split()
    assert error != "None", f"forking never failed ({forked} children)"
    assert int(forked) < LEARNER_PIDS
    assert int(current) <= LEARNER_PIDS
    assert studio.hub_health() == 200
    assert studio.server_status(learner1, "learner1") == 200
    assert studio.api("learner1", "GET", "/user").status_code == 200


def test_memory_hog_is_oom_killed_inside_the_container_only(studio, learner1):
    hog = studio.exec_in(
        "learner1", "python3", "-c", "data = b'x' * (2 * 1024**3); print(len(data))", timeout=120
    )
    assert hog.returncode == 137, hog  # SIGKILL from the container's OOM killer
    state = studio.inspect(studio.container_name("learner1"))["State"]
    assert state["Running"] and not state["Restarting"], state
    assert studio.hub_health() == 200
    assert studio.server_status(learner1, "learner1") == 200
    assert studio.exec_in("learner1", "true").returncode == 0


def test_staff_are_hub_admins_and_learners_are_not(studio, learner1):
    studio.login("admin", spawn=False)
    studio.login("instructor", spawn=False)
    users = {name: studio.api(name, "GET", "/user").json() for name in
             ("admin", "instructor", "learner1")}
    assert users["admin"]["admin"] is True, users["admin"]
    assert "staff" in users["admin"]["groups"], users["admin"]
    assert users["instructor"]["admin"] is False, users["instructor"]
    assert users["learner1"]["admin"] is False, users["learner1"]
    assert "nbgrader-python-101" in users["learner1"]["groups"], users["learner1"]
    # The admin may list every user; a learner may not.
    assert studio.api("admin", "GET", "/users").status_code == 200
    assert studio.api("learner1", "GET", "/users").status_code == 403
