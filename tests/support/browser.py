"""Debian's Chromium driven by Playwright, for the tests that need a real browser (tests/e2e,
tests/security): the ``browser`` and ``context`` fixtures, which a folder's conftest.py imports.

The browser is ``/usr/bin/chromium`` (``.ci/provision browser`` installs it): Playwright never
downloads one. Each test gets a fresh browser context, so it starts signed in nowhere.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, expect, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
# Headless, and nothing that phones home (the machines have no internet).
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]
VIEWPORT = {"width": 1366, "height": 900}
ACTION_MS = 30_000  # a click, a fill, a page of the LMS or the hub (2 cores, other tests beside)


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
