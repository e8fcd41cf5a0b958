"""The formgrader of each course as a hub service: who may open it, its port, how it starts."""

from __future__ import annotations

import sys

import pytest
from jupyterhub.scopes import _check_scopes_exist
from traitlets.config import Config

from hub.config import configure
from tests.unit.hub.conftest import notebook_gateway

MINIMAL_COURSE = "slug: {slug}\ntitle: {slug}\nsummary: A course.\nlessons: []\nassignments: []\n"


def configured(environ) -> Config:
    return configure(Config(), environ, probe=lambda: False)


def services_by_name(c) -> dict[str, dict]:
    return {service["name"]: service for service in c.JupyterHub.services}


def roles_by_name(c) -> dict[str, dict]:
    return {role["name"]: role for role in c.JupyterHub.load_roles}


@pytest.fixture
def two_courses(environ, tmp_path) -> dict[str, str]:
    """A course folder with data-201 and python-101 (only their course.yml)."""
    root = tmp_path / "courses"
    for slug in ("python-101", "data-201"):
        (root / slug).mkdir(parents=True)
        (root / slug / "course.yml").write_text(MINIMAL_COURSE.format(slug=slug))
    return environ | {"STUDIO_COURSES_DIR": str(root)}


def test_a_managed_grader_brings_one_formgrader_per_course_started_by_the_hub(environ):
    services = services_by_name(configured(environ))
    formgrader = services["formgrader-python-101"]
    assert formgrader["command"] == [sys.executable, "-m", "grading", "formgrader", "python-101"]
    assert formgrader["url"] == "http://127.0.0.1:10110"  # loopback: only the proxy reaches it
    assert formgrader["oauth_no_confirm"] is True
    assert formgrader.get("display", True) is True  # the hub's menu shows it to those allowed


def test_only_the_courses_instructors_may_open_its_formgrader(environ):
    role = roles_by_name(configured(environ))["formgrader-python-101"]
    assert role["scopes"] == ["access:services!service=formgrader-python-101"]
    assert role["groups"] == ["formgrade-python-101"]
    assert "users" not in role and "services" not in role
    _check_scopes_exist(role["scopes"])


def test_no_other_role_grants_a_formgrader(environ):
    c = configured(environ)
    granting = [name for name, role in roles_by_name(c).items()
                if any("formgrader" in scope for scope in role.get("scopes", []))]
    assert granting == ["formgrader-python-101"]
    assert not any("formgrader" in s for s in c.Spawner.server_token_scopes)  # not for servers


def test_each_course_has_a_formgrader_and_a_port_of_its_own_in_slug_order(two_courses):
    c = configured(two_courses)
    services = services_by_name(c)
    assert services["formgrader-data-201"]["url"] == "http://127.0.0.1:10110"
    assert services["formgrader-python-101"]["url"] == "http://127.0.0.1:10111"
    roles = roles_by_name(c)
    assert roles["formgrader-data-201"]["groups"] == ["formgrade-data-201"]
    assert roles["formgrader-python-101"]["groups"] == ["formgrade-python-101"]


def test_the_first_formgrader_port_and_the_url_come_from_the_environment(two_courses):
    two_courses |= {"HUB_FORMGRADER_PORT": "19710",
                    "HUB_FORMGRADER_URL": "http://grader-host:{port}"}
    services = services_by_name(configured(two_courses))
    assert services["formgrader-data-201"]["url"] == "http://grader-host:19710"
    assert services["formgrader-python-101"]["url"] == "http://grader-host:19711"


def test_a_formgrader_gets_the_graders_folders_but_not_the_lms_token(environ, tmp_path):
    environ |= {"LMS_GRADER_TOKEN_FILE": "/run/token", "GRADER_ROOT": "/srv/grader",
                "GRADER_BIND_URL": "http://0.0.0.0:10101", "HUB_OAUTH_CLIENT_SECRET": "hub's"}
    env = services_by_name(configured(environ))["formgrader-python-101"]["environment"]
    assert env["STUDIO_VAR_DIR"] == str(tmp_path / "var")
    assert env["STUDIO_COURSES_DIR"] == environ["STUDIO_COURSES_DIR"]
    assert env["GRADER_ROOT"] == "/srv/grader"  # the grader's course directories
    assert not [key for key in env if key.startswith(("LMS_", "HUB_"))]
    assert "GRADER_BIND_URL" not in env  # it listens at its service URL


def test_with_docker_the_formgrader_still_listens_on_loopback(environ):
    environ["HUB_SPAWNER"] = "docker"
    c = configure(Config(), environ, probe=lambda: True, gateway=notebook_gateway)
    formgrader = services_by_name(c)["formgrader-python-101"]
    assert formgrader["url"] == "http://127.0.0.1:10110"
    assert "GRADER_BIND_URL" not in formgrader["environment"]


def test_an_external_grader_leaves_the_formgraders_to_run_beside_it(environ):
    environ |= {"HUB_GRADER": "external", "HUB_GRADER_URL": "http://grader:10101",
                "HUB_FORMGRADER_URL": "http://grader:{port}"}
    formgrader = services_by_name(configured(environ))["formgrader-python-101"]
    assert formgrader["url"] == "http://grader:10110"
    assert "command" not in formgrader and "environment" not in formgrader


def test_without_a_grader_there_is_no_formgrader(environ):
    environ["HUB_GRADER"] = "off"
    c = configured(environ)
    assert not [name for name in services_by_name(c) if name.startswith("formgrader-")]
    assert not [name for name in roles_by_name(c) if name.startswith("formgrader-")]


def test_every_service_the_hub_starts_gets_minutes_to_answer_not_jupyterhubs_30_s(environ):
    """A managed service that does not answer in time stops the whole hub: a formgrader took
    32 s to start on a loaded machine."""
    services = configured(environ).JupyterHub.services
    managed = [s for s in services if "command" in s and "url" in s]  # the culler has no URL

    assert {s["name"] for s in managed} >= {"grader", "formgrader-python-101"}
    assert all(s["timeout"] >= 120 for s in managed), managed
