"""``configure(c)``: the whole hub configuration, from environment variables.

``jupyterhub_config.py`` calls this and nothing else. Every variable read here (through
:mod:`hub.settings`) is listed in ``docs/configuration.md``, section "Hub". Importing this module
does nothing; :func:`configure` reads the course folders, creates missing secrets under
``var/secrets/`` and, with ``HUB_SPAWNER=auto``, asks the Docker engine whether it answers.
``HUB_SPAWNER=kubernetes`` imports KubeSpawner (the ``cluster`` extra) only then.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlparse

from traitlets.config import Config

from hub.authenticator import StudioAuthenticator
from hub.courses import CourseCatalog
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
    tutor_service,
    tutor_users_role,
)
from hub.settings import (
    SettingError,
    courses_dir,
    env_bool,
    env_int,
    env_secret,
    env_str,
    generated_secret,
    var_dir,
)
from hub.spawners import StudioDockerSpawner, StudioLocalSpawner, StudioSwarmSpawner
from servicekit.docker_engine import docker_engine_answers

log = logging.getLogger("hub.config")

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
SPAWNER_CHOICES = ("docker", "swarm", "kubernetes", "local", "auto")
GRADER_MODES = ("managed", "external", "off")
GRADER_PORT = 10101
FORMGRADER_PORT = 10110  # the first course's formgrader; the next course's is 10111, ...
TUTOR_MODES = GRADER_MODES
TUTOR_PORT = 10102
CLUSTER_SPAWNERS = ("swarm", "kubernetes")  # learners' servers on other machines
ALL_INTERFACES = "0.0.0.0"  # noqa: S104 - only for the hub API with containers (see configure)


def choose_spawner(environ: Mapping[str, str], probe=docker_engine_answers) -> str:
    """One of SPAWNER_CHOICES but ``auto`` from ``HUB_SPAWNER`` (``auto``: ``docker`` if an
    engine answers, else ``local``; a cluster is never guessed)."""
    choice = env_str("HUB_SPAWNER", "auto", environ).lower()
    if choice not in SPAWNER_CHOICES:
        raise SettingError("HUB_SPAWNER", choice, f"must be one of {', '.join(SPAWNER_CHOICES)}")
    if choice == "auto":
        choice = "docker" if probe() else "local"
        log.warning("HUB_SPAWNER=auto: using the %s spawner", choice)
    return choice


def cluster_hub_url(spawner: str, environ: Mapping[str, str]) -> str:
    """``HUB_CONNECT_URL``, required on a cluster: no default address would be right."""
    url = env_str("HUB_CONNECT_URL", "", environ)
    if not url:
        raise SettingError(
            "HUB_CONNECT_URL",
            url,
            f"is required with HUB_SPAWNER={spawner}: the hub's API as servers on the cluster "
            "reach it, e.g. http://hub:8081",
        )
    return url


def kube_spawner_class():
    """StudioKubeSpawner, imported only for HUB_SPAWNER=kubernetes (the ``cluster`` extra)."""
    try:
        from hub.spawners.kubernetes import StudioKubeSpawner
    except ImportError as exc:
        raise SettingError(
            "HUB_SPAWNER",
            "kubernetes",
            f"needs jupyterhub-kubespawner (pip install 'python-learning-studio[hub,cluster]'): "
            f"{exc}",
        ) from None
    return StudioKubeSpawner


def choose_grader(environ: Mapping[str, str]) -> str:
    """``HUB_GRADER``: ``managed`` (the hub starts the grader), ``external`` or ``off``."""
    choice = env_str("HUB_GRADER", "managed", environ).lower()
    if choice not in GRADER_MODES:
        raise SettingError("HUB_GRADER", choice, f"must be one of {', '.join(GRADER_MODES)}")
    return choice


# The hub's variables a grader it starts also needs (its own GRADER_* pass through as well).
GRADER_SHARED_ENV = (
    "PATH", "LANG", "LC_ALL", "DOCKER_HOST", "STUDIO_VAR_DIR", "STUDIO_COURSES_DIR",
    "LMS_PUBLIC_URL", "LMS_INTERNAL_URL", "LMS_GRADER_TOKEN", "LMS_GRADER_TOKEN_FILE",
)


def grader_environment(environ: Mapping[str, str], containers: bool) -> dict[str, str]:
    """The environment of the grader the hub starts (JupyterHub adds its ``JUPYTERHUB_*``):
    the studio's folders, the LMS and its grader token, the Docker engine, every ``GRADER_*``.
    With containers it listens on every interface, like the hub's API: learners' servers reach
    it at the notebook network's gateway."""
    env = {
        key: value
        for key, value in environ.items()
        if key in GRADER_SHARED_ENV or key.startswith("GRADER_")
    }
    env.setdefault("PATH", os.defpath)
    image = env_str("HUB_IMAGE", "", environ)
    if image:  # the sandbox grades a course that names no image in the studio's default one
        env.setdefault("GRADER_SANDBOX_IMAGE", image)
    env["STUDIO_VAR_DIR"] = str(var_dir(environ))
    env["STUDIO_COURSES_DIR"] = str(courses_dir(environ))
    if containers and "GRADER_BIND_URL" not in env:
        port = urlparse(env_str("HUB_GRADER_URL", "", environ)).port or GRADER_PORT
        env["GRADER_BIND_URL"] = f"http://{ALL_INTERFACES}:{port}"
    return env


