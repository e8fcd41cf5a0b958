"""``configure(c)``: the whole hub configuration, from the hub's settings.

``jupyterhub_config.py`` calls :func:`configure` and nothing else. It reads
:class:`hub.settings.HubSettings` once (every variable is listed in ``docs/configuration.md``,
section "Hub") and hands them to one step per concern, each filling its part of ``c`` the way a
``jupyterhub_config.py`` would:

- :func:`configure_hub`: where the hub listens, its database, files and pages
- :func:`configure_origins`: learners' servers and formgraders on hosts of their own
- :func:`configure_crypt_key`: the key encrypting users' stored sign-in state
- :func:`configure_proxy`: configurable-http-proxy's API and token
- :func:`configure_authenticator`: sign-on through the LMS
- :func:`configure_roles`: one instructor role per course
- :func:`configure_idle_culler`: jupyterhub-idle-culler
- :func:`configure_grader`: the grader, and nbgrader's formgrader of each course
- :func:`configure_tutor`: the AI tutor
- :func:`configure_service_access`: the LMS's token, and what learners' servers may call
- :func:`configure_metrics`: Prometheus's token for ``/hub/metrics``
- :func:`configure_spawner`: the spawner class and what every spawner shares, then one step per
  spawner (:func:`configure_docker_spawner`, ...)
- :func:`configure_profiles`: the resource profiles learners' servers run with

The internal APIs (the hub's, and the grader's and the tutor's it starts) listen where learners'
servers reach them and nowhere else (:func:`internal_host`): on loopback with local servers, on
the notebook network's gateway with Docker, never on every interface of the machine.

Importing this module does nothing; :func:`configure` reads the course folders, creates missing
secrets under ``var/secrets/``, with ``HUB_SPAWNER=auto`` asks the Docker engine whether it
answers, and with Docker asks it for the notebook network's gateway (creating the network).
``HUB_SPAWNER=kubernetes`` imports KubeSpawner (the ``cluster`` extra) only then.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlparse, urlsplit

from traitlets.config import Config

from courses.naming import formgrader_service_name, service_host
from hub.authenticator import StudioAuthenticator
from hub.courses import CourseCatalog
from hub.origins import subdomain_hook, uses_host_cookies
from hub.profiles import profiles_from_env
from hub.roles import course_roles
from hub.services import (
    GRADER,
    SERVER_TOKEN_SCOPES,
    TUTOR,
    access_scope,
    formgrader_role,
    formgrader_service,
    grader_service,
    grader_users_role,
    idle_culler_role,
    idle_culler_service,
    lms_role,
    lms_service,
    lms_workspaces_role,
    prometheus_role,
    prometheus_service,
    tutor_service,
    tutor_users_role,
)
from hub.settings import HubSettings
from hub.spawners import StudioDockerSpawner, StudioLocalSpawner, StudioSwarmSpawner
from hub.spawners.docker import notebook_network_gateway
from hub.workspaces import custom_scopes as workspace_scopes
from hub.workspaces import handlers as workspace_handlers
from servicekit.docker_engine import docker_engine_answers
from servicekit.settings import SettingError

log = logging.getLogger("hub.config")

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
GRADER_PORT = 10101
TUTOR_PORT = 10102
CLUSTER_SPAWNERS = ("swarm", "kubernetes")  # learners' servers on other machines
LOOPBACK = "127.0.0.1"
# Only inside the hub's own container or pod, whose networks are the studio's internal ones
# (internal_host); never on a machine's every interface.
ALL_INTERFACES = "0.0.0.0"  # noqa: S104
HUB_API_PORT = 8081


def configure(c: Config, environ: Mapping[str, str] | None = None, probe=docker_engine_answers,
              gateway=notebook_network_gateway):
    """Fill ``c`` (a traitlets Config, as in jupyterhub_config.py) from ``environ`` (default
    ``os.environ``); a bad value raises :class:`servicekit.settings.SettingError`. ``probe``
    says whether a Docker engine answers (``HUB_SPAWNER=auto``), ``gateway(settings)`` is the
    notebook network's gateway (with Docker)."""
    environ = os.environ if environ is None else environ
    settings = HubSettings.from_env(environ)
    spawner = choose_spawner(settings, probe)
    internal = internal_host(settings, spawner, gateway)
    catalog = CourseCatalog(settings.courses_dir)
    c.JupyterHub.services = []
    c.JupyterHub.load_roles = []
    configure_hub(c, settings, spawner, internal)
    configure_origins(c, settings, catalog)
    configure_crypt_key(c, settings, environ)
    configure_proxy(c, settings)
    configure_authenticator(c, settings)
    configure_roles(c, catalog)
    configure_idle_culler(c, settings)
    configure_grader(c, settings, catalog, environ, internal)
    configure_tutor(c, settings, catalog, environ, internal)
    configure_service_access(c, settings)
    configure_metrics(c, settings)
    configure_spawner(c, settings, catalog, spawner)
    configure_profiles(c, environ)
    return c


