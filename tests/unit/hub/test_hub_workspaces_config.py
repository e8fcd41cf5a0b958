"""The study groups' workspaces on the hub (hub.workspaces): the LMS's hub service alone gets
the workspace endpoint's custom scope, the endpoint is mounted under the hub's API, a
workspace's server trusts a visitor's token for seconds only, and nobody signs in as a
workspace's user."""

from __future__ import annotations

import asyncio

import pytest
from jupyterhub.scopes import _check_scopes_exist
from traitlets.config import Config

from courses.naming import study_group_workspace_user
from hub.authenticator import StudioAuthenticator
from hub.config import configure
from hub.spawners import StudioDockerSpawner
from hub.workspaces import SCOPE, WorkspaceMemberHandler, WorkspaceServerHandler
from tests.unit.hub.conftest import notebook_gateway


def configured(environ):
    return configure(Config(), environ, probe=lambda: False, gateway=notebook_gateway)


def test_only_the_lms_service_may_share_workspaces(environ):
    c = configured(environ)
    holders = [role for role in c.JupyterHub.load_roles if SCOPE in role["scopes"]]
    assert holders == [{"name": "lms-workspaces", "description": holders[0]["description"],
                        "scopes": [SCOPE], "services": ["lms"]}]
    assert SCOPE in c.JupyterHub.custom_scopes


def test_the_workspace_scope_is_one_jupyterhub_accepts(environ):
    from jupyterhub import scopes

    c = configured(environ)
    scopes.define_custom_scopes(c.JupyterHub.custom_scopes)
    try:
        _check_scopes_exist([SCOPE])
    finally:
        scopes.scope_definitions.pop(SCOPE, None)


def test_the_workspace_endpoint_is_mounted_under_the_hubs_api(environ):
    c = configured(environ)
    routes = dict(c.JupyterHub.extra_handlers)
    assert routes[r"/api/studio/workspaces/(\d+)/members/([^/]+)"] is WorkspaceMemberHandler
    assert routes[r"/api/studio/workspaces/(\d+)/server"] is WorkspaceServerHandler


def test_no_lms_service_no_workspaces(environ):
    environ |= {"HUB_GRADER": "off", "HUB_TUTOR": "off"}
    c = configured(environ)
    assert "extra_handlers" not in c.JupyterHub
    assert "lms-workspaces" not in {role["name"] for role in c.JupyterHub.load_roles}


class _User:
    def __init__(self, name):
        self.name = name
        self.groups = []
        self.admin = False
        self.url = f"/user/{name}/"
        self.id = 1


@pytest.mark.parametrize(("name", "cached"), [(study_group_workspace_user(7), True),
                                               ("learner1", False)])
def test_a_workspace_trusts_a_visitors_token_for_seconds_only(name, cached):
    spawner = StudioDockerSpawner(user=_User(name))
    args = spawner.get_args()
    assert ("--HubOAuth.cache_max_age=5" in args) == cached


def test_a_workspace_gets_the_learner_profile_and_no_course_materials(tmp_path):
    spawner = StudioDockerSpawner(user=_User(study_group_workspace_user(7)),
                                  courses_dir=str(tmp_path))
    plan = spawner.spawn_plan()
    assert plan.profile.name == "learner"
    assert plan.courses == () and plan.materials == ()


def test_nobody_signs_in_as_a_workspaces_user():
    authenticator = StudioAuthenticator(lms_public_url="http://lms")
    model = {"name": study_group_workspace_user(7), "admin": False,
             "groups": ["nbgrader-python-101"]}
    assert asyncio.run(authenticator.check_allowed(model["name"], model)) is False
