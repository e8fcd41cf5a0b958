"""The learner's notebook server in its own hardened, resource-limited Docker container.

On top of dockerspawner's DockerSpawner:

- image and resource profile from the user's courses and role (:mod:`hub.spawners.plan`);
- non-root ``1000:100``, every capability dropped, ``no-new-privileges``, an init process,
  memory limit with no swap (``memswap_limit == mem_limit``), CPU quota, pids limit, a size-capped
  ``/tmp``; optionally a read-only root file system;
- the work folder on a named volume per user (``pls-work-<escaped name>``) that survives the
  container, which is removed when the server stops;
- course materials bind-mounted read-only, file by file, and copied into the volume by the
  container itself without overwriting (:mod:`hub.materials`);
- a dedicated Docker network; the container learns the hub's API address on it (the network's
  gateway, where the hub's API listens: :func:`notebook_network_gateway`, asked when the hub
  starts);
- an environment with no secret but the server's own hub token (``env_keep`` is empty);
- a missing image fails the spawn with a message that says how to build it, instead of a pull
  from a registry.
"""

from __future__ import annotations

from urllib.parse import urlparse

import docker
import docker.errors
import docker.utils
from dockerspawner import DockerSpawner
from requests.exceptions import RequestException
from traitlets import Bool, Dict, Unicode, default

from hub.errors import ImageMissing, SpawnFailed
from hub.materials import container_binds, copy_command
from hub.profiles import INSTRUCTOR
from hub.settings import HubSettings
from hub.spawners.hardening import Hardening
from hub.spawners.plan import SpawnPlan, StudioSpawnerMixin
from servicekit.settings import SettingError
from servicekit.state import WORK_VOLUME_TEMPLATE

SHARED_NETWORKS = {"bridge", "host", "none"}  # Docker's own: never created nor the hub's


def network_options(internal: bool) -> dict:
    """How the notebook network is created (when missing): a bridge, ``internal`` (no route
    out), labelled as the studio's."""
    return {
        "driver": "bridge",
        "internal": internal,
        "labels": {"org.pythonlearningstudio.role": "notebooks"},
        "check_duplicate": True,
    }


def network_gateway(info: dict) -> str | None:
    """The gateway address of a network as ``inspect_network`` describes it: the Docker host's
    own address on it."""
    configs = (info.get("IPAM") or {}).get("Config") or []
    return next((c["Gateway"] for c in configs if c.get("Gateway")), None)


def notebook_network_gateway(settings: HubSettings) -> str:
    """The notebook network's gateway (``HUB_DOCKER_NETWORK``), creating the network first if
    it is missing: the hub's API, and the grader and tutor it starts, listen there, where
    learners' containers reach them and nothing outside the machine does. Asked once, when the
    hub reads its configuration."""
    name = settings.docker_network
    if name in SHARED_NETWORKS:
        raise SettingError("HUB_DOCKER_NETWORK", name, "must be a network of the studio's own "
                           "(the hub's API listens on its gateway), not one of Docker's")
    try:
        client = docker.APIClient(version="auto", **docker.utils.kwargs_from_env())
    except docker.errors.DockerException as exc:
        raise SettingError("HUB_SPAWNER", "docker", f"needs a Docker engine that answers: {exc}"
                           ) from None
    try:
        try:
            info = client.inspect_network(name)
        except docker.errors.NotFound:
            try:
                client.create_network(name, **network_options(settings.docker_network_internal))
            except docker.errors.APIError as exc:  # 409: created meanwhile
                if exc.status_code != 409:
                    raise
            info = client.inspect_network(name)
    except (docker.errors.DockerException, RequestException) as exc:
        raise SettingError("HUB_DOCKER_NETWORK", name,
                           f"could not be found or created on the Docker engine: {exc}") from None
    finally:
        client.close()
    gateway = network_gateway(info)
    if not gateway:
        raise SettingError("HUB_DOCKER_NETWORK", name, "has no gateway address: set "
                           "HUB_API_BIND_URL and HUB_CONNECT_URL to where containers reach the hub")
    return gateway