def choose_spawner(settings: HubSettings, probe=docker_engine_answers) -> str:
    """``HUB_SPAWNER``, with ``auto`` made ``docker`` if an engine answers, else ``local`` (a
    cluster is never guessed)."""
    if settings.spawner != "auto":
        return settings.spawner
    choice = "docker" if probe() else "local"
    log.warning("HUB_SPAWNER=auto: using the %s spawner", choice)
    return choice


# -- the hub and its proxy ---------------------------------------------------------------------


def internal_host(settings: HubSettings, spawner: str, gateway=notebook_network_gateway) -> str:
    """Where the internal APIs listen that learners' servers call (the hub's, and the grader's
    and the tutor's the hub starts): with local servers, loopback; with Docker and the hub on
    the machine itself, the notebook network's gateway (the machine's own address on that
    network, asked of the engine, which creates the network if it is missing): containers
    reach it, nothing outside the machine does; on a cluster, or with the hub in a container of
    its own (``HUB_CONNECT_URL`` given, as in docker-compose.yml), every interface of the hub's
    container or pod, whose networks are the studio's internal ones."""
    if spawner == "local":
        return LOOPBACK
    if spawner in CLUSTER_SPAWNERS or settings.connect_url:
        return ALL_INTERFACES
    return gateway(settings)


def configure_hub(c: Config, settings: HubSettings, spawner: str, internal: str) -> None:
    """Where the hub and its API listen, its database and files under ``<var>/hub``, its error
    pages."""
    settings.hub_dir.mkdir(parents=True, exist_ok=True)
    c.JupyterHub.bind_url = settings.bind_url
    # The API listens where learners' servers reach it (internal_host). On every interface of
    # its container, hub-managed services still use loopback. On a cluster, servers (and, with
    # Kubernetes, the proxy's own pod) use the hub's service address.
    c.JupyterHub.hub_bind_url = settings.api_bind_url or f"http://{internal}:{HUB_API_PORT}"
    api = urlparse(c.JupyterHub.hub_bind_url)
    if spawner in CLUSTER_SPAWNERS:
        c.JupyterHub.hub_connect_url = cluster_hub_url(settings, spawner)
    elif api.hostname in {ALL_INTERFACES, "::"}:
        c.JupyterHub.hub_connect_url = f"http://{LOOPBACK}:{api.port or HUB_API_PORT}"
    c.JupyterHub.db_url = settings.db_url
    c.JupyterHub.cookie_secret_file = str(settings.secrets_dir / "hub-cookie-secret")
    c.JupyterHub.pid_file = str(settings.hub_dir / "jupyterhub.pid")
    c.JupyterHub.cleanup_servers = False  # a hub restart leaves learners' servers running
    c.JupyterHub.implicit_spawn_seconds = 0.5  # deep links start the server (progress page)
    c.JupyterHub.template_paths = [str(TEMPLATES_DIR)]
    c.JupyterHub.template_vars = {"lms_url": settings.lms_public_url}
    c.JupyterHub.log_level = settings.log_level


def configure_origins(c: Config, settings: HubSettings, catalog: CourseCatalog) -> None:
    """Learners' servers and the formgraders on hosts of their own below ``HUB_PUBLIC_URL``
    (:mod:`hub.origins`), the proxy routing by host; with https the hub's cookies are
    ``__Host-`` cookies, which no other host can set. A course whose formgrader can have no
    host name stops the hub here, with its slug."""
    for slug in catalog.slugs():
        try:
            service_host(formgrader_service_name(slug), urlsplit(settings.public_url).hostname)
        except ValueError as exc:
            raise SettingError("STUDIO_COURSES_DIR", str(settings.courses_dir),
                               f"holds the course {slug!r}, whose slug is too long: {exc}"
                               ) from None
    c.JupyterHub.subdomain_host = settings.public_url
    c.JupyterHub.subdomain_hook = subdomain_hook
    c.JupyterHub.cookie_host_prefix_enabled = uses_host_cookies(settings.public_url)


