"""The security suite's fixtures: the LMS's (people, courses, the OIDC provider and the hub's
side of the sign-in) and Debian's Chromium, each written once in tests/support and shared with
tests/integration/lms and tests/e2e."""

from tests.support.browser import browser, context  # noqa: F401 - fixtures of this folder
from tests.support.lms_fixtures import *  # noqa: F403
