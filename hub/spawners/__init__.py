"""Spawners: the hardened Docker spawner, its Swarm and Kubernetes variants, and the local
development fallback.

All choose what to start the same way (:mod:`hub.spawners.plan`): the user's courses come from
their hub groups, the resource profile from their role, the image from ``course.yml``. The
Kubernetes spawner (:mod:`hub.spawners.kubernetes`) is not imported here: it needs the optional
``cluster`` extra (jupyterhub-kubespawner).
"""

from hub.spawners.docker import StudioDockerSpawner
from hub.spawners.local import StudioLocalSpawner
from hub.spawners.plan import SpawnPlan, StudioSpawnerMixin
from hub.spawners.swarm import StudioSwarmSpawner

__all__ = [
    "SpawnPlan",
    "StudioDockerSpawner",
    "StudioLocalSpawner",
    "StudioSpawnerMixin",
    "StudioSwarmSpawner",
]
