"""A study group's shared workspace against the real hub (hub.workspaces), as the LMS drives it
with its hub service token: a member gets access when shared (grant on join), loses it when
revoked (revoke on leave), even with a tab open; a learner never shared gets none; the
workspace's own token has no right to the grader; and the workspace holds no member's files.

A studio of this module's own (``own_studio_factory``, Docker names under ``pls-test5``), with
the grader on (so the LMS's hub service, which alone may call the workspace endpoint, exists
and a grader is there to be refused).
"""

from __future__ import annotations

import json
import time

import pytest
import requests
from dockerspawner import DockerSpawner

from courses.naming import study_group_workspace_user
from tests.support.workspaces import HubWorkspaces
from tests.support.workspaces import workspace_status as shared_workspace_status

pytestmark = [pytest.mark.docker, pytest.mark.slow]

PREFIX = "pls-test5"
PORTS = {"lms": 18300, "hub": 18301, "proxy_api": 18302, "hub_api": 18381, "grader": 18310}
GROUP = 41
WORKSPACE = study_group_workspace_user(GROUP)
READY_SECONDS = 150
REVOKED_SECONDS = 60  # deadlines to wait for, never asserted as times
RESTARTED_SECONDS = 150


@pytest.fixture(scope="module")
def own(tmp_path_factory, own_studio_factory):
    with own_studio_factory(tmp_path_factory, PREFIX, PORTS, grader=True) as own:
        yield own


@pytest.fixture(scope="module")
def studio(own):
    return own.studio


@pytest.fixture(scope="module")
def lms(studio):
    """The hub's workspace endpoint for this module's group, as the LMS calls it."""
    workspaces = HubWorkspaces(studio)
    return lambda method, path, **kwargs: workspaces(method, GROUP, path, **kwargs)


def wait_for(predicate, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(1)
    raise AssertionError(f"not within {seconds} s: {what}")


def workspace_status(studio, session: requests.Session) -> int:
    return shared_workspace_status(studio, session, WORKSPACE)


def container_of(studio, username: str) -> dict:
    listed = studio.docker(
        "ps", "--filter", f"label=org.pythonlearningstudio.user={username}",
        "--format", "{{.Names}}",
    ).stdout.split()
    # this studio's only: studios of other test modules run learners of the same names
    mine = f"{studio.prefix}-{DockerSpawner._escape(username)}"
    names = [name for name in listed if name == mine]
    assert len(names) == 1, listed
    return studio.inspect(names[0])


@pytest.fixture(scope="module")
def shared(studio, lms):
    """learner1 in the group, the workspace started and answering learner1's session."""
    learner1 = studio.login("learner1")
    studio.login("learner2", spawn=False)
    granted = lms("PUT", "/members/learner1")
    assert granted.status_code == 200, granted.text
    assert granted.json()["members"] == ["learner1"]
    started = lms("POST", "/server")
    assert started.status_code == 200, started.text
    wait_for(lambda: workspace_status(studio, learner1) == 200, READY_SECONDS,
             "the shared workspace answers learner1")
    return learner1


def test_only_the_lms_may_call_the_workspace_endpoint(studio, shared):
    answer = studio.api("learner1", "PUT", f"/studio/workspaces/{GROUP}/members/learner2")
    assert answer.status_code == 403


def test_a_member_reaches_the_shared_workspace(studio, shared):
    assert workspace_status(studio, shared) == 200


def test_a_learner_never_shared_with_cannot_open_it(studio, shared):
    learner2 = studio.sessions["learner2"]
    assert workspace_status(studio, learner2) == 403


def test_the_workspace_has_its_own_volume_and_no_members_files(studio, shared):
    info = container_of(studio, WORKSPACE)
    mounts = info["Mounts"]
    volumes = [m["Name"] for m in mounts if m["Type"] == "volume"]
    # DockerSpawner escapes the name in the volume's ("-" is "-2d")
    assert len(volumes) == 1 and "studygroup" in volumes[0] and "learner1" not in volumes[0]
    assert [m for m in mounts if m["Type"] == "bind"] == []  # no materials, no assignments
    learner1_volume = [m["Name"] for m in container_of(studio, "learner1")["Mounts"]
                       if m["Type"] == "volume"]
    assert not set(learner1_volume) & set(volumes)


def test_the_workspace_has_no_right_to_the_grader(studio, shared):
    info = container_of(studio, WORKSPACE)
    token = studio.docker("exec", info["Name"].lstrip("/"), "printenv",
                          "JUPYTERHUB_API_TOKEN").stdout.strip()
    assert token
    model = requests.get(f"{studio.hub_url}/hub/api/user",
                         headers={"Authorization": f"token {token}"}, timeout=30).json()
    assert model["name"] == WORKSPACE
    assert not [s for s in model["scopes"] if s.startswith("access:services")], model["scopes"]
    assert not model.get("groups")
    grader = requests.get(f"{studio.hub_url}/services/grader/api/courses",
                          headers={"Authorization": f"token {token}"}, timeout=30,
                          allow_redirects=False)
    assert grader.status_code == 403, grader.text


def test_revoking_takes_the_workspace_from_an_open_session_at_once(studio, lms, shared):
    revoked = lms("DELETE", "/members/learner1")
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["members"] == []
    wait_for(lambda: workspace_status(studio, shared) != 200, REVOKED_SECONDS,
             "learner1's open session loses the workspace")
    # the workspace restarts (cutting open connections); back up, it still refuses learner1
    wait_for(lambda: lms("POST", "/server").json().get("ready"), RESTARTED_SECONDS,
             "the workspace is running again")
    assert workspace_status(studio, shared) == 403
    # learner1's own server is untouched
    assert studio.server_status(shared, "learner1") == 200
    # and the hub's sharing API lists nobody
    model = json.loads(lms("PUT", "/members", json={"members": []}).text)
    assert model["members"] == []
