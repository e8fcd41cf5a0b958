"""Learners' servers as Docker Swarm services: the hardened Docker spawner, on a cluster.

:class:`StudioSwarmSpawner` is :class:`~hub.spawners.docker.StudioDockerSpawner` (same plan,
image, profile limits, environment filter, work volume, course materials) on top of
dockerspawner's ``SwarmSpawner``, which creates one service per server instead of a container.
What changes with a service:

- limits go into the task's ``Resources``: memory, CPU and (engine API >= 1.41, Docker 20.10)
  the pids limit, which docker-py's ``Resources`` type has no argument for;
- the container spec carries the hardening: user ``1000:100``, every capability dropped, an init
  process, ``no-new-privileges`` (``Privileges.NoNewPrivileges``: engines before Docker 25 / API
  1.44 ignore it, so there set ``"no-new-privileges": true`` in every node's ``daemon.json``);
- not enforceable on Swarm: the swap cap (services have no memory-swap setting: run the nodes
  without swap);
- named volumes are mounted as volumes and host paths as binds (``SwarmSpawner`` mounts both as
  binds, which the engine refuses for a volume name: jupyterhub/dockerspawner#536), plus the
  size-capped ``/tmp`` tmpfs;
- the network is an overlay network the hub is attached to; it is not created here (the hub
  must be on it before any spawn), and the servers reach the hub at ``HUB_CONNECT_URL``;
- images are not looked up on the manager: the nodes pull them (``pull_policy = "skip"``).
"""

from __future__ import annotations

import docker.errors
from docker.types import Mount, Resources
from dockerspawner import SwarmSpawner
from traitlets import default

from hub.errors import SpawnFailed
from hub.profiles import ResourceProfile
from hub.spawners.docker import StudioDockerSpawner
from hub.spawners.plan import SpawnPlan


class StudioSwarmSpawner(StudioDockerSpawner, SwarmSpawner):
    """The studio's Docker spawner, creating Swarm services."""

    @default("pull_policy")
    def _pull_policy_default(self):
        return "skip"  # the node that runs the task pulls; the manager may not have the image

    @default("extra_create_kwargs")
    def _extra_create_kwargs_default(self):
        return {}  # create_service's own arguments; the labels are set per start (apply_plan)

    @default("extra_container_spec")
    def _extra_container_spec_default(self):
        return {
            "user": self.container_user,
            "workdir": self.work_dir,
            "cap_drop": ["ALL"],
            "init": True,
            "read_only": self.read_only_root,
            "privileges": {"NoNewPrivileges": True},
        }

    def swarm_resources(self, profile: ResourceProfile) -> Resources:
        """The task's limits (and reservations, if configured) from the resource profile."""
        resources = Resources(
            cpu_limit=round(profile.cpu_limit * 1e9),
            mem_limit=profile.mem_limit,
            cpu_reservation=round(self.cpu_guarantee * 1e9) if self.cpu_guarantee else None,
            mem_reservation=self.mem_guarantee or None,
        )
        resources["Limits"]["Pids"] = profile.pids_limit
        return resources

    def apply_plan(self, plan: SpawnPlan) -> None:
        """The Docker spawner's plan (image, limits, materials), then the service's own parts."""
        super().apply_plan(plan)
        # SwarmSpawner builds Resources from mem_limit/cpu_limit only; the whole spec, with the
        # pids limit, replaces it through the task template's own argument.
        resources = self.swarm_resources(plan.profile)
        self.extra_task_spec = {**self.extra_task_spec, "resources": resources}
        self.extra_create_kwargs = {
            **self.extra_create_kwargs,
            "labels": self.hardened_create_kwargs()["labels"],
        }

    @property
    def mounts(self) -> list[Mount]:
        """Named volumes as volumes, host paths as read-only binds, and the capped /tmp."""
        driver = self.mount_driver_config
        mounts = []
        for source, bind in self.volume_binds.items():
            host_path = source.startswith("/")
            mounts.append(
                Mount(
                    target=bind["bind"],
                    source=source,
                    type="bind" if host_path else "volume",
                    read_only=bind["mode"] == "ro",
                    driver_config=None if host_path else driver,
                )
            )
        mounts.append(
            Mount(target="/tmp", source=None, type="tmpfs", tmpfs_size=self.tmp_size,  # noqa: S108
                  tmpfs_mode=0o1777)
        )
        return mounts

    async def ensure_network(self) -> None:
        """The overlay network must exist already: the hub is attached to it."""
        if not self.network_name:
            return
        create = (
            f"docker network create --driver overlay --attachable --internal {self.network_name}"
        )
        try:
            info = await self.docker("inspect_network", self.network_name)
        except docker.errors.NotFound:
            raise SpawnFailed(
                f"The Swarm network {self.network_name} does not exist: create it with "
                f"`{create}` and attach the hub to it."
            ) from None
        if info.get("Scope") != "swarm":
            raise SpawnFailed(
                f"The network {self.network_name} is not a Swarm (overlay) network: "
                f"create one with `{create}`."
            )

    async def hub_url_on_network(self) -> str | None:
        return None  # the hub's own connect URL (HUB_CONNECT_URL) is its address on the overlay
