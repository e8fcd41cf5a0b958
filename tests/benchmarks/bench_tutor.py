"""What the tutor service adds to a model's latency: first token and whole reply, through the
tutor vs straight to the same OpenAI-compatible endpoint.

The endpoint is the tests' fake (``tests/support/fake_openai.py``) in a process of its own,
streaming a 40-piece reply at once, so what is measured is the path, not a model. Through the
tutor: ``POST ask`` with a learner's hub token, to the tutor's own port (where learners'
servers reach it, ``PLS_TUTOR_URL``) and, for comparison, through the hub's proxy; the tutor
checks the token (the hub's answer cached), reads the policy, trims, builds the prompt, asks the
endpoint with the ``openai`` client, runs every piece through the leak guard, streams events and
logs the exchange. Direct: the same request body the tutor sends, to the endpoint. Both are
read by the same client (``requests``, one kept-alive connection), 200 requests each after a
warm-up. Run with ``make bench``; it prints figures and asserts only that the requests worked.
Goal: overhead < 10 ms at p50.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
import requests

from tests.benchmarks.timing import percentile
from tests.support.fake_openai import API_KEY, MODEL
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

pytestmark = [pytest.mark.slow]

REQUESTS = 200
WARM_UP = 10
PIECES = 40
LEARNER = "benchlearner"
TUTOR = Service("tutor", "bench-tutor-service-token-0123456789")
ASK = {
    "mode": "hint", "course": "python-101", "assignment": "ps1-basics",
    "cell_id": "ps1-celsius-answer",
    "cell_source": "def celsius_to_fahrenheit(celsius):\n    raise NotImplementedError()",
    "context_markdown": "## Problem 1 — Temperature conversion\n\nWrite `celsius_to_fahrenheit`.",
}


@dataclass
class Sample:
    first: float
    total: float


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("fake-openai") / "fake.log"
    with log.open("wb") as out:
        process = subprocess.Popen([str(PYTHON), "-m", "tests.support.fake_openai", str(port),
                                    str(PIECES)], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            requests.post(f"{url}/chat/completions", timeout=2)
            break
        except requests.ConnectionError:
            time.sleep(0.1)
    yield url
    stop_process(process)


@pytest.fixture(scope="module")
def hub(tmp_path_factory) -> Iterator[ServiceHub]:
    groups = {"nbgrader-python-101": [LEARNER]}
    roles = [{"name": "tutor-users", "scopes": ["access:services!service=tutor"],
              "groups": list(groups)}]
    with service_hub(tmp_path_factory.mktemp("hub"), [TUTOR], groups, roles) as started:
        yield started


@pytest.fixture(scope="module")
def tutor(hub, endpoint, tmp_path_factory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("tutor")
    env = clean_env("TUTOR_", "OPENAI_", "LMS_", "STUDIO_")
    env.update(hub.service_env(TUTOR))
    env.update(STUDIO_VAR_DIR=str(folder), STUDIO_COURSES_DIR=str(ROOT / "courses"),
               OPENAI_API_KEY=API_KEY, OPENAI_BASE_URL=endpoint, TUTOR_MODEL=MODEL,
               TUTOR_RATE_PER_MINUTE="100000", TUTOR_DAILY_QUOTA="100000")
    process = start_process([str(PYTHON), "-m", "tutor", "serve"], env,
                            folder / "tutor.log", f"{TUTOR.url}/services/tutor/api/health")
    yield TUTOR.url
    stop_process(process)


def timed_stream(session: requests.Session, url: str, body: dict, headers: dict,
                 is_first: Callable[[bytes], bool]) -> Sample:
    start = time.perf_counter()
    first = None
    with session.post(url, json=body, headers=headers, stream=True, timeout=30) as response:
        assert response.status_code == 200, response.text
        for line in response.iter_lines():
            if first is None and line.startswith(b"data: ") and is_first(line[6:]):
                first = time.perf_counter() - start
        total = time.perf_counter() - start
    assert first is not None, "no content arrived"
    return Sample(first, total)


def openai_content(data: bytes) -> bool:
    if data == b"[DONE]":
        return False
    choices = json.loads(data)["choices"]
    return bool(choices and choices[0]["delta"].get("content"))


def tutor_delta(data: bytes) -> bool:
    event = json.loads(data)
    assert event["type"] != "error", event
    return event["type"] == "delta"


def run(call, count: int) -> list[Sample]:
    for _ in range(WARM_UP):
        call()
    return [call() for _ in range(count)]


def figures(samples: list[Sample]) -> dict[str, float]:
    firsts = [s.first * 1000 for s in samples]
    totals = [s.total * 1000 for s in samples]
    return {"first p50": statistics.median(firsts), "first p95": percentile(firsts, 95),
            "total p50": statistics.median(totals), "total p95": percentile(totals, 95)}


def test_tutor_overhead_over_a_direct_call(hub, endpoint, tutor):
    token = hub.token(LEARNER)
    tutor_headers = {"Authorization": f"token {token}"}
    direct_headers = {"Authorization": f"Bearer {API_KEY}"}
    from tutor.ask import parse
    from tutor.course_data import read_course
    from tutor.policy import from_course_file
    from tutor.prompts import messages

    ps1 = from_course_file(read_course(ROOT / "courses" / "python-101"))["ps1-basics"]
    direct_body = {"model": MODEL, "stream": True, "max_tokens": 800,
                   "messages": messages(parse(ASK), "full", ps1)}

    direct = requests.Session()
    through_port = requests.Session()
    through_proxy = requests.Session()
    results = {
        "direct to the endpoint": run(lambda: timed_stream(
            direct, f"{endpoint}/chat/completions", direct_body, direct_headers,
            openai_content), REQUESTS),
        "tutor (its port)": run(lambda: timed_stream(
            through_port, f"{tutor}/services/tutor/api/ask", ASK, tutor_headers, tutor_delta),
            REQUESTS),
        "tutor (hub proxy)": run(lambda: timed_stream(
            through_proxy, f"{hub.url}/services/tutor/api/ask", ASK, tutor_headers,
            tutor_delta), REQUESTS),
    }
    table = {name: figures(samples) for name, samples in results.items()}
    base = table["direct to the endpoint"]
    print(f"\n  Tutor latency: {REQUESTS} requests each, a {PIECES}-piece streamed reply, "
          "milliseconds")
    print(f"  {'path':<24} {'first p50':>10} {'first p95':>10} {'total p50':>10} "
          f"{'total p95':>10}")
    for name, row in table.items():
        print(f"  {name:<24} " + " ".join(f"{row[k]:>10.2f}" for k in row))
    for name in ("tutor (its port)", "tutor (hub proxy)"):
        row = table[name]
        print(f"  overhead of {name}: first token p50 {row['first p50'] - base['first p50']:+.2f}"
              f" ms (goal < 10), whole reply p50 {row['total p50'] - base['total p50']:+.2f} ms")
    assert all(len(samples) == REQUESTS for samples in results.values())
