"""What a learner's container can reach, and where the studio's internal APIs listen (issue 14,
point 5, the hub's half), on the whole studio with the Docker spawner as ``make up`` runs it.

A learner's server needs, and reaches, exactly three of the studio's ports, all on the notebook
network's gateway (the machine's own address on that network):

- the hub's API: the server checks who its visitors are and reports activity with its own token;
- the grader's API: nbgrader's exchange (fetch, submit, feedback) with the learner's own token;
- the tutor's API: the JupyterLab extension's relay, with the learner's own token.

Nothing else of the studio listens where a container reaches it: not the LMS, the hub's proxy
(the browsers' entry point) or its REST API, the formgraders, nor the machine's PostgreSQL; and
the notebook network has no route out. Each of those three APIs refuses a caller without a token
the hub issued (the existing tests of each service check what a token may do).
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass

import psutil
import pytest

pytestmark = [pytest.mark.docker, pytest.mark.slow]

POSTGRESQL = 5432
OUTSIDE = ("1.1.1.1", 443)


@dataclass(frozen=True)
class Listener:
    part: str  # what listens: lms, proxy, hub, grader, tutor, formgrader
    address: str
    port: int


def part_of(process: psutil.Process) -> str:
    """Which part of the studio a process is, from its command line."""
    command = " ".join(process.cmdline())
    for marker, part in (("configurable-http-proxy", "proxy"), ("jupyterhub", "hub"),
                         ("grading formgrader", "formgrader"), ("grading serve", "grader"),
                         ("tutor serve", "tutor"), ("gunicorn", "lms"), ("lms.up", "lms")):
        if marker in command:
            return part
    return command


def studio_listeners(launcher_pid: int) -> set[Listener]:
    """Every TCP socket the studio's processes (the launcher's descendants) listen on."""
    found = set()
    for process in psutil.Process(launcher_pid).children(recursive=True):
        try:
            connections = process.net_connections(kind="inet")
            part = part_of(process)
        except psutil.NoSuchProcess:
            continue
        for connection in connections:
            if connection.status == psutil.CONN_LISTEN:
                found.add(Listener(part, connection.laddr.ip, connection.laddr.port))
    return found


def notebook_gateway(studio) -> str:
    network = json.loads(studio.docker("network", "inspect", studio.network).stdout)[0]
    assert network["Internal"] is True, network
    return next(c["Gateway"] for c in network["IPAM"]["Config"] if c.get("Gateway"))


PROBE = """
import json, socket, sys
def connect(host, port):
    try:
        socket.create_connection((host, int(port)), timeout=3).close()
        return "connected"
    except OSError as exc:
        return type(exc).__name__
print(json.dumps({f"{host}:{port}": connect(host, port) for host, port in json.loads(sys.argv[1])}))
"""


def reached_from(studio, username: str, targets: list[tuple[str, int]]) -> dict[str, str]:
    """``host:port`` -> ``connected`` or the error, tried from inside the user's container."""
    result = studio.exec_in(username, "python3", "-c", PROBE, json.dumps(targets), timeout=120)
    assert result.returncode == 0, result
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_studios_internal_apis_listen_on_loopback_or_the_notebook_network_only(
    security_studio, studio, learner1
):
    gateway = notebook_gateway(studio)
    listeners = studio_listeners(security_studio.process.pid)
    parts = {listener.part for listener in listeners}
    assert {"lms", "proxy", "hub", "grader", "tutor", "formgrader"} <= parts, listeners
    for listener in listeners:
        assert listener.address in {"127.0.0.1", gateway}, listener  # never 0.0.0.0 or ::
        assert not ipaddress.ip_address(listener.address).is_unspecified, listener
    on_the_network = {listener.part for listener in listeners if listener.address == gateway}
    assert on_the_network == {"hub", "grader", "tutor"}, listeners


def test_a_learners_container_reaches_the_hub_grader_and_tutor_apis_and_nothing_else(
    security_studio, studio, learner1
):
    gateway = notebook_gateway(studio)
    listeners = studio_listeners(security_studio.process.pid)
    needed = {(each.address, each.port) for each in listeners
              if each.part in {"hub", "grader", "tutor"}}
    # every other port of the studio, tried on the gateway (where the container sees the host)
    others = {(gateway, each.port) for each in listeners} - needed
    targets = sorted(needed | others | {(gateway, POSTGRESQL), OUTSIDE})

    reached = reached_from(studio, "learner1", targets)

    assert {target for target, how in reached.items() if how == "connected"} == {
        f"{host}:{port}" for host, port in needed}, reached
    # and the hub's API answers the server's own token (its sign-in and activity need it)
    hub = studio.exec_in("learner1", "python3", "-c", (
        "import os, urllib.request\n"
        "request = urllib.request.Request(os.environ['JUPYTERHUB_API_URL'].rstrip('/') + '/user',"
        " headers={'Authorization': 'token ' + os.environ['JUPYTERHUB_API_TOKEN']})\n"
        "print(urllib.request.urlopen(request, timeout=10).status)"))
    assert hub.stdout.strip() == "200", hub
