"""HUB_SPAWNER=swarm on a real one-node Docker Swarm, end to end: a learner signs in through
the LMS, their server starts as a Swarm service with the learner profile's limits and the
studio's hardening, they submit an assignment from it, and the grader, told to run its
sandboxes as Swarm services (``GRADER_SANDBOX_SWARM``), grades it into the LMS.

The engine is made a one-node swarm if it is in none, and left as found
(:func:`tests.support.swarm.one_node_swarm`). The studio is :func:`own_studio`'s (the launcher,
as ``make up`` runs it) with names and ports of its own; its hub is a process on this machine,
outside the swarm's overlay networks, so it reaches servers at their published ports
(``HUB_SWARM_PUBLISH_PORTS``; a hub attached to the overlay reaches them by service name, as
tests/unit/hub/test_hub_cluster_config.py checks of the spawner). One xdist group: the swarm,
its studio and the tests that use it are set up once, in one worker.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from tests.support.assignment_cycle import (
    ASSIGNMENT,
    GRADED_SECONDS,
    lab,
    panel,
    read_notebook,
    release,
    wait_for_grades,
    write_notebook,
)
from tests.support.assignments import WRONG, answered
from tests.support.studio import Studio, for_this_worker
from tests.support.swarm import docker, one_node_swarm, overlay_network

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.xdist_group("hub-swarm")]

PREFIX = "pls-swarm"
PORTS = {"lms": 18900, "hub": 18901, "proxy_api": 18902, "hub_api": 18981, "grader": 18910,
         "formgrader": 18920}
GIB = 1024**3


@pytest.fixture(scope="module")
def swarm_studio(tmp_path_factory, own_studio_factory) -> Iterator[Studio]:
    with one_node_swarm():
        prefix, _ = for_this_worker(PREFIX, PORTS)
        # the hub never creates it (hub/spawners/swarm.py); not internal: ports are published
        overlay_network(f"{prefix}-notebooks", internal=False)
        with own_studio_factory(
            tmp_path_factory, PREFIX, PORTS, grader=True,
            HUB_SPAWNER="swarm", HUB_SWARM_PUBLISH_PORTS="true",
            GRADER_SANDBOX_SWARM="true", GRADER_WORKERS="1", GRADER_POOL_SIZE="1",
        ) as own:
            yield own.studio


def service(name: str) -> dict:
    return json.loads(docker("service", "inspect", name).stdout)[0]


def service_events(since: str, prefix: str) -> list[tuple[str, str]]:
    """(action, service name) of the engine's service events since ``since`` for services
    named ``<prefix>...``."""
    listed = docker("events", "--since", since, "--until", datetime.now(UTC).isoformat(),
                    "--filter", "type=service",
                    "--format", "{{.Action}} {{.Actor.Attributes.name}}").stdout
    events = [tuple(line.split(" ", 1)) for line in listed.splitlines() if " " in line]
    return [(action, name) for action, name in events if name.startswith(prefix)]


def test_a_learners_server_is_a_swarm_service_with_the_learner_profiles_limits(swarm_studio):
    studio = swarm_studio
    studio.login("learner1")  # through the LMS's form; the server answers through the proxy
    spec = service(studio.container_name("learner1"))["Spec"]
    task = spec["TaskTemplate"]
    assert task["Resources"]["Limits"] == {"MemoryBytes": GIB, "NanoCPUs": 10**9, "Pids": 512}
    container = task["ContainerSpec"]
    assert container["User"] == "1000:100"
    assert container["CapabilityDrop"] == ["ALL"]
    assert container["Init"] is True
    assert spec["Labels"]["org.pythonlearningstudio.user"] == "learner1"
    assert [n["Target"] for n in task["Networks"]] == [
        json.loads(docker("network", "inspect", studio.network).stdout)[0]["Id"]]
    running = docker("service", "ps", "--filter", "desired-state=running", "--format",
                     "{{.CurrentState}}", studio.container_name("learner1")).stdout
    assert running.startswith("Running"), running
    plain = docker("ps", "-q", "--filter", f"name=^{studio.container_name('learner1')}$").stdout
    assert plain == "", "the learner's server is a plain container, not a service"
    assert lab(studio, "learner1", "GET", "api/status").status_code == 200


def test_a_submission_from_the_service_is_graded_in_one_shot_swarm_sandboxes(swarm_studio):
    studio = swarm_studio
    since = datetime.now(UTC).isoformat()
    release(studio)
    studio.login("learner1")
    listed = panel(studio, "learner1")
    (entry,) = [a for a in listed if a["assignment_id"] == ASSIGNMENT]
    if entry["status"] == "released":
        listed = panel(studio, "learner1", "fetch")
    write_notebook(studio, "learner1", answered(read_notebook(studio, "learner1"),
                                                 instead={"ps1-grade-answer": WRONG}))
    listed = panel(studio, "learner1", "submit")
    assert [a for a in listed if a["status"] == "submitted"]

    (grade,) = wait_for_grades(studio, "learner1", 1)
    assert (grade["status"], float(grade["score"]), float(grade["max_score"])) == (
        "graded", 6.0, 10.0)

    sandboxes = f"{studio.prefix}-grading-"
    deadline = time.monotonic() + GRADED_SECONDS
    while True:  # the service that graded is removed once its container has ended
        events = service_events(since, sandboxes)
        created = {name for action, name in events if action == "create"}
        removed = {name for action, name in events if action == "remove"}
        if created & removed or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert created, "the grader started no sandbox as a Swarm service"
    assert created & removed, f"no sandbox service was removed after its run: {events}"
