"""Fakes for the hub's unit tests: users, the Hub object and the environment.

No Docker engine, no running hub, no LMS: spawners are built the way dockerspawner's and
JupyterHub's own tests build them (a user object and a ``Hub``), and docker calls go to a fake.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from jupyterhub.objects import Hub

REPO = Path(__file__).resolve().parents[3]
COURSES = REPO / "courses"
NOTEBOOK_GATEWAY = "172.30.0.1"  # the notebook network's gateway the fake engine answers


def notebook_gateway(settings) -> str:
    """``configure(..., gateway=)`` without a Docker engine: the notebook network's gateway."""
    return NOTEBOOK_GATEWAY


class FakeUser:
    """What a spawner reads from JupyterHub's User: name, url, groups, admin."""

    def __init__(self, name: str, groups=(), admin: bool = False) -> None:
        self.name = name
        self.escaped_name = name
        self.url = f"/user/{name}/"
        self.groups = [SimpleNamespace(name=group) for group in groups]
        self.admin = admin
        self.settings = {}


@pytest.fixture
def make_user():
    return FakeUser


@pytest.fixture
def hub():
    return Hub(ip="127.0.0.1", port=8081, base_url="/hub/")


@pytest.fixture
def environ(tmp_path):
    """A clean hub environment: var/ in a temporary folder, the real course folders."""
    return {"STUDIO_VAR_DIR": str(tmp_path / "var"), "STUDIO_COURSES_DIR": str(COURSES)}