# Environment variables a learner's container may receive: JupyterHub's own (one secret, the
# server's API token) plus informational limits. Anything else is dropped in get_env.
ALLOWED_ENV_PREFIXES = ("JUPYTERHUB_",)
ALLOWED_ENV = {"JUPYTER_IMAGE_SPEC", "MEM_LIMIT", "CPU_LIMIT", "MEM_GUARANTEE", "CPU_GUARANTEE"}


def server_env(spawner, env: dict[str, str], allowed: set[str], where: str) -> dict[str, str]:
    """What a container or pod of ``spawner``'s gets of the hub's ``env``: the ``JUPYTERHUB_*``
    variables (the user's own token among them) and ``allowed``, nothing else; instructors also
    get nbgrader's instructor tools (``JUPYTER_CONFIG_PATH``), and every server the studio's
    service URLs (``service_urls``)."""
    env.pop("JPY_API_TOKEN", None)  # deprecated duplicate of JUPYTERHUB_API_TOKEN
    for key in list(env):
        if key not in allowed and not key.startswith(ALLOWED_ENV_PREFIXES):
            spawner.log.warning("Not passing %s into %s's %s", key, spawner.user.name, where)
            env.pop(key)
    env.update(spawner.service_env(env.get("JUPYTERHUB_API_URL")))
    plan = spawner.plan
    if plan and plan.profile.name == INSTRUCTOR and spawner.instructor_config_path:
        env["JUPYTER_CONFIG_PATH"] = spawner.instructor_config_path
    return env


