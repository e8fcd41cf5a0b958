"""The LMS's fixtures, shared with tests/security: written once in tests/support/lms_fixtures.py;
and the accessibility checks' browser tab (tests/support/axe.py)."""

import pytest

from tests.conftest import ACTION_MS, VIEWPORT
from tests.support.axe import new_tab
from tests.support.lms_fixtures import *  # noqa: F403


@pytest.fixture
def tab(browser):
    """A page whose content security policy does not stop the injected axe-core script."""
    page = new_tab(browser, VIEWPORT, ACTION_MS)
    yield page
    page.context.close()


@pytest.fixture(scope="module")
def orm_beside_the_browser():
    """Playwright's sync API keeps an event loop running in the test's thread; the browser tests
    call the ORM only between browser steps, never from the loop."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield
