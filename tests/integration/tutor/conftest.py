"""The tutor service behind a real JupyterHub, against a local OpenAI-compatible endpoint.

One hub (``tests/support/tutor_service.py``: DummyAuthenticator, the course groups the LMS
would mirror) routes three tutors, each a real ``python -m tutor serve`` process the fixtures
start:

- ``tutor``: with a key, asking the fake model (``tests/support/fake_openai.py``) and reading
  policies from a fake LMS (``tests/support/fake_lms.py``) at every request
  (``TUTOR_POLICY_SECONDS=0``); generous limits; the ``lms`` service trusted;
- ``tutor-offline``: no key; its LMS never answers, so ``course.yml`` decides the policies;
- ``tutor-limited``: a key, 3 requests a minute and 5 a day.

Requests go through the hub's proxy (``/services/<name>/api``), as learners' servers send them
(the JupyterLab extension's handler, with the learner's own hub token). The hub, the tutors and
the fakes live while this folder's tests run (package scope), not through the whole run; the
tests that use them are one pytest-xdist group (``tutor-hub``, see tests/conftest.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import tutor_service
from tests.support.fake_lms import TOKEN as LMS_TOKEN
from tests.support.fake_openai import API_KEY, MODEL
from tests.support.service_hub import Service, ServiceHub, free_port, stop_process
from tests.support.tutor_service import Tutor, start_tutor, tutor_hub

# The shared fixtures (tests/support/tutor_service.py), this folder's own instances.
fake_model = tutor_service.fake_model
fake_lms = tutor_service.fake_lms
fresh_fakes = tutor_service.fresh_fakes

GROUPS = {
    "nbgrader-python-101": ["grace", "linus", "mary", "quentin", "rosalind", "alan", "hedy"],
    "formgrade-python-101": ["ada"],
    "nbgrader-data-201": ["katherine"],
    "formgrade-data-201": ["barbara"],
    "visitors": ["outsider"],  # a hub user the hub gives no access to the tutor
}
LMS_SERVICE_TOKEN = "tests-lms-hub-service-token-0123456789"
OTHER_SERVICE_TOKEN = "tests-other-hub-service-token-0123456789"
TUTORS = {
    "tutor": Service("tutor", "tutor-service-token-for-tests-0123456789"),
    "tutor-offline": Service("tutor-offline", "tutor-offline-token-for-tests-0123456789"),
    "tutor-limited": Service("tutor-limited", "tutor-limited-token-for-tests-0123456789"),
}


def pytest_itemcollected(item):
    if "hub" in item.fixturenames:
        item.add_marker(pytest.mark.xdist_group("tutor-hub"))


@pytest.fixture(scope="package")
def hub(tmp_path_factory) -> Iterator[ServiceHub]:
    with tutor_hub(tmp_path_factory.mktemp("hub"), list(TUTORS.values()), GROUPS,
                   {"lms": LMS_SERVICE_TOKEN, "other": OTHER_SERVICE_TOKEN}) as started:
        yield started


@pytest.fixture(scope="package")
def tutor(hub, fake_model, fake_lms, tmp_path_factory) -> Iterator[Tutor]:
    started = start_tutor(
        hub, TUTORS["tutor"], tmp_path_factory.mktemp("tutor"),
        OPENAI_API_KEY=API_KEY, OPENAI_BASE_URL=fake_model.url, TUTOR_MODEL=MODEL,
        LMS_INTERNAL_URL=fake_lms.url, LMS_TUTOR_TOKEN=LMS_TOKEN, TUTOR_POLICY_SECONDS="0",
        TUTOR_RATE_PER_MINUTE="1000", TUTOR_DAILY_QUOTA="10000",
    )
    yield started
    stop_process(started.process)


@pytest.fixture(scope="package")
def offline_tutor(hub, tmp_path_factory) -> Iterator[Tutor]:
    started = start_tutor(
        hub, TUTORS["tutor-offline"], tmp_path_factory.mktemp("tutor-offline"),
        LMS_INTERNAL_URL=f"http://127.0.0.1:{free_port()}", LMS_TUTOR_TOKEN=LMS_TOKEN,
        TUTOR_LMS_TIMEOUT_SECONDS="1", TUTOR_RATE_PER_MINUTE="1000", TUTOR_DAILY_QUOTA="10000",
    )
    yield started
    stop_process(started.process)


@pytest.fixture(scope="package")
def limited_tutor(hub, fake_model, tmp_path_factory) -> Iterator[Tutor]:
    started = start_tutor(
        hub, TUTORS["tutor-limited"], tmp_path_factory.mktemp("tutor-limited"),
        OPENAI_API_KEY=API_KEY, OPENAI_BASE_URL=fake_model.url, TUTOR_MODEL=MODEL,
        TUTOR_RATE_PER_MINUTE="3", TUTOR_DAILY_QUOTA="5",
    )
    yield started
    stop_process(started.process)
