"""The LMS's fixtures, shared with tests/security: written once in tests/support/lms_fixtures.py."""

from tests.support.lms_fixtures import *  # noqa: F403
