"""``configure(c)``: the whole hub configuration, from environment variables.

``jupyterhub_config.py`` calls this and nothing else. Every variable read here (through
:mod:`hub.settings`) is listed in ``docs/configuration.md``, section "Hub". Importing this module
does nothing; :func:`configure` reads the course folders, creates missing secrets under
``var/secrets/`` and, with ``HUB_SPAWNER=auto``, asks the Docker engine whether it answers.
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
from hub.services import idle_culler_role, idle_culler_service
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
from hub.spawners import StudioDockerSpawner, StudioLocalSpawner

log = logging.getLogger("hub.config")

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
SPAWNER_CHOICES = ("docker", "local", "auto")
ALL_INTERFACES = "0.0.0.0"  # noqa: S104 - only for the hub API with Docker (see configure)


def docker_engine_answers(timeout: float = 3.0) -> bool:
    """True when a Docker engine answers a ping (DOCKER_HOST or the local socket)."""
    try:
        import docker

        client = docker.from_env(timeout=timeout)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception as exc:
        log.info("No Docker engine answers (%s)", exc.__class__.__name__)
        return False


def choose_spawner(environ: Mapping[str, str], probe=docker_engine_answers) -> str:
    """``docker`` or ``local`` from ``HUB_SPAWNER`` (``auto``: docker if an engine answers)."""
    choice = env_str("HUB_SPAWNER", "auto", environ).lower()
    if choice not in SPAWNER_CHOICES:
        raise SettingError("HUB_SPAWNER", choice, f"must be one of {', '.join(SPAWNER_CHOICES)}")
    if choice == "auto":
        choice = "docker" if probe() else "local"
        log.warning("HUB_SPAWNER=auto: using the %s spawner", choice)
    return choice


def configure(c: Config, environ: Mapping[str, str] | None = None, probe=docker_engine_answers):
    """Fill ``c`` (a traitlets Config, as in jupyterhub_config.py) from the environment."""
    environ = os.environ if environ is None else environ
    var = var_dir(environ)
    secrets_dir = var / "secrets"
    hub_dir = var / "hub"
    hub_dir.mkdir(parents=True, exist_ok=True)
    spawner = choose_spawner(environ, probe)
    docker = spawner == "docker"

    # -- the hub and its proxy --------------------------------------------------------------
    lms_public = env_str("LMS_PUBLIC_URL", "http://127.0.0.1:8000", environ).rstrip("/")
    c.JupyterHub.bind_url = env_str("HUB_BIND_URL", "http://127.0.0.1:8001", environ)
    # With Docker, containers reach the hub's API at the notebook network's gateway (the host),
    # so the API listens on every interface; hub-managed services still use loopback.
    default_api = f"http://{ALL_INTERFACES}:8081" if docker else "http://127.0.0.1:8081"
    c.JupyterHub.hub_bind_url = env_str("HUB_API_BIND_URL", default_api, environ)
    api = urlparse(c.JupyterHub.hub_bind_url)
    if api.hostname in {ALL_INTERFACES, "::"}:
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
    grader = env_str("HUB_GRADER_SERVICE", "", environ) or None
    roles = course_roles(catalog.slugs(), grader)

    # -- idle culling --------------------------------------------------------------------------
    timeout = env_int("HUB_IDLE_TIMEOUT", 3600, environ)
    services = []
    if timeout > 0:
        every = env_int("HUB_IDLE_CULL_EVERY", 0, environ) or None
        services.append(idle_culler_service(timeout, every))
        roles.append(idle_culler_role())
    c.JupyterHub.services = services
    c.JupyterHub.load_roles = roles

    # -- spawners ------------------------------------------------------------------------------
    c.Spawner.default_url = "/lab"
    c.Spawner.http_timeout = 120
    c.Spawner.start_timeout = 180
    c.StudioSpawnerMixin.courses_dir = str(catalog.root)
    c.StudioSpawnerMixin.release_root = env_str("HUB_RELEASE_DIR", "", environ)
    c.StudioSpawnerMixin.default_image = env_str("HUB_IMAGE", "pls-notebook:latest", environ)
    c.ResourceProfiles.profiles = profiles_from_env(environ)
    if docker:
        c.JupyterHub.spawner_class = StudioDockerSpawner
        c.StudioDockerSpawner.network_name = env_str("HUB_DOCKER_NETWORK", "pls-notebooks", environ)
        c.StudioDockerSpawner.prefix = env_str("HUB_DOCKER_PREFIX", "pls", environ)
        c.StudioDockerSpawner.network_internal = env_bool(
            "HUB_DOCKER_NETWORK_INTERNAL", True, environ
        )
        connect = env_str("HUB_CONNECT_URL", "", environ)
        if connect:
            c.StudioDockerSpawner.hub_connect_url = connect
    else:
        c.JupyterHub.spawner_class = StudioLocalSpawner
        c.StudioLocalSpawner.users_dir = str(hub_dir / "users")
        c.StudioLocalSpawner.cpu_seconds = env_int("HUB_LOCAL_CPU_SECONDS", 3600, environ)
        log.warning(
            "Local process spawner: learners' servers are NOT ISOLATED (development only)"
        )
    return c
