"""The security suite's studio: LMS + JupyterHub with the Docker spawner, the grader (and its
formgraders) and the tutor, as ``make up`` runs them (:func:`tests.support.studio.own_studio`,
Docker names under ``pls-sec``, ports of its own), started once for this folder.

It lives while this folder's tests run (package scope); the tests that use it are one
pytest-xdist group (``security-studio``, see tests/conftest.py), so it starts once. The browser
fixtures (Debian's Chromium, a fresh context per test) are tests/conftest.py's, shared with
tests/e2e. learner1's server is started before the tests that visit it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from tests.support.studio import OwnStudio, Studio, own_studio

SECURITY_PREFIX = "pls-sec"
SECURITY_PORTS = {"lms": 18900, "hub": 18901, "proxy_api": 18902, "hub_api": 18981,
                  "grader": 18910, "tutor": 18920}


def pytest_itemcollected(item):
    if {"studio", "security_studio"} & set(item.fixturenames):
        item.add_marker(pytest.mark.xdist_group("security-studio"))


@pytest.fixture(scope="package")
def security_studio(tmp_path_factory) -> Iterator[OwnStudio]:
    """The whole studio with the grader (one worker: nothing is graded here) and the tutor
    (offline); its containers, volumes and network are removed afterwards."""
    with own_studio(tmp_path_factory, SECURITY_PREFIX, SECURITY_PORTS, grader=True, tutor=True,
                    GRADER_WORKERS="1") as own:
        yield own


@pytest.fixture(scope="package")
def studio(security_studio) -> Studio:
    return security_studio.studio


@pytest.fixture(scope="package")
def learner1(studio) -> requests.Session:
    """learner1 signed in (the hub knows their course groups) with their server running."""
    return studio.login("learner1")
