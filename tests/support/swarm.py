"""A one-node Docker Swarm on this machine's engine, for the studio's Swarm test.

:func:`one_node_swarm` makes the engine a Swarm manager when it is in no swarm (``docker swarm
init``, advertising loopback: nothing outside the machine joins) and, on exit, leaves the swarm
only if it made it: the engine is left as found. Ordinary containers keep working in swarm mode
(the other tests' learners and sandboxes are plain containers; :func:`one_node_swarm` checks it).

A studio whose hub is a process on this machine (:func:`tests.support.studio.own_studio` with
``HUB_SPAWNER=swarm``) is outside the swarm's overlay networks, so it runs with
``HUB_SWARM_PUBLISH_PORTS=true``: each learner's service publishes its port on its node (host
mode), on an overlay network that is not internal (no port is published from an internal one),
and its tasks reach the hub's API on the host at the ``docker_gwbridge`` network's gateway
(:func:`swarm_gateway`).
"""

from __future__ import annotations

import contextlib
import json
import subprocess
from collections.abc import Iterator

from dockerspawner import DockerSpawner

USER_LABEL = "org.pythonlearningstudio.user"  # on learners' services (hub/spawners/hardening.py)
ROLE_LABEL = "org.pythonlearningstudio.role"  # "grading" on the grader's sandboxes
GWBRIDGE = "docker_gwbridge"  # the bridge swarm mode gives tasks for published ports


def docker(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout,
                            check=False)
    if check:
        assert result.returncode == 0, f"docker {' '.join(args)}:\n{result.stderr}"
    return result


def swarm_state() -> str:
    """The engine's Swarm state: ``inactive``, ``active``, ``pending``, ``error``, ``locked``."""
    return docker("info", "--format", "{{.Swarm.LocalNodeState}}").stdout.strip()


@contextlib.contextmanager
def one_node_swarm() -> Iterator[bool]:
    """The engine in a swarm for the block; yields whether this call made the swarm (and so
    leaves it on exit)."""
    joined = swarm_state() == "inactive"
    had_gwbridge = docker("network", "inspect", GWBRIDGE, check=False).returncode == 0
    if joined:
        docker("swarm", "init", "--advertise-addr", "127.0.0.1")
    try:
        assert swarm_state() == "active", "the Docker engine is not an active Swarm node"
        plain = docker("run", "--rm", "pls-notebook:latest", "true", check=False)
        assert plain.returncode == 0, f"a plain container fails in swarm mode: {plain.stderr}"
        yield joined
    finally:
        if joined:
            docker("swarm", "leave", "--force", check=False)
            if not had_gwbridge:  # swarm init made it; leaving keeps it
                docker("network", "rm", GWBRIDGE, check=False)


def overlay_network(name: str, internal: bool = True) -> None:
    """An attachable overlay network (the learners' network of a Swarm studio), ``internal``
    unless a hub outside it reaches servers at ports published on their node, which a task on
    an internal network cannot publish (measured on Docker 20.10)."""
    if docker("network", "inspect", name, check=False).returncode != 0:
        docker("network", "create", "--driver", "overlay", "--attachable",
               *(["--internal"] if internal else []), name)


def swarm_gateway() -> str:
    """The host's address on ``docker_gwbridge``, where tasks with published ports reach it."""
    info = json.loads(docker("network", "inspect", GWBRIDGE).stdout)[0]
    return next(config["Gateway"] for config in info["IPAM"]["Config"] if config.get("Gateway"))


def services_under_prefix(prefix: str) -> set[str]:
    """A studio's services: its learners' (``<prefix>-<escaped user>``) and its grader's
    sandboxes (``<prefix>-grading-<hex>``), nothing of another studio's."""
    if swarm_state() != "active":
        return set()
    listed = docker("service", "ls", "--format", "{{.Name}}", check=False).stdout.split()
    found = set()
    for name in listed:
        labels = json.loads(docker("service", "inspect", "--format", "{{json .Spec.Labels}}",
                                   name, check=False).stdout or "{}") or {}
        user = labels.get(USER_LABEL)
        if user and name == f"{prefix}-{DockerSpawner._escape(user)}":
            found.add(name)
        if labels.get(ROLE_LABEL) == "grading" and name.startswith(f"{prefix}-grading-"):
            found.add(name)
    return found


def remove_swarm_services(prefix: str) -> None:
    """Remove a studio's services and its sandboxes' networks."""
    for name in services_under_prefix(prefix):
        docker("service", "rm", name, check=False)
    if swarm_state() == "active":
        networks = docker("network", "ls", "--format", "{{.Name}}", check=False).stdout.split()
        for name in networks:
            if name.startswith(f"{prefix}-grading-"):
                docker("network", "rm", name, check=False)