def configure_crypt_key(c: Config, settings: HubSettings, environ: Mapping[str, str]) -> None:
    """The key encrypting users' stored sign-in state (the tokens that refresh their groups from
    the LMS): ``JUPYTERHUB_CRYPT_KEY``, else generated once."""
    key = settings.generated(settings.crypt_key, "hub-crypt-key")
    c.CryptKeeper.keys = [key]
    if environ is os.environ:
        # JupyterHub's CryptKeeper.instance() is created without config: it reads the env only
        os.environ["JUPYTERHUB_CRYPT_KEY"] = key


def cluster_hub_url(settings: HubSettings, spawner: str) -> str:
    """``HUB_CONNECT_URL``, required on a cluster: no default address would be right."""
    if not settings.connect_url:
        raise SettingError(
            "HUB_CONNECT_URL",
            settings.connect_url,
            f"is required with HUB_SPAWNER={spawner}: the hub's API as servers on the cluster "
            "reach it, e.g. http://hub:8081",
        )
    return settings.connect_url


def configure_proxy(c: Config, settings: HubSettings) -> None:
    """configurable-http-proxy, started by the hub: its REST API and the token both share (kept
    stable, so a restarted hub finds its running proxy)."""
    c.ConfigurableHTTPProxy.api_url = settings.proxy_api_url
    c.ConfigurableHTTPProxy.auth_token = settings.generated(
        settings.proxy_auth_token, "hub-proxy-token")
    c.ConfigurableHTTPProxy.pid_file = str(settings.hub_dir / "jupyterhub-proxy.pid")


# -- sign-on and roles ---------------------------------------------------------------------------


def configure_authenticator(c: Config, settings: HubSettings) -> None:
    """Sign-on through the LMS, the OIDC provider (:class:`hub.authenticator.StudioAuthenticator`):
    browsers go to its public URL, the hub to its internal one."""
    c.JupyterHub.authenticator_class = StudioAuthenticator
    c.StudioAuthenticator.lms_public_url = settings.lms_public_url
    c.StudioAuthenticator.lms_internal_url = settings.lms_internal_url
    c.StudioAuthenticator.client_id = settings.oauth_client_id
    c.StudioAuthenticator.client_secret = settings.generated(
        settings.oauth_client_secret, "hub-oauth-client-secret")
    c.StudioAuthenticator.oauth_callback_url = settings.oauth_callback_url
    c.StudioAuthenticator.enable_auth_state = True  # groups refresh from the LMS before spawns


def configure_roles(c: Config, catalog: CourseCatalog) -> None:
    """One instructor role per course folder (:mod:`hub.roles`); the services add their own."""
    c.JupyterHub.load_roles.extend(course_roles(catalog.slugs()))


# -- the services the hub starts or routes to ---------------------------------------------------


def configure_idle_culler(c: Config, settings: HubSettings) -> None:
    """jupyterhub-idle-culler stops servers idle for ``HUB_IDLE_TIMEOUT`` seconds (0: never)."""
    if settings.idle_timeout > 0:
        every = settings.idle_cull_every or None
        c.JupyterHub.services.append(idle_culler_service(settings.idle_timeout, every))
        c.JupyterHub.load_roles.append(idle_culler_role())


def listening_url(url: str, environment: dict[str, str], bind_variable: str,
                  internal: str) -> str:
    """Where a service the hub starts listens, set in its ``environment`` (``bind_variable``,
    unless given), and its URL as the proxy reaches it: on loopback, ``url`` as configured; on
    the notebook network's gateway, there (the proxy, on the same machine, reaches it there
    too); on every interface of the hub's container, ``url`` (loopback) for the proxy."""
    if internal == LOOPBACK or bind_variable in environment:
        return url
    parts = urlsplit(url)
    bound = parts._replace(netloc=f"{internal}:{parts.port or 80}").geturl()
    environment[bind_variable] = bound
    return url if internal == ALL_INTERFACES else bound


