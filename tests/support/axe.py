"""axe-core in a real browser, for the accessibility checks of the LMS's pages: where the npm
package lies (``.ci/provision browser`` keeps it in ``var/axe/``), a browser tab whose content
security policy lets the injected script run, signing in through the LMS's login form, and the
page's serious and critical violations, one line each, for each of a list of pages (each kept as
a screenshot)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from tests.support.lms_factories import PASSWORD

AXE = Path(__file__).resolve().parents[2] / "var/axe/node_modules/axe-core/axe.min.js"
SERIOUS = {"serious", "critical"}

# A module of such checks: a browser test, slow, on a live server's database (so transactional),
# with Wagtail's page tree and the ORM allowed beside Playwright's loop
# (tests/integration/lms/conftest.py).
LIVE_PAGE_CHECKS = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("wagtail_initial_tree", "orm_beside_the_browser"),
]


def new_tab(browser: Browser, viewport: dict, timeout_ms: int) -> Page:
    """A page in a new context that bypasses the content security policy, so the injected
    axe-core script runs (close it with ``page.context.close()``)."""
    assert AXE.exists(), f"{AXE} is missing: run `.ci/provision browser`"
    context = browser.new_context(viewport=viewport, bypass_csp=True)
    context.set_default_timeout(timeout_ms)
    return context.new_page()


def sign_in(page: Page, base: str, username: str) -> None:
    """Sign in through the LMS's login form (every factory user's password is ``PASSWORD``)."""
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/dashboard/")


def serious_violations(page: Page) -> list[str]:
    """axe-core's serious and critical violations on the page, one line each."""
    page.add_script_tag(path=str(AXE))
    found = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(str(node["target"]) for node in v["nodes"][:3])
        for v in found["violations"]
        if v["impact"] in SERIOUS
    ]


def pages_violations(
    page: Page, screenshot: Callable[[Page, str], Path], base: str, pages: dict[str, str],
    prepare: Callable[[str, Page], None] | None = None,
) -> dict[str, list[str]]:
    """Open each of ``pages`` (a name and a path below ``base``), which must answer 200, let
    ``prepare(name, page)`` fill in what the page should show, keep a screenshot named after it
    (tests/conftest.py's ``screenshot``), and gather its serious and critical violations by
    name: ``{}`` when every page is clean."""
    found = {}
    for name, path in pages.items():
        response = page.goto(base + path)
        assert response is not None and response.status == 200, path
        if prepare is not None:
            prepare(name, page)
        screenshot(page, name.replace(" ", "-"))
        if violations := serious_violations(page):
            found[name] = violations
    return found