class StudioDockerSpawner(StudioSpawnerMixin, DockerSpawner):
    """DockerSpawner hardened for learners and driven by resource profiles."""

    work_dir = Unicode(
        "/home/jovyan/work",
        help="The work folder in the image: the volume is mounted here, materials land here.",
    ).tag(config=True)

    container_user = Unicode(
        "1000:100",
        help="uid:gid the server runs as (jovyan:users in the studio's image). Never root.",
    ).tag(config=True)

    read_only_root = Bool(
        False,
        help="""Mount the container's root file system read-only. Off by default: JupyterLab
        writes settings, caches and runtime files under $HOME. The work volume and /tmp stay
        writable either way.""",
    ).tag(config=True)

    tmp_size = Unicode("256m", help="Size cap of the tmpfs mounted on /tmp.").tag(config=True)

    instructor_config_path = Unicode(
        "/opt/venv/etc/jupyter-instructor",
        help="""JUPYTER_CONFIG_PATH for servers with the instructor profile: in the studio's image
        it turns nbgrader's formgrader, course list and create-assignment back on (they are off
        for learners; see images/README.md). Empty: the same configuration for everyone.""",
    ).tag(config=True)

    network_internal = Bool(
        True,
        help="""Create the network (when missing) as an internal Docker network: containers
        reach the hub on it but no address outside it (no internet).""",
    ).tag(config=True)

    host_path_prefixes = Dict(
        key_trait=Unicode(),
        value_trait=Unicode(),
        help="""Hub path prefix -> path as the Docker engine sees it, for the course files
        bind-mounted into containers. Only needed when the hub itself runs in a container,
        e.g. {"/srv/courses": "/opt/studio/courses"}.""",
    ).tag(config=True)

    plan = None  # the SpawnPlan of the current start

    # -- defaults that make the plain DockerSpawner safe ----------------------------------

    @default("cmd")
    def _cmd_default(self):
        return ["jupyterhub-singleuser"]  # on PATH in the image; no image inspection needed

    @default("env_keep")
    def _env_keep_default(self):
        return []

    @default("prefix")
    def _prefix_default(self):
        return "pls"  # containers are named pls-<escaped username>

    @default("remove")
    def _remove_default(self):
        return True

    @default("pull_policy")
    def _pull_policy_default(self):
        return "never"  # images are built on the host (images/build), never pulled implicitly

    @default("image")
    def _image_default(self):
        return self.default_image

    @default("volumes")
    def _volumes_default(self):
        return {WORK_VOLUME_TEMPLATE: self.work_dir}

    @default("notebook_dir")
    def _notebook_dir_default(self):
        return self.work_dir

    @default("extra_create_kwargs")
    def _extra_create_kwargs_default(self):
        return type(self).hardened_create_kwargs

    @default("extra_host_config")
    def _extra_host_config_default(self):
        return type(self).hardened_host_config

    def hardening(self) -> Hardening:
        """The rules of :mod:`hub.spawners.hardening` for this start (the plan's profile; the
        learner profile before a plan is made)."""
        profile = self.plan.profile if self.plan else self.resource_profiles.get("learner")
        return Hardening(
            user=self.container_user,
            work_dir=self.work_dir,
            read_only_root=self.read_only_root,
            tmp_size=self.tmp_size,
            profile=profile,
            username=self.user.name,
            profile_label=self.plan.profile.name if self.plan else "",
        )

    def hardened_create_kwargs(self) -> dict:
        return self.hardening().container_create_kwargs()

    def hardened_host_config(self) -> dict:
        return self.hardening().container_host_config()

    # -- applying the plan ------------------------------------------------------------------

    def apply_plan(self, plan: SpawnPlan) -> None:
        """Set image, limits and material mounts for this start."""
        self.plan = plan
        self.image = plan.image
        self.mem_limit = plan.profile.mem_limit
        self.cpu_limit = plan.profile.cpu_limit
        self.read_only_volumes = container_binds(plan.materials, self.host_path)

    def host_path(self, path) -> str:
        text = str(path)
        for prefix, replacement in sorted(self.host_path_prefixes.items(), reverse=True):
            if text == prefix or text.startswith(prefix.rstrip("/") + "/"):
                return replacement.rstrip("/") + text[len(prefix.rstrip("/")) :]
        return text

    async def get_command(self):
        command = await super().get_command()
        if self.plan and self.plan.materials:
            return copy_command(self.work_dir, list(command))
        return command

    def get_env(self):
        return server_env(self, super().get_env(), ALLOWED_ENV, "container")

    async def start(self):
        plan = self.spawn_plan()
        self.apply_plan(plan)
        self.log.info(
            "Starting %s: image %s, profile %s (courses: %s)",
            self.user.name,
            plan.image,
            plan.profile,
            ", ".join(plan.course_slugs) or "none",
        )
        try:
            await self.ensure_network()
            if self.hub_connect_url is None:
                self.hub_connect_url = await self.hub_url_on_network()
            address = await super().start()
        except RequestException as exc:
            raise SpawnFailed(f"The Docker engine does not answer: {exc}") from exc
        except docker.errors.DockerException as exc:  # e.g. the engine refused the container
            raise SpawnFailed(f"Docker could not start the notebook server: {exc}") from exc
        return await self.answering(address)

    # -- docker checks ---------------------------------------------------------------------

    async def pull_image(self, image):
        if self.pull_policy != "never":
            return await super().pull_image(image)
        try:
            await self.docker("inspect_image", image)
        except docker.errors.ImageNotFound as exc:
            raise ImageMissing(image) from exc

    async def ensure_network(self) -> None:
        """Create the notebook network if it does not exist (any more: the hub made it when it
        started, :func:`notebook_network_gateway`)."""
        if self.network_name in SHARED_NETWORKS:
            return
        try:
            await self.docker("inspect_network", self.network_name)
        except docker.errors.NotFound:
            self.log.warning(
                "Creating Docker network %s (internal=%s)", self.network_name,
                self.network_internal,
            )
            try:
                await self.docker(
                    "create_network", self.network_name,
                    **network_options(self.network_internal),
                )
            except docker.errors.APIError as exc:  # created meanwhile by a concurrent spawn
                if exc.status_code != 409:
                    raise

    async def hub_url_on_network(self) -> str | None:
        """The hub's API as containers on the network reach it: the network's gateway (the
        Docker host) at the hub's port. None on the default bridge (JupyterHub decides)."""
        if self.network_name in SHARED_NETWORKS:
            return None
        gateway = network_gateway(await self.docker("inspect_network", self.network_name))
        if not gateway:
            raise SpawnFailed(
                f"The Docker network {self.network_name} has no gateway address: set "
                "HUB_CONNECT_URL to the hub's address as containers on it reach it."
            )
        port = self.hub.port or urlparse(self.hub.url).port or 8081
        return f"http://{gateway}:{port}"