def formgrader_urls(environ: Mapping[str, str], slugs: list[str]) -> dict[str, str]:
    """Each course's formgrader as the proxy reaches it: ``HUB_FORMGRADER_URL`` (default
    ``http://127.0.0.1:{port}``) with ``{slug}``, and ``{port}`` the course's place in slug
    order after ``HUB_FORMGRADER_PORT`` (default 10110): a new course moves the later ones."""
    template = env_str("HUB_FORMGRADER_URL", "http://127.0.0.1:{port}", environ)
    first = env_int("HUB_FORMGRADER_PORT", FORMGRADER_PORT, environ)
    return {
        slug: template.format(port=first + index, slug=slug)
        for index, slug in enumerate(sorted(slugs))
    }


def formgrader_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment of a formgrader the hub starts: the grader's folders and ``GRADER_*``
    (the same course directories), without the LMS and its token (it pushes nothing) and
    without the grader's listening address (it listens at its service URL, loopback: only
    the proxy reaches it)."""
    return {
        key: value
        for key, value in grader_environment(environ, containers=False).items()
        if not key.startswith("LMS_") and key != "GRADER_BIND_URL"
    }


def choose_tutor(environ: Mapping[str, str]) -> str:
    """``HUB_TUTOR``: ``managed`` (the hub starts the tutor), ``external`` or ``off``."""
    choice = env_str("HUB_TUTOR", "managed", environ).lower()
    if choice not in TUTOR_MODES:
        raise SettingError("HUB_TUTOR", choice, f"must be one of {', '.join(TUTOR_MODES)}")
    return choice


# What a tutor the hub starts gets of the hub's environment, besides every OPENAI_* and
# TUTOR_* variable: nothing else of the hub's (its secrets stay the hub's).
TUTOR_SHARED_ENV = (
    "PATH", "STUDIO_VAR_DIR", "STUDIO_COURSES_DIR", "LMS_INTERNAL_URL", "LMS_TUTOR_TOKEN",
    "LMS_TUTOR_TOKEN_FILE",
)


def tutor_environment(environ: Mapping[str, str], containers: bool) -> dict[str, str]:
    """The environment of the tutor the hub starts (JupyterHub adds its ``JUPYTERHUB_*``): the
    model's settings (``OPENAI_*``, which nothing else is given), the ``TUTOR_*`` limits, the
    studio's folders (solution regions, ``course.yml``) and the LMS with the tutor's token.
    With containers it listens on every interface: learners' servers reach it at the notebook
    network's gateway, as they reach the hub's API."""
    env = {
        key: value
        for key, value in environ.items()
        if key in TUTOR_SHARED_ENV or key.startswith(("OPENAI_", "TUTOR_"))
    }
    env.setdefault("PATH", os.defpath)
    env["STUDIO_VAR_DIR"] = str(var_dir(environ))
    env["STUDIO_COURSES_DIR"] = str(courses_dir(environ))
    lms_public = env_str("LMS_PUBLIC_URL", "http://127.0.0.1:8000", environ)
    env["LMS_INTERNAL_URL"] = env_str("LMS_INTERNAL_URL", lms_public, environ)
    if containers and "TUTOR_BIND_URL" not in env:
        port = urlparse(env_str("HUB_TUTOR_URL", "", environ)).port or TUTOR_PORT
        env["TUTOR_BIND_URL"] = f"http://{ALL_INTERFACES}:{port}"
    return env


def server_url(environ: Mapping[str, str], variable: str, service_url: str, service: str,
               default_port: int) -> str:
    """A service's API as learners' servers reach it: ``variable``, else the service's port at
    ``{hub_host}`` (where the server reaches the hub; a managed service listens there too)."""
    port = urlparse(service_url).port or default_port
    return env_str(variable, f"http://{{hub_host}}:{port}/services/{service}/api", environ)


def host_path_prefixes(environ: Mapping[str, str]) -> dict[str, str]:
    """``HUB_DOCKER_HOST_PATHS``: ``<path in the hub>=<path on the Docker host>`` pairs,
    comma-separated, for a hub in a container whose course files the engine must bind-mount
    into learners' containers by their host path (docker-compose.yml)."""
    pairs: dict[str, str] = {}
    for item in env_str("HUB_DOCKER_HOST_PATHS", "", environ).split(","):
        if not item.strip():
            continue
        inside, sep, host = (part.strip() for part in item.partition("="))
        if not sep or not inside.startswith("/") or not host.startswith("/"):
            raise SettingError("HUB_DOCKER_HOST_PATHS", item,
                               "must be /path/in/hub=/path/on/host pairs, comma-separated")
        pairs[inside] = host
    return pairs


