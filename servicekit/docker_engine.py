"""Whether a Docker engine answers: the one probe the launcher and the hub use to choose between
Docker and the local fallback."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def docker_engine_answers(timeout: float = 3.0) -> bool:
    """True when a Docker engine answers a ping (``DOCKER_HOST`` or the local socket)."""
    import docker  # docker-py; imported here so that parts without Docker need not install it

    try:
        client = docker.from_env(timeout=timeout)
    except docker.errors.DockerException as exc:
        log.info("No Docker engine answers (%s)", exc.__class__.__name__)
        return False
    try:
        return bool(client.ping())
    except (docker.errors.DockerException, OSError) as exc:
        log.info("No Docker engine answers (%s)", exc.__class__.__name__)
        return False
    finally:
        client.close()
