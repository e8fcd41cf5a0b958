"""Fixtures for the benchmarks that need the real studio (:mod:`tests.support.studio`).

The benchmark studio's learner containers are named ``pls-bench-<user>`` on the
``pls-bench-notebooks`` network, apart from the test studios' ``pls-test*`` names and ports.
"""

from __future__ import annotations

import pytest

from tests.support.studio import OwnStudio, own_studio

BENCH_PREFIX = "pls-bench"
BENCH_PORTS = {"lms": 18400, "hub": 18401, "proxy_api": 18402, "hub_api": 18481}


@pytest.fixture(scope="session")
def bench_studio(tmp_path_factory) -> OwnStudio:
    """The whole studio with the Docker spawner and no idle culling (a benchmark's servers
    must not be stopped under it)."""
    with own_studio(tmp_path_factory, BENCH_PREFIX, BENCH_PORTS, HUB_IDLE_TIMEOUT="0") as own:
        yield own