def configure(c: Config, environ: Mapping[str, str] | None = None, probe=docker_engine_answers):
    """Fill ``c`` (a traitlets Config, as in jupyterhub_config.py) from the environment."""
    environ = os.environ if environ is None else environ
    var = var_dir(environ)
    secrets_dir = var / "secrets"
    hub_dir = var / "hub"
    hub_dir.mkdir(parents=True, exist_ok=True)
    spawner = choose_spawner(environ, probe)
    docker = spawner == "docker"
    containers = spawner != "local"

    # -- the hub and its proxy --------------------------------------------------------------
    lms_public = env_str("LMS_PUBLIC_URL", "http://127.0.0.1:8000", environ).rstrip("/")
    c.JupyterHub.bind_url = env_str("HUB_BIND_URL", "http://127.0.0.1:8001", environ)
    # With Docker, containers reach the hub's API at the notebook network's gateway (the host),
    # so the API listens on every interface; hub-managed services still use loopback. On a
    # cluster, servers (and, with Kubernetes, the proxy's own pod) use the hub's service address.
    default_api = f"http://{ALL_INTERFACES}:8081" if containers else "http://127.0.0.1:8081"
    c.JupyterHub.hub_bind_url = env_str("HUB_API_BIND_URL", default_api, environ)
    api = urlparse(c.JupyterHub.hub_bind_url)
    if spawner in CLUSTER_SPAWNERS:
        c.JupyterHub.hub_connect_url = cluster_hub_url(spawner, environ)
    elif api.hostname in {ALL_INTERFACES, "::"}:
        c.JupyterHub.hub_connect_url = f"http://127.0.0.1:{api.port or 8081}"
    c.ConfigurableHTTPProxy.api_url = env_str("HUB_PROXY_API_URL", "http://127.0.0.1:8002", environ)
    c.ConfigurableHTTPProxy.auth_token = env_secret(
        "CONFIGPROXY_AUTH_TOKEN", environ
    ) or generated_secret(secrets_dir / "hub-proxy-token")
    c.JupyterHub.db_url = env_str(
        "HUB_DB_URL", f"sqlite:///{hub_dir / 'jupyterhub.sqlite'}", environ
    )
    c.JupyterHub.cookie_secret_file = str(secrets_dir / "hub-cookie-secret")
    c.JupyterHub.pid_file = str(hub_dir / "jupyterhub.pid")
    c.ConfigurableHTTPProxy.pid_file = str(hub_dir / "jupyterhub-proxy.pid")
    c.JupyterHub.cleanup_servers = False  # a hub restart leaves learners' servers running
    c.JupyterHub.implicit_spawn_seconds = 0.5  # deep links start the server (progress page)
    c.JupyterHub.template_paths = [str(TEMPLATES_DIR)]
    c.JupyterHub.template_vars = {"lms_url": lms_public}
    c.JupyterHub.log_level = env_str("HUB_LOG_LEVEL", "INFO", environ).upper()
    crypt_key = env_secret("JUPYTERHUB_CRYPT_KEY", environ) or generated_secret(
        secrets_dir / "hub-crypt-key"
    )
    c.CryptKeeper.keys = [crypt_key]
    if environ is os.environ:
        # JupyterHub's CryptKeeper.instance() is created without config: it reads the env only
        os.environ["JUPYTERHUB_CRYPT_KEY"] = crypt_key

    # -- sign-on through the LMS ------------------------------------------------------------
    c.JupyterHub.authenticator_class = StudioAuthenticator
    c.StudioAuthenticator.lms_public_url = lms_public
    c.StudioAuthenticator.lms_internal_url = env_str("LMS_INTERNAL_URL", lms_public, environ)
    c.StudioAuthenticator.client_id = env_secret("HUB_OAUTH_CLIENT_ID", environ) or "jupyterhub"
    c.StudioAuthenticator.client_secret = env_secret(
        "HUB_OAUTH_CLIENT_SECRET", environ
    ) or generated_secret(secrets_dir / "hub-oauth-client-secret")
    c.StudioAuthenticator.oauth_callback_url = env_str(
        "HUB_OAUTH_CALLBACK_URL", "http://127.0.0.1:8001/hub/oauth_callback", environ
    )
    c.StudioAuthenticator.enable_auth_state = True  # groups refresh from the LMS before spawns

    # -- RBAC: one instructor role per course, the culler's role ----------------------------
    catalog = CourseCatalog(courses_dir(environ))
    roles = course_roles(catalog.slugs())

    # -- idle culling --------------------------------------------------------------------------
    timeout = env_int("HUB_IDLE_TIMEOUT", 3600, environ)
    services = []
    if timeout > 0:
        every = env_int("HUB_IDLE_CULL_EVERY", 0, environ) or None
        services.append(idle_culler_service(timeout, every))
        roles.append(idle_culler_role())

    # -- the grader and the tutor, and the LMS's token for them --------------------------------
    grader = choose_grader(environ)
    tutor = choose_tutor(environ)
    called: list[str] = []  # the services learners' servers and the LMS may call
    service_urls: dict[str, str] = {}
    if grader != "off":
        grader_url = env_str("HUB_GRADER_URL", f"http://127.0.0.1:{GRADER_PORT}", environ)
        environment = grader_environment(environ, containers) if grader == "managed" else None
        token = env_secret("HUB_GRADER_API_TOKEN", environ) if grader == "external" else ""
        services.append(grader_service(grader_url, environment, token))
        roles.append(grader_users_role(catalog.slugs()))
        for slug, url in formgrader_urls(environ, catalog.slugs()).items():
            environment = formgrader_environment(environ) if grader == "managed" else None
            services.append(formgrader_service(slug, url, environment))
            roles.append(formgrader_role(slug))
        called.append(GRADER)
        # Learners' servers call the grader with their own token (nbgrader's exchange).
        service_urls["PLS_GRADER_URL"] = server_url(
            environ, "HUB_GRADER_SERVER_URL", grader_url, GRADER, GRADER_PORT
        )
    if tutor != "off":
        tutor_url = env_str("HUB_TUTOR_URL", f"http://127.0.0.1:{TUTOR_PORT}", environ)
        environment = tutor_environment(environ, containers) if tutor == "managed" else None
        token = env_secret("HUB_TUTOR_API_TOKEN", environ) if tutor == "external" else ""
        services.append(tutor_service(tutor_url, environment, token))
        roles.append(tutor_users_role(catalog.slugs()))
        called.append(TUTOR)
        # The JupyterLab extension's handler asks the tutor with the learner's own token.
        service_urls["PLS_TUTOR_URL"] = server_url(
            environ, "HUB_TUTOR_SERVER_URL", tutor_url, TUTOR, TUTOR_PORT
        )
    if called:
        lms_token = env_secret("HUB_LMS_SERVICE_TOKEN", environ) or generated_secret(
            secrets_dir / "hub-lms-service-token"
        )
        services.append(lms_service(lms_token))
        roles.append(lms_role(called))
        c.Spawner.server_token_scopes = [*SERVER_TOKEN_SCOPES, *map(access_scope, called)]
        c.StudioSpawnerMixin.service_urls = service_urls
    c.JupyterHub.services = services
    c.JupyterHub.load_roles = roles

    # -- spawners ------------------------------------------------------------------------------
    c.Spawner.default_url = "/lab"
    c.Spawner.http_timeout = 120
    c.Spawner.start_timeout = 180
    c.StudioSpawnerMixin.courses_dir = str(catalog.root)
    # The grader's released assignments are copied in at each start (on Docker, bound
    # read-only); the local fallback's learners fetch them in the Assignments panel instead,
    # because the grader's folders are private to the studio's own user there.
    grader_releases = str(var / "grader" / "courses" / "{slug}" / "release")
    c.StudioSpawnerMixin.release_root = env_str(
        "HUB_RELEASE_DIR", grader_releases if grader == "managed" and containers else "", environ
    )
    c.StudioSpawnerMixin.default_image = env_str("HUB_IMAGE", "pls-notebook:latest", environ)
    c.ResourceProfiles.profiles = profiles_from_env(environ)
    if spawner in ("docker", "swarm"):  # the Swarm spawner is a Docker spawner: same settings
        c.StudioDockerSpawner.network_name = env_str("HUB_DOCKER_NETWORK", "pls-notebooks", environ)
        c.StudioDockerSpawner.prefix = env_str("HUB_DOCKER_PREFIX", "pls", environ)
    if docker:
        c.JupyterHub.spawner_class = StudioDockerSpawner
        c.StudioDockerSpawner.network_internal = env_bool(
            "HUB_DOCKER_NETWORK_INTERNAL", True, environ
        )
        connect = env_str("HUB_CONNECT_URL", "", environ)
        if connect:
            c.StudioDockerSpawner.hub_connect_url = connect
        c.StudioDockerSpawner.host_path_prefixes = host_path_prefixes(environ)
    elif spawner == "swarm":
        c.JupyterHub.spawner_class = StudioSwarmSpawner
        c.StudioSwarmSpawner.volume_driver = env_str("HUB_SWARM_VOLUME_DRIVER", "", environ)
    elif spawner == "kubernetes":
        c.JupyterHub.spawner_class = kube_spawner_class()
        c.StudioKubeSpawner.storage_capacity = env_str("HUB_KUBE_STORAGE", "1Gi", environ)
        storage_class = env_str("HUB_KUBE_STORAGE_CLASS", "", environ)
        if storage_class:  # unset: the cluster's default class ("" would ask for none)
            c.StudioKubeSpawner.storage_class = storage_class
        c.StudioKubeSpawner.materials_claim = env_str("HUB_KUBE_MATERIALS_CLAIM", "", environ)
    else:
        c.JupyterHub.spawner_class = StudioLocalSpawner
        c.StudioLocalSpawner.users_dir = str(hub_dir / "users")
        c.StudioLocalSpawner.cpu_seconds = env_int("HUB_LOCAL_CPU_SECONDS", 3600, environ)
        log.warning(
            "Local process spawner: learners' servers are NOT ISOLATED (development only)"
        )
    return c
