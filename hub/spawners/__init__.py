"""Spawners: the hardened Docker spawner and the local development fallback.

Both choose what to start the same way (:mod:`hub.spawners.plan`): the user's courses come from
their hub groups, the resource profile from their role, the image from ``course.yml``.
"""

from hub.spawners.docker import StudioDockerSpawner
from hub.spawners.local import StudioLocalSpawner
from hub.spawners.plan import SpawnPlan, StudioSpawnerMixin

__all__ = ["SpawnPlan", "StudioDockerSpawner", "StudioLocalSpawner", "StudioSpawnerMixin"]
