"""The tutor service behind a real JupyterHub, against a local OpenAI-compatible endpoint.

One hub (``tests/support/service_hub.py``: DummyAuthenticator, the course groups the LMS would
mirror) routes three tutors, each a real ``python -m tutor serve`` process the fixtures
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

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.support.fake_lms import TOKEN as LMS_TOKEN
from tests.support.fake_lms import FakeLMS
from tests.support.fake_openai import API_KEY, MODEL, FakeOpenAI
from tests.support.service_hub import (
    PYTHON,
    ROOT,
    Service,
    ServiceHub,
    clean_env,
    free_port,
    service_hub,
    start_process,
    stop_process,
)

COURSE = "python-101"
GROUPS = {
    "nbgrader-python-101": ["grace", "linus", "mary", "quentin", "rosalind", "alan", "hedy"],
    "formgrade-python-101": ["ada"],
    "nbgrader-data-201": ["katherine"],
    "formgrade-data-201": ["barbara"],
    "visitors": ["outsider"],  # a hub user the hub gives no access to the tutor
}
LMS_SERVICE_TOKEN = "tests-lms-hub-service-token-0123456789"
OTHER_SERVICE_TOKEN = "tests-other-hub-service-token-0123456789"
METRICS_TOKEN = "tests-metrics-token-0123456789"  # STUDIO_METRICS_TOKEN of every tutor here
TUTORS = {
    "tutor": Service("tutor", "tutor-service-token-for-tests-0123456789"),
    "tutor-offline": Service("tutor-offline", "tutor-offline-token-for-tests-0123456789"),
    "tutor-limited": Service("tutor-limited", "tutor-limited-token-for-tests-0123456789"),
}


def access(*names: str) -> list[str]:
    return [f"access:services!service={name}" for name in names]


def pytest_itemcollected(item):
    if "hub" in item.fixturenames:
        item.add_marker(pytest.mark.xdist_group("tutor-hub"))


@pytest.fixture(scope="package")
def fake_model() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture(scope="package")
def fake_lms() -> Iterator[FakeLMS]:
    fake = FakeLMS().start()
    yield fake
    fake.stop()


@pytest.fixture(autouse=True)
def fresh_fakes(request):
    """Each test starts with the fakes' defaults: a harmless reply, course.yml's policies."""
    for name, reset in (("fake_model", lambda f: f.reset()), ("fake_lms", _lms_defaults)):
        if name in request.fixturenames:
            reset(request.getfixturevalue(name))


def _lms_defaults(lms: FakeLMS) -> None:
    lms.failing = lms.garbage = False
    lms.courses.clear()
    lms.set_policy(COURSE, "ps1-basics", "full", ["Multiply by nine fifths, then add 32."],
                   title="Problem set 1: Python basics")
    lms.set_policy(COURSE, "ps2-functions", "hints-only", ["Check the range first."],
                   title="Problem set 2: Functions")
    lms.set_policy(COURSE, "ps3-data-structures", "off", title="Problem set 3: Data structures")


@pytest.fixture(scope="package")
def hub(tmp_path_factory) -> Iterator[ServiceHub]:
    course_groups = [g for g in GROUPS if g != "visitors"]
    roles = [
        {"name": "tutor-users", "scopes": access(*TUTORS), "groups": course_groups},
        {"name": "tutor-callers", "scopes": access(*TUTORS), "services": ["lms", "other"]},
    ]
    with service_hub(tmp_path_factory.mktemp("hub"), list(TUTORS.values()), GROUPS, roles,
                     {"lms": LMS_SERVICE_TOKEN, "other": OTHER_SERVICE_TOKEN}) as started:
        yield started


@dataclass
class Tutor:
    """A running tutor and how to call it."""

    hub: ServiceHub
    service: Service
    var_dir: Path
    process: object

    @property
    def api(self) -> str:
        return f"{self.hub.url}/services/{self.service.name}/api"

    def call(self, user: str | None, method: str, path: str, token: str | None = None,
             **kwargs) -> requests.Response:
        headers = kwargs.pop("headers", {})
        token = token or (self.hub.token(user) if user else None)
        if token:
            headers["Authorization"] = f"token {token}"
        return requests.request(method, f"{self.api}/{path}", headers=headers, timeout=60,
                                allow_redirects=False, **kwargs)

    def ask(self, user: str, token: str | None = None, **body) -> Asked:
        body.setdefault("course", COURSE)
        response = self.call(user, "POST", "ask", token=token, json=body, stream=True)
        return Asked.of(response)

    def db_url(self) -> str:
        return f"sqlite:///{self.var_dir / 'tutor' / 'tutor.sqlite'}"

    def metrics(self, token: str = METRICS_TOKEN) -> requests.Response:
        """``GET metrics`` as Prometheus reads it: from the service itself, with the token."""
        return requests.get(f"{self.service.url}/services/{self.service.name}/metrics",
                            headers={"Authorization": f"Bearer {token}"}, timeout=30)


@dataclass
class Asked:
    """The answer to ``POST ask``: the events of a stream, or a JSON error."""

    status: int
    headers: requests.structures.CaseInsensitiveDict
    events: list[dict]
    error: dict | None

    @classmethod
    def of(cls, response: requests.Response) -> Asked:
        headers = response.headers
        if not response.headers.get("Content-Type", "").startswith("text/event-stream"):
            return cls(response.status_code, headers, [], response.json())
        events = [json.loads(line[len("data: "):]) for line in
                  response.iter_lines(decode_unicode=True) if line.startswith("data: ")]
        return cls(response.status_code, headers, events, None)

    @property
    def text(self) -> str:
        return "".join(e["text"] for e in self.events if e["type"] == "delta")

    @property
    def notices(self) -> list[str]:
        return [e["text"] for e in self.events if e["type"] == "notice"]

    @property
    def last(self) -> dict:
        return self.events[-1]


def start_tutor(hub: ServiceHub, service: Service, folder: Path, **env: str) -> Tutor:
    environment = clean_env("TUTOR_", "OPENAI_", "LMS_", "STUDIO_")
    environment.update(hub.service_env(service))
    environment.update(STUDIO_VAR_DIR=str(folder), STUDIO_COURSES_DIR=str(ROOT / "courses"),
                       TUTOR_TIMEOUT_SECONDS="3", TUTOR_UPSTREAM_RETRIES="0",
                       STUDIO_METRICS_TOKEN=METRICS_TOKEN, **env)
    process = start_process(
        [str(PYTHON), "-m", "tutor", "serve"], environment, folder / "tutor.log",
        f"{service.url}/services/{service.name}/api/health",
    )
    return Tutor(hub, service, folder, process)


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
