"""The tutor service behind a real JupyterHub, as its tests run it.

Shared by ``tests/integration/tutor`` and ``tests/security``: each folder's conftest.py imports
the fixtures below (so each folder gets its own, package-scoped) and starts its own hub and
tutors with :func:`tutor_hub` and :func:`start_tutor`:

- ``fake_model``: the local OpenAI-compatible endpoint (``tests/support/fake_openai.py``);
- ``fake_lms``: the LMS's assignments API (``tests/support/fake_lms.py``), each test starting
  from :func:`lms_defaults` (``fresh_fakes``, autouse);
- :class:`Tutor`: a running ``python -m tutor serve`` and how to call it through the hub's
  proxy (``/services/<name>/api``), as learners' servers do (the JupyterLab extension's
  handler, with the learner's own hub token); :class:`Asked`: what ``POST ask`` answered.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from courses.naming import course_roles
from tests.support.fake_lms import FakeLMS
from tests.support.fake_openai import FakeOpenAI
from tests.support.second_course import ASSIGNMENT as DA1
from tests.support.second_course import SLUG as DATA201
from tests.support.second_course import TITLE as DA1_TITLE
from tests.support.service_hub import (
    PYTHON,
    ROOT,
    Service,
    ServiceHub,
    clean_env,
    service_hub,
    start_process,
)

COURSE = "python-101"
METRICS_TOKEN = "tests-metrics-token-0123456789"  # every tutor started here: STUDIO_METRICS_TOKEN


def access(*names: str) -> list[str]:
    return [f"access:services!service={name}" for name in names]


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
    """Each test starts with the fakes' defaults: a harmless reply, the LMS's policies of
    :func:`lms_defaults`."""
    for name, reset in (("fake_model", lambda f: f.reset()), ("fake_lms", lms_defaults)):
        if name in request.fixturenames:
            reset(request.getfixturevalue(name))


def lms_defaults(lms: FakeLMS) -> None:
    """The LMS says what the course files say: python-101's problem sets ``full``,
    ``hints-only`` and ``off``; data-201's assignment ``full``."""
    lms.failing = lms.garbage = False
    lms.courses.clear()
    lms.set_policy(COURSE, "ps1-basics", "full", ["Multiply by nine fifths, then add 32."],
                   title="Problem set 1: Python basics")
    lms.set_policy(COURSE, "ps2-functions", "hints-only", ["Check the range first."],
                   title="Problem set 2: Functions")
    lms.set_policy(COURSE, "ps3-data-structures", "off", title="Problem set 3: Data structures")
    lms.set_policy(DATA201, DA1, "full", title=DA1_TITLE)


@contextlib.contextmanager
def tutor_hub(folder: Path, tutors: list[Service], groups: Mapping[str, list[str]],
              callers: Mapping[str, str]) -> Iterator[ServiceHub]:
    """A hub routing ``tutors``, with ``groups``: the members of every course group may use
    every tutor, and so may the token-only services ``callers`` (name -> token)."""
    names = [tutor.name for tutor in tutors]
    roles = [
        {"name": "tutor-users", "scopes": access(*names),
         "groups": [group for group in groups if course_roles([group])]},
        {"name": "tutor-callers", "scopes": access(*names), "services": list(callers)},
    ]
    with service_hub(folder, tutors, groups, roles, dict(callers)) as started:
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


def start_tutor(hub: ServiceHub, service: Service, folder: Path,
                courses: Path = ROOT / "courses", **env: str) -> Tutor:
    """``python -m tutor serve`` as the hub service ``service``, reading ``courses``."""
    environment = clean_env("TUTOR_", "OPENAI_", "LMS_", "STUDIO_")
    environment.update(hub.service_env(service))
    environment.update(STUDIO_VAR_DIR=str(folder), STUDIO_COURSES_DIR=str(courses),
                       TUTOR_TIMEOUT_SECONDS="3", TUTOR_UPSTREAM_RETRIES="0",
                       STUDIO_METRICS_TOKEN=METRICS_TOKEN, **env)
    process = start_process(
        [str(PYTHON), "-m", "tutor", "serve"], environment, folder / "tutor.log",
        f"{service.url}/services/{service.name}/api/health",
    )
    return Tutor(hub, service, folder, process)
