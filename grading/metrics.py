"""The grader's metrics for Prometheus (docs/architecture.md, "Operations: metrics and alerts").

Counted where they happen, in whichever process that is:

- ``grader_grading_duration_seconds{outcome}``: how long each autograde attempt took, by
  ``outcome`` (``graded``, ``invalid``, ``error``: an exception, retried or given up;
  ``sandbox_unavailable``: put back to wait for the sandbox). Counted by the workers.
- ``grader_sandbox_failures_total{kind,fault}``: gradings the sandbox could not give a result
  for. ``fault="grader"``: the sandbox could not run at all (``kind``: ``no_engine``,
  ``no_image``, ...; ``grading.sandbox.SandboxUnavailable.kind``), counted by the worker that
  met it; ``fault="notebook"``: the notebook was stopped (``time_limit``, ``output_limit``,
  ``killed``, ``no_result``), counted by the sandbox. The kinds are the sandbox's.
- ``grader_lms_pushes_total{outcome}``: grade pushes to the LMS by ``outcome`` (``recorded``,
  ``unreadable``: accepted with an answer that does not say what was recorded, ``rejected``:
  4xx, ``unavailable``: no answer after the retries).

Measured when Prometheus scrapes, from the durable queue (so they are right however many
processes and machines work on it, and never drift): ``grader_queue_jobs{kind,state}`` (open
jobs: ``waiting`` for a worker, ``running`` under a worker's lease, ``sandbox_wait``: put back to
wait for the sandbox) and ``grader_queue_oldest_job_age_seconds{kind}`` (seconds since the
oldest open job was queued; 0 with none), by :class:`QueueCollector`.

``python -m grading serve`` runs its workers as processes of their own: the counts are kept in
prometheus_client's multiprocess folder and summed by the API's ``/metrics``
(``servicekit.metrics``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily

GRADING_OUTCOMES = ("graded", "invalid", "error", "sandbox_unavailable")
PUSH_OUTCOMES = ("recorded", "unreadable", "rejected", "unavailable")
QUEUE_STATES = ("waiting", "running", "sandbox_wait")

GRADING_SECONDS = Histogram(
    "grader_grading_duration_seconds",
    "Seconds one autograde attempt of a submission took, by outcome",
    ["outcome"],
    buckets=(1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1200),
)
SANDBOX_FAILURES = Counter(
    "grader_sandbox_failures",
    "Gradings the sandbox gave no result for: fault=grader, it could not run (by kind); "
    "fault=notebook, the notebook was stopped (by kind)",
    ["kind", "fault"],
)
LMS_PUSHES = Counter(
    "grader_lms_pushes", "Grade pushes to the LMS, by outcome", ["outcome"]
)

# Every series exists from the start, at 0: an alert on increase() sees the first failure.
for _outcome in GRADING_OUTCOMES:
    GRADING_SECONDS.labels(_outcome)
for _outcome in PUSH_OUTCOMES:
    LMS_PUSHES.labels(_outcome)


def known_sandbox_failures(kinds: Iterable[str], fault: str) -> None:
    """Make the series of these failure ``kinds`` exist at 0 (the sandbox names its kinds)."""
    for kind in kinds:
        SANDBOX_FAILURES.labels(kind, fault)


def sandbox_failed(kind: str, fault: str) -> None:
    SANDBOX_FAILURES.labels(kind, fault).inc()


@dataclass(frozen=True)
class QueueMeasure:
    """The open jobs of one kind: how many in each state, and when the oldest was queued."""

    states: Mapping[str, int]
    oldest_queued_at: dt.datetime | None


class QueueCollector:
    """``grader_queue_jobs`` and ``grader_queue_oldest_job_age_seconds``, measured by
    ``measure()`` (kind -> :class:`QueueMeasure`, read from the queue) at each scrape."""

    def __init__(self, measure: Callable[[], Mapping[str, QueueMeasure]],
                 now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)) -> None:
        self.measure = measure
        self.now = now

    def describe(self) -> Iterable[Any]:
        return self._families({})

    def collect(self) -> Iterable[Any]:
        return self._families(self.measure())

    def _families(self, measured: Mapping[str, QueueMeasure]) -> Iterable[Any]:
        jobs = GaugeMetricFamily(
            "grader_queue_jobs", "Open jobs in the grader's queue, by kind and state "
            "(waiting, running, sandbox_wait)", labels=["kind", "state"])
        age = GaugeMetricFamily(
            "grader_queue_oldest_job_age_seconds", "Seconds since the oldest open job of the "
            "kind was queued (0: none open)", labels=["kind"])
        now = self.now()
        for kind, measure in sorted(measured.items()):
            for state in QUEUE_STATES:
                jobs.add_metric([kind, state], measure.states.get(state, 0))
            oldest = measure.oldest_queued_at
            age.add_metric([kind], max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)
        return [jobs, age]
