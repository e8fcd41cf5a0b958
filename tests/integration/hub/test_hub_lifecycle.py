"""The hub over time, in the real studio: LMS group changes reach the hub at the next login, and
a hub restart leaves learners' running servers reachable.

The group test changes learner2's enrollment in the LMS of this folder's studio and puts it back.
The restart test kills the hub, so it runs on a studio of its own (``own_studio`` in conftest.py,
Docker names under ``pls-test2``) and leaves the folder's studio alone.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests

from tests.support.studio import ROOT

pytestmark = [pytest.mark.docker, pytest.mark.slow]

COURSE = "python-101"
LEARNER_GROUP = f"nbgrader-{COURSE}"
INSTRUCTOR_GROUP = f"formgrade-{COURSE}"
RESTART_PREFIX = "pls-test2"
RESTART_PORTS = {"lms": 18100, "hub": 18101, "proxy_api": 18102, "hub_api": 18181}
HUB_START_SECONDS = 120


# -- helpers ----------------------------------------------------------------------------------


SET_ROLE = """
import json
from lms.accounts.models import User
from lms.courses.models import CoursePage
from lms.courses.services import enroll
user = User.objects.get(username={username!r})
before = user.role
enroll(user, CoursePage.objects.get(slug={course!r}), {role!r})
if {user_role!r}:
    user.role = {user_role!r}
    user.save(update_fields=["role"])
print(json.dumps({{"role": before}}))
"""


def set_enrollment_role(studio, username: str, role: str, user_role: str = "") -> str:
    """Enroll ``username`` in the course with ``role`` through the LMS's own service (as the
    admin does); optionally set the user's studio role. The user's studio role before."""
    out = studio.lms_shell(SET_ROLE.format(
        username=username, course=COURSE, role=role, user_role=user_role))
    return json.loads(out.strip().splitlines()[-1])["role"]


def fresh_login(studio, username: str) -> tuple[requests.Session, str]:
    """A new browser session through the LMS (a real second login) and its hub API token,
    leaving the studio's cached session for ``username`` as it was."""
    saved = studio.sessions.pop(username, None), studio.tokens.pop(username, None)
    try:
        session = studio.login(username, spawn=False)
        return session, studio.tokens[username]
    finally:
        studio.sessions.pop(username, None)
        studio.tokens.pop(username, None)
        if saved[0] is not None:
            studio.sessions[username], studio.tokens[username] = saved


def hub_groups(studio, token: str) -> set[str]:
    response = requests.get(
        f"{studio.hub_url}/hub/api/user", headers={"Authorization": f"token {token}"}, timeout=30
    )
    assert response.status_code == 200, (response.status_code, response.text)
    return set(response.json()["groups"])


def wait_for(predicate, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    last = None
    while time.monotonic() < deadline:
        with contextlib.suppress(requests.RequestException):
            last = predicate()
            if last:
                return last
        time.sleep(0.5)
    raise AssertionError(f"{what} within {seconds} s (last: {last!r})")


# -- group changes ----------------------------------------------------------------------------


def test_group_change_in_the_lms_shows_in_the_hub_after_re_login(studio):
    _, token = fresh_login(studio, "learner2")
    assert LEARNER_GROUP in hub_groups(studio, token)

    # The LMS makes learner2 an instructor of the course: the groups claim changes from
    # nbgrader-<slug> to formgrade-<slug>. (Leaving the only course would make the LMS refuse
    # the next hub login altogether: not enrolled anywhere.)
    role_before = set_enrollment_role(studio, "learner2", "instructor")
    try:
        assert LEARNER_GROUP in hub_groups(studio, token), "changed before any new login"
        _, token = fresh_login(studio, "learner2")
        groups = hub_groups(studio, token)
        assert LEARNER_GROUP not in groups, groups
        assert INSTRUCTOR_GROUP in groups, groups
    finally:
        set_enrollment_role(studio, "learner2", "learner", user_role=role_before)
        _, token = fresh_login(studio, "learner2")  # the hub's groups as they were
    groups = hub_groups(studio, token)
    assert LEARNER_GROUP in groups and INSTRUCTOR_GROUP not in groups, groups


# -- hub restart ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def restart_studio(tmp_path_factory, own_studio_factory):
    """A studio of this module's own: the restart test kills its hub."""
    with own_studio_factory(tmp_path_factory, RESTART_PREFIX, RESTART_PORTS) as own:
        yield own


def _proc(pid: int, name: str) -> list[str]:
    return Path(f"/proc/{pid}/{name}").read_bytes().decode().split("\0")[:-1]


def _started_at(name: str) -> str:
    result = subprocess.run(
        ["docker", "inspect", "-f", "{{.State.Running}} {{.State.StartedAt}}", name],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_hub_restart_keeps_running_servers_reachable(restart_studio):
    own = restart_studio
    studio = own.studio
    studio.login("admin", spawn=False)  # its API token is in the hub's database: survives
    session = studio.login("learner1")
    container = own.container_name("learner1")
    started = _started_at(container)
    assert started.startswith("true "), started

    hub_pid = int((studio.var_dir / "hub" / "jupyterhub.pid").read_text())
    command = _proc(hub_pid, "cmdline")
    env = dict(line.split("=", 1) for line in _proc(hub_pid, "environ") if "=" in line)
    assert "--JupyterHub.cleanup_servers=True" in command, command

    # the launcher stops the whole studio when a part stops: pause it, then kill the hub with no
    # chance to clean up (a crash). The proxy and the learner's container stay.
    os.kill(own.process.pid, signal.SIGSTOP)
    os.kill(hub_pid, signal.SIGKILL)
    wait_for(lambda: studio.hub_health() != 200, 30, "the hub did not go down")
    assert studio.server_status(session, "learner1") == 200, "the proxy stopped routing"

    # The hub again, as production runs it: servers are left alone at stop and start.
    command = [
        "--JupyterHub.cleanup_servers=False" if arg.startswith("--JupyterHub.cleanup_servers")
        else arg for arg in command
    ]
    with own.log.open("ab") as out:
        hub = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                               start_new_session=True)
    try:
        wait_for(lambda: studio.hub_health() == 200, HUB_START_SECONDS, "the hub did not start")
        wait_for(lambda: studio.server_status(session, "learner1") == 200, 60,
                 "learner1's server did not answer through the new hub's proxy")
        model = studio.api("admin", "GET", "/users/learner1").json()
        server = (model.get("servers") or {}).get("", {})
        assert server.get("ready"), model
        assert _started_at(container) == started, "the container was restarted"
    finally:
        if hub.poll() is None:
            hub.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                hub.wait(timeout=60)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(hub.pid, signal.SIGKILL)  # its proxy
        hub.wait()

