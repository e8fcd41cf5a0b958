"""End-to-end fixtures: the whole studio and Debian's Chromium, driven by Playwright.

The studio is :func:`tests.support.studio.own_studio` under the ``pls-e2e`` prefix, on ports of
its own, so the browser tests run beside the hub integration tests and a developer's ``make up``.
It lives while this folder's tests run (package scope); the tests that use it are one
pytest-xdist group (``e2e-studio``, see tests/conftest.py), so it starts once. (The tutor's
journey asks for it by name, in its ``studio`` lab: its ``learner_lab`` counts.)

The browser fixtures (Debian's Chromium, a fresh context per test, screenshots) are in
tests/conftest.py, shared with tests/security.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.studio import OwnStudio, Studio, own_studio

E2E_PREFIX = "pls-e2e"
E2E_PORTS = {"lms": 18500, "hub": 18501, "proxy_api": 18502, "hub_api": 18581, "grader": 18510,
             "tutor": 18520}


def pytest_itemcollected(item):
    if {"studio", "e2e_studio", "learner_lab"} & set(item.fixturenames):
        item.add_marker(pytest.mark.xdist_group("e2e-studio"))


@pytest.fixture(scope="package")
def e2e_studio(tmp_path_factory) -> Iterator[OwnStudio]:
    """LMS + JupyterHub with the Docker spawner, the grader and the tutor, as ``make up`` runs
    them; containers and volumes under ``pls-e2e-`` are removed afterwards. One grading worker,
    whatever the machine: the grading status test (test_grading_status.py) builds a queue."""
    with own_studio(tmp_path_factory, E2E_PREFIX, E2E_PORTS, grader=True, tutor=True,
                    GRADER_WORKERS="1") as own:
        yield own


@pytest.fixture(scope="package")
def studio(e2e_studio) -> Studio:
    """The studio's URLs and the demo users' passwords."""
    return e2e_studio.studio
