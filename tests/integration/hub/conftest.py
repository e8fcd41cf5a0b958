"""The real studio (LMS + JupyterHub with the Docker spawner), started once for this folder.

The harness is :mod:`tests.support.studio`; this file only makes fixtures of it. The studio lives
while this folder's tests run (package scope), not through the whole run; the tests that use it
are one pytest-xdist group (``hub-studio``, see tests/conftest.py), so it starts once. Its learner
containers are named ``pls-test-<user>`` on the ``pls-test-notebooks`` network (with a worker's
suffix under xdist); stopping it must leave no learner container behind. Tests that stop parts of
a studio start one of their own with ``own_studio_factory`` (another prefix, other ports).
"""

from __future__ import annotations

import pytest
import requests

from tests.support.studio import CONTAINER_PREFIX, PREFERRED_PORTS, Studio, own_studio


def pytest_itemcollected(item):
    if "studio" in item.fixturenames:
        item.add_marker(pytest.mark.xdist_group("hub-studio"))


@pytest.fixture(scope="package")
def studio(tmp_path_factory) -> Studio:
    """The whole studio, Docker spawner, on a temporary var dir and ports of its own; stopping
    it must leave no learner container behind."""
    with own_studio(
        tmp_path_factory, CONTAINER_PREFIX, PREFERRED_PORTS, expect_clean_stop=True
    ) as own:
        yield own.studio


@pytest.fixture(scope="package")
def learner1(studio) -> requests.Session:
    return studio.login("learner1")


@pytest.fixture(scope="package")
def learner2(studio) -> requests.Session:
    return studio.login("learner2")


@pytest.fixture(scope="session")
def own_studio_factory():
    """``own_studio`` (:mod:`tests.support.studio`) as a fixture."""
    return own_studio
