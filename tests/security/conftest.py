"""The security suite's fixtures.

The LMS's (people, courses, the OIDC provider and the hub's side of the sign-in) and Debian's
Chromium are written once in tests/support and shared with tests/integration/lms and tests/e2e.

The tutor's policy (``test_tutor_policy.py``): a hub (``tests/support/tutor_service.py``)
routing one tutor with a key, which asks the fake model and reads its policies from the fake
LMS at every request, over two courses: the demo course ``python-101`` (problem sets ``full``,
``hints-only`` and ``off``) and ``data-201`` (``tests/support/second_course.py``, one ``full``
assignment). Its learners: ``mallory`` in python-101, ``dana`` in data-201, ``eve`` in both.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import tutor_service
from tests.support.browser import browser, context  # noqa: F401 - fixtures of this folder
from tests.support.fake_lms import TOKEN as LMS_TOKEN
from tests.support.fake_openai import API_KEY, MODEL
from tests.support.lms_fixtures import *  # noqa: F403
from tests.support.second_course import courses_with_a_second_course
from tests.support.service_hub import Service, ServiceHub, stop_process
from tests.support.tutor_service import Tutor, start_tutor, tutor_hub

# The shared fixtures (tests/support/tutor_service.py), this folder's own instances.
fake_model = tutor_service.fake_model
fake_lms = tutor_service.fake_lms
fresh_fakes = tutor_service.fresh_fakes

LEARNERS = {
    "nbgrader-python-101": ["mallory", "eve"],
    "nbgrader-data-201": ["dana", "eve"],
}
POLICY_TUTOR = Service("tutor-policy", "tutor-policy-token-for-tests-0123456789")


def pytest_itemcollected(item):
    if "policy_hub" in item.fixturenames:
        item.add_marker(pytest.mark.xdist_group("security-tutor-hub"))


@pytest.fixture(scope="package")
def policy_hub(tmp_path_factory) -> Iterator[ServiceHub]:
    with tutor_hub(tmp_path_factory.mktemp("policy-hub"), [POLICY_TUTOR], LEARNERS,
                   {}) as started:
        yield started


@pytest.fixture(scope="package")
def policy_tutor(policy_hub, fake_model, fake_lms, tmp_path_factory) -> Iterator[Tutor]:
    courses = courses_with_a_second_course(tmp_path_factory.mktemp("two-courses"))
    started = start_tutor(
        policy_hub, POLICY_TUTOR, tmp_path_factory.mktemp("tutor-policy"), courses,
        OPENAI_API_KEY=API_KEY, OPENAI_BASE_URL=fake_model.url, TUTOR_MODEL=MODEL,
        LMS_INTERNAL_URL=fake_lms.url, LMS_TUTOR_TOKEN=LMS_TOKEN, TUTOR_POLICY_SECONDS="0",
        TUTOR_RATE_PER_MINUTE="1000", TUTOR_DAILY_QUOTA="10000",
    )
    yield started
    stop_process(started.process)
