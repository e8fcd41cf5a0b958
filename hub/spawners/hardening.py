"""The hardening every learner's server gets, whatever engine runs it: one owner.

:class:`Hardening` holds the rules (user, capabilities, privileges, init, read-only root, the
size-capped ``/tmp``, the limits of the resource profile, the labels) and renders them in the
two forms the engine takes: a container's host configuration and create arguments
(:class:`~hub.spawners.docker.StudioDockerSpawner`) and a Swarm service's container spec,
resources and ``/tmp`` mount (:class:`~hub.spawners.swarm.StudioSwarmSpawner`). A rule changes
here, for both.

What Swarm cannot enforce, said once: the swap cap (services have no memory-swap setting: run
the nodes without swap), and ``no-new-privileges`` on engines before Docker 25 / API 1.44, which
ignore ``Privileges.NoNewPrivileges`` (there, ``"no-new-privileges": true`` in every node's
``daemon.json``).
"""

from __future__ import annotations

from dataclasses import dataclass

from docker.types import Mount, Resources

from hub.profiles import ResourceProfile

DROPPED_CAPABILITIES = ("ALL",)
TMP = "/tmp"  # noqa: S108 - a tmpfs of the container's own
TMP_MODE = 0o1777
USER_LABEL = "org.pythonlearningstudio.user"
PROFILE_LABEL = "org.pythonlearningstudio.profile"


@dataclass(frozen=True)
class Hardening:
    """The rules for one server: who it runs as, where, and within which limits."""

    user: str  # uid:gid, never root
    work_dir: str
    read_only_root: bool
    tmp_size: str
    profile: ResourceProfile
    username: str
    profile_label: str = ""

    @property
    def labels(self) -> dict[str, str]:
        return {USER_LABEL: self.username, PROFILE_LABEL: self.profile_label}

    # -- a container (HUB_SPAWNER=docker) ----------------------------------------------------

    def container_create_kwargs(self) -> dict:
        """docker-py ``create_container`` arguments."""
        return {"user": self.user, "working_dir": self.work_dir, "labels": self.labels}

    def container_host_config(self) -> dict:
        """docker-py ``create_host_config`` arguments (memory and CPU limits are the spawner's
        ``mem_limit``/``cpu_limit``, set from the same profile)."""
        return {
            "cap_drop": list(DROPPED_CAPABILITIES),
            "security_opt": ["no-new-privileges"],
            "init": True,
            "pids_limit": self.profile.pids_limit,
            "memswap_limit": self.profile.mem_limit,  # == mem_limit: no swap
            "read_only": self.read_only_root,
            "tmpfs": {TMP: f"rw,nosuid,nodev,size={self.tmp_size},mode={TMP_MODE:o}"},
        }

    # -- a Swarm service (HUB_SPAWNER=swarm) -------------------------------------------------

    def service_container_spec(self) -> dict:
        """docker-py ``ContainerSpec`` arguments."""
        return {
            "user": self.user,
            "workdir": self.work_dir,
            "cap_drop": list(DROPPED_CAPABILITIES),
            "init": True,
            "read_only": self.read_only_root,
            "privileges": {"NoNewPrivileges": True},
        }

    def service_resources(self, cpu_guarantee: float = 0, mem_guarantee: int = 0) -> Resources:
        """The task's limits (and reservations, if any): memory, CPU, and the pids limit, which
        docker-py's ``Resources`` has no argument for (engine API >= 1.41)."""
        resources = Resources(
            cpu_limit=round(self.profile.cpu_limit * 1e9),
            mem_limit=self.profile.mem_limit,
            cpu_reservation=round(cpu_guarantee * 1e9) if cpu_guarantee else None,
            mem_reservation=mem_guarantee or None,
        )
        resources["Limits"]["Pids"] = self.profile.pids_limit
        return resources

    def service_tmp_mount(self) -> Mount:
        """The size-capped ``/tmp`` as a service mount."""
        return Mount(target=TMP, source=None, type="tmpfs", tmpfs_size=self.tmp_size,
                     tmpfs_mode=TMP_MODE)