def configure_grader(c: Config, settings: HubSettings, catalog: CourseCatalog,
                     environ: Mapping[str, str], internal: str) -> None:
    """The grader (``HUB_GRADER``: ``managed``, started by the hub; ``external``, only routed
    to; ``off``), which learners and instructors may call, and each course's formgrader, which
    only the course's instructors may open. A managed grader listens where learners' servers
    reach it (:func:`listening_url`)."""
    if settings.grader == "off":
        return
    managed = settings.grader == "managed"
    url, environment = settings.grader_url, None
    if managed:
        environment = grader_environment(environ, settings)
        url = listening_url(url, environment, "GRADER_BIND_URL", internal)
    token = settings.grader_api_token if settings.grader == "external" else ""
    c.JupyterHub.services.append(grader_service(url, environment, token))
    c.JupyterHub.load_roles.append(grader_users_role(catalog.slugs()))
    for slug, url in formgrader_urls(settings, catalog.slugs()).items():
        environment = formgrader_environment(environ, settings) if managed else None
        c.JupyterHub.services.append(formgrader_service(slug, url, environment))
        c.JupyterHub.load_roles.append(formgrader_role(slug))


# The hub's variables a grader it starts also needs (its own GRADER_* pass through as well).
GRADER_SHARED_ENV = (
    "PATH", "LANG", "LC_ALL", "DOCKER_HOST", "STUDIO_VAR_DIR", "STUDIO_COURSES_DIR",
    "LMS_PUBLIC_URL", "LMS_INTERNAL_URL", "LMS_GRADER_TOKEN", "LMS_GRADER_TOKEN_FILE",
    "STUDIO_METRICS_TOKEN", "STUDIO_METRICS_TOKEN_FILE",
)


def grader_environment(environ: Mapping[str, str], settings: HubSettings) -> dict[str, str]:
    """The environment of the grader the hub starts (JupyterHub adds its ``JUPYTERHUB_*``):
    the studio's folders, the LMS and its grader token, the Docker engine, the metrics token,
    every ``GRADER_*``."""
    env = {
        key: value
        for key, value in environ.items()
        if key in GRADER_SHARED_ENV or key.startswith("GRADER_")
    }
    env.setdefault("PATH", os.defpath)
    if settings.image_chosen:  # the sandbox grades a course that names no image in that one
        env.setdefault("GRADER_SANDBOX_IMAGE", settings.image)
    env["STUDIO_VAR_DIR"] = str(settings.var_dir)
    env["STUDIO_COURSES_DIR"] = str(settings.courses_dir)
    return env


def formgrader_urls(settings: HubSettings, slugs: list[str]) -> dict[str, str]:
    """Each course's formgrader as the proxy reaches it: ``HUB_FORMGRADER_URL`` with ``{slug}``,
    and ``{port}`` the course's place in slug order after ``HUB_FORMGRADER_PORT``: a new course
    moves the later ones."""
    return {
        slug: settings.formgrader_url.format(port=settings.formgrader_port + index, slug=slug)
        for index, slug in enumerate(sorted(slugs))
    }


def formgrader_environment(environ: Mapping[str, str], settings: HubSettings) -> dict[str, str]:
    """The environment of a formgrader the hub starts: the grader's folders and ``GRADER_*``
    (the same course directories), without the LMS and its token (it pushes nothing), the
    metrics token (it serves no metrics) and the grader's listening address (it listens at its
    service URL, loopback: only the proxy reaches it)."""
    return {
        key: value
        for key, value in grader_environment(environ, settings).items()
        if not key.startswith(("LMS_", "STUDIO_METRICS_")) and key != "GRADER_BIND_URL"
    }


def configure_tutor(c: Config, settings: HubSettings, catalog: CourseCatalog,
                    environ: Mapping[str, str], internal: str) -> None:
    """The AI tutor (``HUB_TUTOR``: ``managed``, ``external`` or ``off``, as the grader), which
    learners and instructors may ask; a managed tutor listens where learners' servers reach it
    (:func:`listening_url`)."""
    if settings.tutor == "off":
        return
    managed = settings.tutor == "managed"
    url, environment = settings.tutor_url, None
    if managed:
        environment = tutor_environment(environ, settings)
        url = listening_url(url, environment, "TUTOR_BIND_URL", internal)
    token = settings.tutor_api_token if settings.tutor == "external" else ""
    c.JupyterHub.services.append(tutor_service(url, environment, token))
    c.JupyterHub.load_roles.append(tutor_users_role(catalog.slugs()))


# What a tutor the hub starts gets of the hub's environment, besides every OPENAI_* and
# TUTOR_* variable: nothing else of the hub's (its secrets stay the hub's).
TUTOR_SHARED_ENV = (
    "PATH", "STUDIO_VAR_DIR", "STUDIO_COURSES_DIR", "LMS_INTERNAL_URL", "LMS_TUTOR_TOKEN",
    "LMS_TUTOR_TOKEN_FILE", "STUDIO_METRICS_TOKEN", "STUDIO_METRICS_TOKEN_FILE",
)


