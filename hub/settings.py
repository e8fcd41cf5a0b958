"""The hub's settings: every variable it reads, one field each, and the secrets it generates.

:class:`HubSettings` is a :class:`servicekit.settings.EnvSettings`: each field is named by its
variable (``validation_alias``) with its type, default and bounds, and a value the hub cannot use
stops it at startup with a :class:`servicekit.settings.SettingError` naming the variable. Every
variable is listed in ``docs/configuration.md`` (section "Hub"). The resource profiles'
``HUB_PROFILE_<NAME>_<FIELD>`` variables, whose names depend on the profiles, are read by
:mod:`hub.profiles`; the ``GRADER_*``, ``OPENAI_*`` and ``TUTOR_*`` variables the hub passes to
the services it starts are theirs to read (:mod:`hub.config`).

Reading the settings never writes anything; :meth:`HubSettings.generated` creates a secret's
file on first use (like ``make up`` does for the LMS).
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BeforeValidator, Field

from servicekit.secrets import generated_secret
from servicekit.settings import AnyCase, AnyCaseUpper, EnvSettings, Folder, Url, secret
from servicekit.state import (
    DEFAULT_DOCKER_PREFIX,
    DEFAULT_LEARNER_IMAGE,
    hub_database,
    sqlite_url,
)

REPO_ROOT = Path(__file__).resolve().parent.parent

SpawnerChoice = Literal["docker", "swarm", "kubernetes", "local", "auto"]
ServiceMode = Literal["managed", "external", "off"]  # where the grader, the tutor run
LogLevel = Literal["DEBUG", "INFO", "WARN", "ERROR", "CRITICAL"]  # JupyterHub's log_level names


def _host_path_pairs(value: object) -> object:
    """``/path/in/hub=/path/on/host`` pairs, comma-separated, as ``{inside: host}``."""
    if not isinstance(value, str):
        return value
    pairs: dict[str, str] = {}
    for item in value.split(","):
        if not item.strip():
            continue
        inside, sep, host = (part.strip() for part in item.partition("="))
        if not sep or not inside.startswith("/") or not host.startswith("/"):
            raise ValueError("must be /path/in/hub=/path/on/host pairs, comma-separated")
        pairs[inside] = host
    return pairs


def _comma_separated(value: object) -> object:
    """Comma-separated items, in order, white space and empty items dropped."""
    if isinstance(value, str):
        return tuple(item.strip() for item in value.split(",") if item.strip())
    return value


def _public_origin(value: str) -> str:
    """The hub's public URL as JupyterHub's ``subdomain_host`` needs it: ``http(s)://host[:port]``
    naming a host (learners' servers are on subdomains of it), without a trailing slash."""
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.hostname or parts.path.strip("/") \
            or parts.query or parts.fragment:
        raise ValueError("must be http(s)://host[:port] without a path, e.g. "
                         "https://hub.example.org")
    try:
        ipaddress.ip_address(parts.hostname)
    except ValueError:
        return f"{parts.scheme}://{parts.netloc}"
    raise ValueError("must name a host, not an IP address: learners' servers are on subdomains "
                     "of it (e.g. http://localhost:8001, https://hub.example.org)")


Port = Annotated[int, Field(ge=1, le=65535)]
PublicOrigin = Annotated[str, AfterValidator(_public_origin)]


class HubSettings(EnvSettings):
    """Every variable the hub reads but the profiles', grouped as in docs/configuration.md."""

    # -- the studio's folders (shared with the LMS, the grader and the tutor) ------------------
    var_dir: Folder = Field(REPO_ROOT / "var", validation_alias="STUDIO_VAR_DIR")
    courses_dir: Folder = Field(REPO_ROOT / "courses", validation_alias="STUDIO_COURSES_DIR")

    # -- the hub and its proxy -------------------------------------------------------------
    spawner: Annotated[SpawnerChoice, AnyCase] = Field(
        "auto", validation_alias="HUB_SPAWNER")
    bind_url: str = Field("http://127.0.0.1:8001", validation_alias="HUB_BIND_URL")
    # browsers' URL of the hub; learners' servers and formgraders get subdomains of its host
    public_url: PublicOrigin = Field("http://localhost:8001", validation_alias="HUB_PUBLIC_URL")
    api_bind_url: str = Field("", validation_alias="HUB_API_BIND_URL")  # "": by spawner
    connect_url: str = Field("", validation_alias="HUB_CONNECT_URL")
    proxy_api_url: str = Field("http://127.0.0.1:8002", validation_alias="HUB_PROXY_API_URL")
    proxy_auth_token: str = secret("CONFIGPROXY_AUTH_TOKEN")
    crypt_key: str = secret("JUPYTERHUB_CRYPT_KEY")
    db_url: str = Field(
        default_factory=lambda data: sqlite_url(hub_database(data["var_dir"])),
        validation_alias="HUB_DB_URL",
    )
    log_level: Annotated[LogLevel, AnyCaseUpper] = Field(
        "INFO", validation_alias="HUB_LOG_LEVEL")

    # -- sign-on through the LMS -----------------------------------------------------------
    lms_public_url: Url = Field("http://127.0.0.1:8000", validation_alias="LMS_PUBLIC_URL")
    lms_internal_url: str = Field(
        default_factory=lambda data: data["lms_public_url"], validation_alias="LMS_INTERNAL_URL")
    # unset or empty: "jupyterhub", as `make up` registers the hub (defaults are validated too)
    oauth_client_id: Annotated[str, AfterValidator(lambda value: value or "jupyterhub")] = (
        secret("HUB_OAUTH_CLIENT_ID"))
    oauth_client_secret: str = secret("HUB_OAUTH_CLIENT_SECRET")
    oauth_callback_url: str = Field(
        default_factory=lambda data: f"{data['public_url']}/hub/oauth_callback",
        validation_alias="HUB_OAUTH_CALLBACK_URL")

    # -- learners' servers -----------------------------------------------------------------
    image: str = Field(DEFAULT_LEARNER_IMAGE, validation_alias="HUB_IMAGE")
    docker_network: str = Field("pls-notebooks", validation_alias="HUB_DOCKER_NETWORK")
    docker_prefix: str = Field(DEFAULT_DOCKER_PREFIX, validation_alias="HUB_DOCKER_PREFIX")
    docker_host_paths: Annotated[dict[str, str], BeforeValidator(_host_path_pairs)] = Field(
        default_factory=dict, validation_alias="HUB_DOCKER_HOST_PATHS")
    docker_network_internal: bool = Field(True, validation_alias="HUB_DOCKER_NETWORK_INTERNAL")
    swarm_volume_driver: str = Field("", validation_alias="HUB_SWARM_VOLUME_DRIVER")
    swarm_constraints: Annotated[tuple[str, ...], BeforeValidator(_comma_separated)] = Field(
        (), validation_alias="HUB_SWARM_CONSTRAINTS")
    swarm_publish_ports: bool = Field(False, validation_alias="HUB_SWARM_PUBLISH_PORTS")
    kube_storage: str = Field("1Gi", validation_alias="HUB_KUBE_STORAGE")
    kube_storage_class: str = Field("", validation_alias="HUB_KUBE_STORAGE_CLASS")
    kube_materials_claim: str = Field("", validation_alias="HUB_KUBE_MATERIALS_CLAIM")
    release_dir: str = Field("", validation_alias="HUB_RELEASE_DIR")  # "": by grader mode
    local_cpu_seconds: int = Field(3600, validation_alias="HUB_LOCAL_CPU_SECONDS", ge=1)
    # How long a start may take: the spawner's own (the container created and started), then
    # the server's until it answers. Many learners starting at once on few cores (a class at
    # its start) share the CPU, so each start takes longer (docs/architecture.md, "A learner
    # storm").
    start_timeout: int = Field(180, validation_alias="HUB_START_TIMEOUT", ge=10)
    http_timeout: int = Field(120, validation_alias="HUB_HTTP_TIMEOUT", ge=10)

    # -- idle culling ----------------------------------------------------------------------
    idle_timeout: int = Field(3600, validation_alias="HUB_IDLE_TIMEOUT", ge=0)  # 0: off
    idle_cull_every: int = Field(0, validation_alias="HUB_IDLE_CULL_EVERY", ge=0)  # 0: auto

    # -- the grader, its formgraders and the tutor -------------------------------------------
    grader: Annotated[ServiceMode, AnyCase] = Field(
        "managed", validation_alias="HUB_GRADER")
    grader_url: str = Field("http://127.0.0.1:10101", validation_alias="HUB_GRADER_URL")
    grader_server_url: str = Field("", validation_alias="HUB_GRADER_SERVER_URL")
    grader_api_token: str = secret("HUB_GRADER_API_TOKEN")
    formgrader_port: Port = Field(10110, validation_alias="HUB_FORMGRADER_PORT")
    formgrader_url: str = Field("http://127.0.0.1:{port}", validation_alias="HUB_FORMGRADER_URL")
    tutor: Annotated[ServiceMode, AnyCase] = Field(
        "managed", validation_alias="HUB_TUTOR")
    tutor_url: str = Field("http://127.0.0.1:10102", validation_alias="HUB_TUTOR_URL")
    tutor_server_url: str = Field("", validation_alias="HUB_TUTOR_SERVER_URL")
    tutor_api_token: str = secret("HUB_TUTOR_API_TOKEN")
    lms_service_token: str = secret("HUB_LMS_SERVICE_TOKEN")

    # -- metrics -----------------------------------------------------------------------------
    # Prometheus reads /hub/metrics with it, as the hub service `prometheus` (read:metrics only);
    # the grader and the tutor the hub starts get it too (their own /metrics)
    metrics_token: str = secret("STUDIO_METRICS_TOKEN")

    # -- what follows from the fields --------------------------------------------------------

    @property
    def hub_dir(self) -> Path:
        """``<STUDIO_VAR_DIR>/hub``: the hub's database, pid files and local users' folders."""
        return self.var_dir / "hub"

    @property
    def secrets_dir(self) -> Path:
        """``<STUDIO_VAR_DIR>/secrets``: the secrets the hub generates when none is given."""
        return self.var_dir / "secrets"

    @property
    def image_chosen(self) -> bool:
        """Whether ``HUB_IMAGE`` was set (the grader then grades in that image too)."""
        return "image" in self.model_fields_set

    def generated(self, value: str, name: str) -> str:
        """``value`` when the environment gave one, else the secret generated once into
        ``<STUDIO_VAR_DIR>/secrets/<name>`` (mode 0600, the same at every start)."""
        return value or generated_secret(self.secrets_dir / name)
