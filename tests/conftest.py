"""Fixtures shared by every test: one per real component, built once and reused.

Under pytest-xdist (``make test`` runs ``-n 2 --dist loadgroup``) a worker takes whole groups.
The tests that share a folder's studio or hub carry that folder's ``xdist_group`` (the folder's
conftest.py gives it: ``hub-studio``, ``e2e-studio``, ``tutor-hub``), so it starts once; every
other test joins its module's group here, so a module's fixtures (a hub, a released course, a
browser) are set up once, in one worker. Nothing depends on the groups for being right: each
worker's studios, databases and temporary folders are its own (tests/support/studio.py,
pytest-django's per-worker database, pytest's per-worker ``tmp_path``); the groups only keep
a start-up from happening twice.

The browser fixtures (``browser``, ``context``, ``screenshot``) are here because two folders
drive Debian's Chromium: ``tests/e2e`` and ``tests/security``. The browser is
``/usr/bin/chromium`` (``.ci/provision browser`` installs it): Playwright never downloads one.
Each test gets a fresh browser context, so it starts signed in nowhere. Screenshots go to the
test's tmp dir; :func:`screenshot` also keeps each one in ``var/e2e/`` (gitignored,
:mod:`tests.support.screenshots`) so a person can look at them after the run, and the terminal
summary lists them.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from _pytest.nodeid import NodeId
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from tests.support.lms_databases import drop_postgresql_test_database, postgresql_test_database
from tests.support.screenshots import keep, kept_since

REPO_ROOT = Path(__file__).resolve().parent.parent
_started = pytest.StashKey[float]()
CHROMIUM = Path("/usr/bin/chromium")
# Headless, and nothing that phones home (the machines have no internet).
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]
VIEWPORT = {"width": 1366, "height": 900}
ACTION_MS = 30_000  # a click, a fill, a page of the LMS or the hub (2 cores, other tests beside)


def _xdist_group(item: pytest.Item) -> str:
    """The group pytest-xdist makes of an item's ``xdist_group`` marks (as it names it)."""
    names = {str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
             for mark in item.iter_markers("xdist_group")}
    return "_".join(sorted(names))


@pytest.hookimpl(wrapper=True)  # around pytest-xdist's own hook, which reads the groups
def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))
    result = yield
    # pytest-xdist 3.8 tells its scheduler an item's group as a suffix of the item's nodeid
    # ("<nodeid>@<group>"), written to a field pytest 9.2's structured node ids no longer read
    # (pytest-xdist issue 1386): every test would be scheduled on its own. Until a release
    # fixes it, the suffix goes where pytest 9.2 keeps the nodeid.
    if getattr(config.option, "loadgroup", False):
        for item in items:
            group = _xdist_group(item)
            if not item.nodeid.endswith(f"@{group}"):
                item._id = NodeId.parse(f"{item.nodeid}@{group}")
    return result


def pytest_sessionstart(session):
    session.config.stash[_started] = time.time()


def pytest_terminal_summary(terminalreporter, config):
    """The end-to-end screenshots this run kept (here: xdist workers report no summary)."""
    kept = kept_since(config.stash.get(_started, time.time()))
    if kept:
        terminalreporter.section("end-to-end screenshots")
        for path in kept:
            terminalreporter.write_line(str(path))


@pytest.fixture(scope="session")
def python101_dir() -> Path:
    """The real demo course folder (read-only: copy it with ``course_copy`` to change it)."""
    return REPO_ROOT / "courses" / "python-101"


@pytest.fixture
def course_copy(tmp_path, python101_dir) -> Path:
    """A writable copy of the demo course, for tests that break or edit it."""
    folder = tmp_path / "python-101"
    shutil.copytree(python101_dir, folder)
    return folder


@pytest.fixture
def edit_course_yml() -> Callable[[Path, Callable[[dict], object]], None]:
    """``edit(folder, change)``: load the folder's course.yml, apply ``change``, write it back."""

    def edit(folder: Path, change: Callable[[dict], object]) -> None:
        path = folder / "course.yml"
        data = yaml.safe_load(path.read_text())
        change(data)
        path.write_text(yaml.safe_dump(data, sort_keys=False))

    return edit


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, closed after each test module: Playwright's sync API keeps an
    asyncio loop running in the main thread while it is open, which would break every later
    test that calls ``asyncio.run``."""
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: run `.ci/provision browser`"
    # Playwright's assertions wait 5 s by default: too short for the LMS on a busy machine.
    expect.set_options(timeout=ACTION_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def context(browser) -> Iterator[BrowserContext]:
    """A fresh browser profile: no cookies, so the test starts signed in nowhere."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(ACTION_MS)
    yield context
    context.close()


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


@pytest.fixture(scope="session")
def django_db_setup(
    request,
    django_test_environment,
    django_db_blocker,
    django_db_use_migrations,
    django_db_keepdb,
    django_db_createdb,
    django_db_modify_db_settings,
):
    """pytest-django's test database (one per xdist worker), copied from a migrated template
    (:mod:`tests.support.lms_databases`) instead of migrated afresh, and dropped at the end.
    ``--reuse-db``, ``--no-migrations`` and databases other than PostgreSQL take
    pytest-django's own way."""
    from django.db import connections
    from pytest_django.fixtures import django_db_setup as pytest_djangos

    connection = connections["default"]
    templated = (connection.vendor == "postgresql" and django_db_use_migrations
                 and not (django_db_keepdb and not django_db_createdb))
    if not templated:
        yield from pytest_djangos.__wrapped__(
            request, django_test_environment, django_db_blocker, django_db_use_migrations,
            django_db_keepdb, django_db_createdb, django_db_modify_db_settings,
        )
        return
    serialize = any(marker.kwargs.get("serialized_rollback")
                    for item in request.session.items for marker in item.iter_markers("django_db"))
    with django_db_blocker.unblock():
        name = postgresql_test_database(connection, serialize=serialize)
    yield
    with django_db_blocker.unblock():
        drop_postgresql_test_database(connection, name)