def tutor_environment(environ: Mapping[str, str], settings: HubSettings) -> dict[str, str]:
    """The environment of the tutor the hub starts (JupyterHub adds its ``JUPYTERHUB_*``): the
    model's settings (``OPENAI_*``, which nothing else is given), the ``TUTOR_*`` limits, the
    studio's folders (solution regions, ``course.yml``), the LMS with the tutor's token (and
    its public address, where "Ask the class" sends learners), and the metrics token."""
    env = {
        key: value
        for key, value in environ.items()
        if key in TUTOR_SHARED_ENV or key.startswith(("OPENAI_", "TUTOR_"))
    }
    env.setdefault("PATH", os.defpath)
    env["STUDIO_VAR_DIR"] = str(settings.var_dir)
    env["STUDIO_COURSES_DIR"] = str(settings.courses_dir)
    env["LMS_INTERNAL_URL"] = settings.lms_internal_url
    env["LMS_PUBLIC_URL"] = settings.lms_public_url
    return env


def configure_service_access(c: Config, settings: HubSettings) -> None:
    """With the grader or the tutor on: the LMS's hub token, which may call them (for
    instructors) and nothing else, and learners' servers' tokens, which may call them too, with
    the URLs the servers reach them at (their only additions to a server's environment)."""
    called = server_urls(settings)
    if not called:
        return
    lms_token = settings.generated(settings.lms_service_token, "hub-lms-service-token")
    c.JupyterHub.services.append(lms_service(lms_token))
    c.JupyterHub.load_roles.append(lms_role(list(called)))
    configure_workspaces(c)
    c.Spawner.server_token_scopes = [*SERVER_TOKEN_SCOPES, *map(access_scope, called)]
    c.StudioSpawnerMixin.service_urls = {
        SERVER_URL_VARIABLES[service]: url for service, url in called.items()
    }


def configure_workspaces(c: Config) -> None:
    """The study groups' shared workspaces (``hub.workspaces``): the LMS's hub service may share
    the workspace users' servers with the groups' members, revoke the shares and start the
    workspaces, through the hub's one narrow endpoint for this and nothing else."""
    c.JupyterHub.custom_scopes = {**c.JupyterHub.get("custom_scopes", {}), **workspace_scopes()}
    c.JupyterHub.extra_handlers = [*c.JupyterHub.get("extra_handlers", []), *workspace_handlers()]
    c.JupyterHub.load_roles.append(lms_workspaces_role())


def configure_metrics(c: Config, settings: HubSettings) -> None:
    """``/hub/metrics`` for Prometheus: it asks for a token with the scope ``read:metrics``
    (JupyterHub's ``authenticate_prometheus``, kept on); with ``STUDIO_METRICS_TOKEN`` that
    token is the hub service ``prometheus``'s, which may read the metrics and nothing else."""
    c.JupyterHub.authenticate_prometheus = True
    if settings.metrics_token:
        c.JupyterHub.services.append(prometheus_service(settings.metrics_token))
        c.JupyterHub.load_roles.append(prometheus_role())


# Where learners' servers find the services: nbgrader's exchange calls the grader, the JupyterLab
# extension's relay asks the tutor, both with the learner's own token.
SERVER_URL_VARIABLES = {GRADER: "PLS_GRADER_URL", TUTOR: "PLS_TUTOR_URL"}


def server_urls(settings: HubSettings) -> dict[str, str]:
    """The services that are on (grader, tutor), each with its API as learners' servers reach
    it: ``HUB_<SERVICE>_SERVER_URL``, else the service's port at ``{hub_host}`` (where the server
    reaches the hub; a managed service listens there too)."""
    urls: dict[str, str] = {}
    for service, mode, url, service_url, default_port in (
        (GRADER, settings.grader, settings.grader_server_url, settings.grader_url, GRADER_PORT),
        (TUTOR, settings.tutor, settings.tutor_server_url, settings.tutor_url, TUTOR_PORT),
    ):
        if mode != "off":
            port = urlparse(service_url).port or default_port
            urls[service] = url or f"http://{{hub_host}}:{port}/services/{service}/api"
    return urls


# -- spawners ------------------------------------------------------------------------------------


