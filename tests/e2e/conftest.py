"""End-to-end fixtures: the whole studio and Debian's Chromium, driven by Playwright.

The studio is :func:`tests.support.studio.own_studio` under the ``pls-e2e`` prefix, on ports of
its own, so the browser tests run beside the hub integration tests and a developer's ``make up``.
It lives while this folder's tests run (package scope); the tests that use it are one
pytest-xdist group (``e2e-studio``, see tests/conftest.py), so it starts once. (The tutor's
journey asks for it by name, in its ``studio`` lab: its ``learner_lab`` counts.)
The browser is Debian's ``/usr/bin/chromium`` (``.ci/provision browser`` installs it), started by
the fixtures of tests/support/browser.py (shared with tests/security): Playwright never downloads
one. Each test gets a fresh browser context, so it starts signed in nowhere.

Screenshots go to the test's tmp dir; :func:`screenshot` also keeps each one in ``var/e2e/``
(gitignored, :mod:`tests.support.screenshots`) so a person can look at them after the run, and
the terminal summary lists them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.support.browser import browser, context  # noqa: F401 - fixtures of this folder
from tests.support.screenshots import keep
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


@pytest.fixture
def screenshot(request, tmp_path) -> Callable[[Page, str], Path]:
    """``screenshot(page, name)``: save the page under the test's tmp dir as ``<name>.png``,
    and a copy as ``var/e2e/<test name>-<name>.png`` (each step of a test is kept)."""

    def take(page: Page, name: str) -> Path:
        path = tmp_path / f"{name}.png"
        page.screenshot(path=str(path))
        kept = keep(path, request.node.name, name)
        print(f"screenshot: {path} (kept as {kept})")
        return path

    return take
