"""Learners' servers as Docker Swarm services: the hardened Docker spawner, on a cluster.

:class:`StudioSwarmSpawner` is :class:`~hub.spawners.docker.StudioDockerSpawner` (same plan,
image, profile limits, environment filter, work volume, course materials) on top of
dockerspawner's ``SwarmSpawner``, which creates one service per server instead of a container.
What changes with a service:

- the hardening and the limits are the Docker spawner's rules (:mod:`hub.spawners.hardening`,
  their one owner) in a service's form: the task's ``Resources`` (memory, CPU, pids) and the
  container spec (user, capabilities, init, read-only root, ``no-new-privileges``); what Swarm
  cannot enforce is said there;
- named volumes are mounted as volumes and host paths as binds (``SwarmSpawner`` mounts both as
  binds, which the engine refuses for a volume name: jupyterhub/dockerspawner#536), plus the
  size-capped ``/tmp`` tmpfs;
- the network is an overlay network the hub is attached to; it is not created here (the hub
  must be on it before any spawn), and the servers reach the hub at ``HUB_CONNECT_URL``;
- images are not looked up on the manager: the nodes pull them (``pull_policy = "skip"``).
"""

from __future__ import annotations

import asyncio

import docker.errors
from docker.types import Mount
from dockerspawner import SwarmSpawner
from traitlets import default

from hub.errors import SpawnFailed
from hub.spawners.docker import StudioDockerSpawner
from hub.spawners.plan import SpawnPlan

PORT_STATUS_POLLS = 50  # 10 s


class StudioSwarmSpawner(StudioDockerSpawner, SwarmSpawner):
    """The studio's Docker spawner, creating Swarm services."""

    @default("pull_policy")
    def _pull_policy_default(self):
        return "skip"  # the node that runs the task pulls; the manager may not have the image

    @default("extra_create_kwargs")
    def _extra_create_kwargs_default(self):
        return {}  # create_service's own arguments; the labels are set per start (apply_plan)

    def apply_plan(self, plan: SpawnPlan) -> None:
        """The Docker spawner's plan (image, limits, materials), then the same hardening as a
        service's container spec, resources (with the pids limit: SwarmSpawner builds
        ``Resources`` from mem_limit/cpu_limit only, so the whole spec replaces it through the
        task template's own argument) and labels (:mod:`hub.spawners.hardening`)."""
        super().apply_plan(plan)
        hardening = self.hardening()
        self.extra_container_spec = {
            **self.extra_container_spec, **hardening.service_container_spec(),
        }
        self.extra_task_spec = {
            **self.extra_task_spec,
            "resources": hardening.service_resources(self.cpu_guarantee, self.mem_guarantee),
        }
        self.extra_create_kwargs = {**self.extra_create_kwargs, "labels": hardening.labels}

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
        mounts.append(self.hardening().service_tmp_mount())
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
        if not self.use_internal_ip and info.get("Internal"):
            raise SpawnFailed(
                f"The Swarm network {self.network_name} is internal, so a server on it can "
                "publish no port on its node for a hub outside it (HUB_SWARM_PUBLISH_PORTS): "
                "use a network created without --internal, or attach the hub to it."
            )

    async def create_object(self):
        """A hub outside the overlay (``use_internal_ip`` off, ``HUB_SWARM_PUBLISH_PORTS``)
        reaches the server at a port published on the node that runs it (host mode: the
        routing mesh's ingress is not needed, and the port is open on that node only)."""
        if not self.use_internal_ip:
            self.extra_endpoint_spec = {"ports": {None: (self.port, "tcp", "host")}}
        return await super().create_object()

    async def get_ip_and_port(self):
        """By service name on the overlay; else the running task's node address and the port
        published there."""
        if self.use_internal_ip:
            return await super().get_ip_and_port()
        for _ in range(PORT_STATUS_POLLS):  # a running task's ports may be reported after it
            task = await self.get_task()
            ports = ((task or {}).get("Status") or {}).get("PortStatus", {}).get("Ports") or []
            port = next((p["PublishedPort"] for p in ports if p.get("TargetPort") == self.port),
                        None)
            if port is not None:
                break
            await asyncio.sleep(0.2)
        else:
            raise SpawnFailed(f"The Swarm service {self.service_name} publishes no port "
                              f"for {self.port}.")
        node = await self.docker("inspect_node", task["NodeID"])
        return node["Status"]["Addr"], port

    async def hub_url_on_network(self) -> str | None:
        return None  # the hub's own connect URL (HUB_CONNECT_URL) is its address on the overlay