def configure_spawner(c: Config, settings: HubSettings, catalog: CourseCatalog,
                      spawner: str) -> None:
    """What every spawner shares (JupyterLab, timeouts, the course folders, released
    assignments, the default image), then the chosen spawner's own step."""
    c.Spawner.default_url = "/lab"
    c.Spawner.http_timeout = settings.http_timeout
    c.Spawner.start_timeout = settings.start_timeout
    c.StudioSpawnerMixin.courses_dir = str(catalog.root)
    # The grader's released assignments are copied in at each start (on Docker, bound
    # read-only); the local fallback's learners fetch them in the Assignments panel instead,
    # because the grader's folders are private to the studio's own user there.
    grader_releases = settings.var_dir / "grader" / "courses" / "{slug}" / "release"
    copied = settings.grader == "managed" and spawner != "local"
    c.StudioSpawnerMixin.release_root = settings.release_dir or (
        str(grader_releases) if copied else "")
    c.StudioSpawnerMixin.default_image = settings.image
    SPAWNER_STEPS[spawner](c, settings)


def configure_docker_names(c: Config, settings: HubSettings) -> None:
    """The network and names of learners' containers (or Swarm services) and work volumes."""
    c.StudioDockerSpawner.network_name = settings.docker_network
    c.StudioDockerSpawner.prefix = settings.docker_prefix


def configure_docker_spawner(c: Config, settings: HubSettings) -> None:
    """A hardened container per learner on this machine's engine (hub.spawners.docker)."""
    c.JupyterHub.spawner_class = StudioDockerSpawner
    configure_docker_names(c, settings)
    c.StudioDockerSpawner.network_internal = settings.docker_network_internal
    if settings.connect_url:
        c.StudioDockerSpawner.hub_connect_url = settings.connect_url
    c.StudioDockerSpawner.host_path_prefixes = settings.docker_host_paths


def configure_swarm_spawner(c: Config, settings: HubSettings) -> None:
    """The same container as a Docker Swarm service (a Docker spawner: the same settings)."""
    c.JupyterHub.spawner_class = StudioSwarmSpawner
    configure_docker_names(c, settings)
    c.StudioSwarmSpawner.volume_driver = settings.swarm_volume_driver
    if settings.swarm_constraints:
        c.StudioSwarmSpawner.extra_placement_spec = {
            "constraints": list(settings.swarm_constraints)}
    # On the overlay network the hub reaches a server by its service name; a hub outside the
    # swarm's networks (a process on a manager) at the port published on the server's node.
    c.StudioSwarmSpawner.use_internal_ip = not settings.swarm_publish_ports


def configure_kube_spawner(c: Config, settings: HubSettings) -> None:
    """The same server as a Kubernetes pod, with a work-folder claim per learner."""
    c.JupyterHub.spawner_class = kube_spawner_class()
    c.StudioKubeSpawner.storage_capacity = settings.kube_storage
    if settings.kube_storage_class:  # unset: the cluster's default class ("" would ask for none)
        c.StudioKubeSpawner.storage_class = settings.kube_storage_class
    c.StudioKubeSpawner.materials_claim = settings.kube_materials_claim


def kube_spawner_class():
    """StudioKubeSpawner, imported only for HUB_SPAWNER=kubernetes (the ``cluster`` extra)."""
    try:
        # imported here, not above: it needs the optional extra, only this spawner does
        from hub.spawners.kubernetes import StudioKubeSpawner
    except ImportError as exc:
        raise SettingError(
            "HUB_SPAWNER",
            "kubernetes",
            f"needs jupyterhub-kubespawner (pip install 'python-learning-studio[hub,cluster]'): "
            f"{exc}",
        ) from None
    return StudioKubeSpawner


def configure_local_spawner(c: Config, settings: HubSettings) -> None:
    """Local processes with rlimits, for development only: learners are NOT ISOLATED."""
    c.JupyterHub.spawner_class = StudioLocalSpawner
    c.StudioLocalSpawner.users_dir = str(settings.hub_dir / "users")
    c.StudioLocalSpawner.cpu_seconds = settings.local_cpu_seconds
    log.warning("Local process spawner: learners' servers are NOT ISOLATED (development only)")


SPAWNER_STEPS = {
    "docker": configure_docker_spawner,
    "swarm": configure_swarm_spawner,
    "kubernetes": configure_kube_spawner,
    "local": configure_local_spawner,
}


def configure_profiles(c: Config, environ: Mapping[str, str]) -> None:
    """The resource profiles (:mod:`hub.profiles`): the built-in ``learner`` and ``instructor``
    and every ``HUB_PROFILE_<NAME>_<FIELD>`` override."""
    c.ResourceProfiles.profiles = profiles_from_env(environ)
