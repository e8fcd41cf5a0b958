"""The studio's Docker engine configuration (``deploy/docker/daemon.json``, which an admin merges
into the Docker host's ``/etc/docker/daemon.json``: docs/architecture.md, "Operations: faults")
keeps containers running while the engine restarts: a learner's server (and, in
docker-compose.yml, every part of the studio) lives through an engine upgrade or restart.

Never the engine the other tests share: the engine restarted here is one of the test's own
(:mod:`tests.support.private_engine`), started with the studio's ``daemon.json``.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from tests.support.private_engine import private_engine

pytestmark = [pytest.mark.docker, pytest.mark.slow]

DAEMON_JSON = Path(__file__).resolve().parents[3] / "deploy" / "docker" / "daemon.json"


def shared_bridge_present() -> bool:
    return Path("/sys/class/net/docker0").exists()


def test_a_container_keeps_running_while_the_engine_with_the_studios_daemon_json_restarts():
    shared = shared_bridge_present()
    with private_engine(DAEMON_JSON) as engine:
        assert engine.info()["LiveRestoreEnabled"] is True
        image = engine.import_sleeper()
        engine.docker("run", "-d", "--name", "learner", "--network", "none", image,
                      "/bin/sleep", "3600")
        before = engine.inspect("learner")["State"]

        engine.stop(signal.SIGTERM)  # as `systemctl restart docker` does
        os.kill(before["Pid"], 0)  # still running with no engine at all
        engine.start()

        after = engine.inspect("learner")["State"]
        assert after["Running"] is True
        assert (after["Pid"], after["StartedAt"]) == (before["Pid"], before["StartedAt"])
        engine.docker("exec", "learner", "/bin/sleep", "0")  # and the engine drives it again
    # The shared engine's default network is untouched (a dockerd with --bridge none deletes it).
    assert shared_bridge_present() == shared
