"""The security suite's fixtures.

The LMS's (people, courses, the OIDC provider and the hub's side of the sign-in) are written
once in tests/support/lms_fixtures.py, shared with tests/integration/lms; the browser fixtures
(Debian's Chromium, a fresh context per test) are tests/conftest.py's, shared with tests/e2e.

The studio (``test_origins.py``, ``test_internal_ports.py``): LMS + JupyterHub with the Docker
spawner, the grader (and its formgraders) and the tutor, as ``make up`` runs them
(:func:`tests.support.studio.own_studio`, Docker names under ``pls-sec``, ports of its own),
started once for this folder: it lives while this folder's tests run (package scope), and the
tests that use it are one pytest-xdist group (``security-studio``). learner1's server is started
before the tests that visit it.

The tutor's policy (``test_tutor_policy.py``): a hub (``tests/support/tutor_service.py``)
routing one tutor with a key, which asks the fake model and reads its policies from the fake
LMS at every request, over two courses: the demo course ``python-101`` (problem sets ``full``,
``hints-only`` and ``off``) and ``data-201`` (``tests/support/second_course.py``, one ``full``
assignment). Its learners: ``mallory`` in python-101, ``dana`` in data-201, ``eve`` in both.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from tests.support import tutor_service
from tests.support.fake_lms import TOKEN as LMS_TOKEN
from tests.support.fake_openai import API_KEY, MODEL
from tests.support.lms_fixtures import *  # noqa: F403
from tests.support.second_course import courses_with_a_second_course
from tests.support.service_hub import Service, ServiceHub, stop_process
from tests.support.studio import OwnStudio, Studio, own_studio
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
SECURITY_PREFIX = "pls-sec"
SECURITY_PORTS = {"lms": 18900, "hub": 18901, "proxy_api": 18902, "hub_api": 18981,
                  "grader": 18910, "tutor": 18920}


def pytest_itemcollected(item):
    if "policy_hub" in item.fixturenames:
        item.add_marker(pytest.mark.xdist_group("security-tutor-hub"))
    if {"studio", "security_studio"} & set(item.fixturenames):
        item.add_marker(pytest.mark.xdist_group("security-studio"))


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
