"""The tutor's metrics (``tutor.metrics``) as Prometheus reads them from ``/metrics``: what it
admitted, refused and failed to answer, and how long the first token took. The tutors of this
folder live through its tests, so each test compares what it did with the counts before."""

from __future__ import annotations

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.support.assignments import solutions
from tests.support.notebook_requests import notebook_of

pytestmark = [pytest.mark.slow]

CELSIUS_CELL = "def celsius_to_fahrenheit(celsius):\n    raise NotImplementedError()"
HINT = {"mode": "hint", "assignment": "ps1-basics", "cell_id": "ps1-celsius-answer",
        "cell_source": CELSIUS_CELL}
# Asked from ps1-basics' notebook, whose ids the extension sends (the tutor places it by them).
CHAT = {"mode": "chat", "assignment": "ps1-basics", "question": "What is a loop?",
        **notebook_of("ps1-basics")}


def counts(tutor) -> dict[tuple, float]:
    answer = tutor.metrics()
    assert answer.status_code == 200, answer.text
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(answer.text)
            for sample in family.samples}


def moved(before: dict, after: dict, name: str, **labels: str) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


def test_an_answered_request_and_its_first_token_are_counted(tutor, fake_model):
    before = counts(tutor)
    assert tutor.ask("grace", **HINT).last["type"] == "done"
    after = counts(tutor)
    assert moved(before, after, "tutor_requests_total", mode="hint", policy="full") == 1
    assert moved(before, after, "tutor_first_token_seconds_count", source="model") == 1
    assert after[("tutor_first_token_seconds_sum", (("source", "model"),))] > 0


def test_a_policy_refusal_and_a_stopped_leak_are_counted_by_reason_and_policy(tutor, fake_model):
    before = counts(tutor)
    assert tutor.ask("grace", mode="chat", assignment="ps3-data-structures",
                     question="hm?").status == 403
    solution = solutions("python-101", "ps1-basics")["ps1-celsius-answer"]
    fake_model.answer("reply", text=f"Here you go:\n```python\n{solution}\n```")
    assert tutor.ask("grace", **HINT).last["refused"] is True
    after = counts(tutor)
    assert moved(before, after, "tutor_refusals_total", reason="tutor-off", policy="off") == 1
    assert moved(before, after, "tutor_refusals_total", reason="leak", policy="full") == 1


@pytest.mark.parametrize(("kind", "options", "counted_as"), [
    ("status", {"status": 500}, "server_error"),
    ("status", {"status": 429}, "rate_limited"),
    ("empty", {}, "empty"),
    ("malformed", {"before": 1}, "malformed"),
])
def test_a_model_failure_is_counted_by_kind(tutor, fake_model, kind, options, counted_as):
    before = counts(tutor)
    fake_model.answer(kind, **options)
    assert tutor.ask("linus", **HINT).last["type"] == "error"
    assert moved(before, counts(tutor), "tutor_model_errors_total", kind=counted_as) == 1


def test_a_request_over_a_learners_limit_is_counted_as_a_quota_refusal(limited_tutor):
    before = counts(limited_tutor)
    for _ in range(3):
        assert limited_tutor.ask("hedy", **CHAT).last["type"] == "done"
    assert limited_tutor.ask("hedy", **CHAT).status == 429
    after = counts(limited_tutor)
    assert moved(before, after, "tutor_quota_refusals_total", limit="rate") == 1
    assert moved(before, after, "tutor_requests_total", mode="chat", policy="full") == 3


def test_an_offline_reply_counts_its_first_token_as_offline(offline_tutor):
    before = counts(offline_tutor)
    assert offline_tutor.ask("hedy", **CHAT).last["type"] == "done"
    assert moved(before, counts(offline_tutor), "tutor_first_token_seconds_count",
                 source="offline") == 1


def test_metrics_are_read_with_the_metrics_token_only(hub, tutor):
    assert tutor.metrics(token="another-token").status_code == 401
    learner = requests.get(f"{hub.url}/services/tutor/metrics", timeout=30,
                           headers={"Authorization": f"token {hub.token('grace')}"})
    assert learner.status_code == 401  # a hub user, through the proxy: not Prometheus
