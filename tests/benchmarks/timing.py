"""Timing helpers for benchmarks, which print figures and assert only that what they time worked."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable


def timed(call: Callable[[], object], repeat: int) -> list[float]:
    """Seconds per call, after one warm-up call."""
    call()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return samples


def interleaved(calls: dict[str, Callable[[], object]], repeat: int) -> dict[str, list[float]]:
    """Seconds per call of each of ``calls``, ``repeat`` times each, after one warm-up call of
    each: a round calls every one once, each round in another order, so a burst of other work
    on the machine spreads over all of them instead of landing on one."""
    for call in calls.values():
        call()
    samples: dict[str, list[float]] = {name: [] for name in calls}
    names = list(calls)
    for round_ in range(repeat):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            start = time.perf_counter()
            calls[name]()
            samples[name].append(time.perf_counter() - start)
    return samples


def load_average() -> str:
    """The machine's 1-, 5- and 15-minute load averages, to print beside timings taken on a
    shared machine."""
    return " / ".join(f"{load:.2f}" for load in os.getloadavg())


def percentile(samples: list[float], q: float) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[int(q) - 1]
