"""The LMS's environment, read in one place: every variable an admin may set, with its type and
default (docs/configuration.md, "LMS", "Sign-on" and "Services").

``lms/settings/base.py`` reads :class:`LMSEnvironment` once, when Django loads the settings, and
turns it into Django settings; a value the LMS cannot use stops it with the variable's name, the
value and what it must be (``LMS_GRADER_TIMEOUT='abc': must be a number``), before anything
runs. The commands that run at every start read their own variables when they run
(:class:`HubClientEnvironment` for ``register_hub_client``; the service accounts' tokens,
``lms.accounts.service_accounts``).
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
import zoneinfo
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

import dj_database_url
from pydantic import AfterValidator, Field

from servicekit.settings import EnvSettings, SettingError, secret

HIDDEN = "(not shown)"  # in place of a value that may hold a secret, in an error
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# Django REST framework's throttle rates: requests per second, minute, hour or day.
RATE = re.compile(r"\d+/(s|m|h|d)\w*")


def _http_url(value: str) -> str:
    """An http(s) URL without its trailing slash; '' stays '' (for the services: none)."""
    parts = urlsplit(value)
    if value and (parts.scheme not in {"http", "https"} or not parts.netloc):
        raise ValueError("must be an http:// or https:// URL")
    return value.rstrip("/")


def _rate(value: str) -> str:
    if not RATE.fullmatch(value):
        raise ValueError("must be a rate such as 60/min: a number of requests per s, min, hour "
                         "or day")
    return value


def _log_level(value: str) -> str:
    if value.upper() not in LOG_LEVELS:
        raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
    return value.upper()


def _time_zone(value: str) -> str:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError("must be a time zone name such as UTC or Europe/Berlin") from None
    return value


# SQLite (``make up``'s LMS) with several writers at once (gunicorn's workers, the background
# worker, the grader's pushes, sign-ins writing sessions and tokens): a transaction takes the
# write lock when it begins (IMMEDIATE), so one that read first cannot fail at once with
# "database is locked" when it goes on to write (SQLite does not wait to upgrade a read lock),
# and a writer waits up to 20 s for another's commit instead of SQLite's default 5 s.
SQLITE_OPTIONS = {"transaction_mode": "IMMEDIATE", "timeout": 20}
# Django's database backends, and django-prometheus's of the same database (a subclass that
# counts what it does).
COUNTED_ENGINES = {
    # django-prometheus's, health-checking only a connection that may have gone stale
    "django.db.backends.postgresql": "lms.base.database.postgresql",
    "django.db.backends.sqlite3": "django_prometheus.db.backends.sqlite3",
}

def _email_security(value: str) -> str:
    if value.lower() not in EMAIL_SECURITY:
        raise ValueError(f"must be one of {', '.join(EMAIL_SECURITY)}")
    return value.lower()


EMAIL_SECURITY = ("starttls", "ssl", "none")
HttpURL = Annotated[str, AfterValidator(_http_url)]
Rate = Annotated[str, AfterValidator(_rate)]


def _names(value: str) -> list[str]:
    """A comma-separated list, without empty entries."""
    return [name.strip() for name in value.split(",") if name.strip()]


# A host name as DNS has it (letters, digits, '-', dots): a proxy named by its service, e.g. front.
_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
HOST_NAME = re.compile(rf"{_LABEL}(\.{_LABEL})*")


def _proxies(value: str) -> str:
    for entry in _names(value):
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            if not HOST_NAME.fullmatch(entry):
                raise ValueError(
                    f"{entry!r} is not an address, a network or a host name: list the proxies "
                    "in front of the LMS, comma-separated, e.g. front or 10.0.0.5,10.1.0.0/16"
                ) from None
    return value


class LMSEnvironment(EnvSettings):
    """The variables of the LMS, each field named by its variable."""

    # -- where things are ---------------------------------------------------------------------
    var_dir: Path | None = Field(None, validation_alias="STUDIO_VAR_DIR")
    """Default ``var/`` in the repository: the embedded database, static files, secrets."""
    courses_dir: Path | None = Field(None, validation_alias="STUDIO_COURSES_DIR")
    """Default ``courses/`` in the repository: the course folders (``<slug>/course.yml``)."""
    database_url: str = Field("", validation_alias="DATABASE_URL")
    """Empty: SQLite under the var dir (see :meth:`database`)."""
    db_conn_max_age: int = Field(60, validation_alias="LMS_DB_CONN_MAX_AGE", ge=0)

    # -- the site -----------------------------------------------------------------------------
    secret_key: str = secret("LMS_SECRET_KEY")
    public_url: HttpURL = Field("http://127.0.0.1:8000", validation_alias="LMS_PUBLIC_URL")
    allowed_hosts: str = Field("127.0.0.1,localhost", validation_alias="LMS_ALLOWED_HOSTS")
    csrf_trusted_origins: str = Field("", validation_alias="LMS_CSRF_TRUSTED_ORIGINS")
    insecure_cookies: bool = Field(False, validation_alias="LMS_INSECURE_COOKIES")
    time_zone: Annotated[str, AfterValidator(_time_zone)] = Field(
        "UTC", validation_alias="LMS_TIME_ZONE"
    )
    log_level: Annotated[str, AfterValidator(_log_level)] = Field(
        "INFO", validation_alias="LMS_LOG_LEVEL"
    )
    # the hub's public URL (HUB_PUBLIC_URL): another host than the LMS's, so that the two keep
    # apart cookies; learners' servers and formgraders are on subdomains of it
    hub_url: HttpURL = Field("http://localhost:8001", validation_alias="STUDIO_HUB_URL")
    throttle_anon: Rate = Field("60/min", validation_alias="LMS_API_THROTTLE_ANON")
    throttle_user: Rate = Field("600/min", validation_alias="LMS_API_THROTTLE_USER")
    throttle_enrollment: Rate = Field("30/hour", validation_alias="LMS_API_THROTTLE_ENROLLMENT")
    trusted_proxies: Annotated[str, AfterValidator(_proxies)] = Field(
        "", validation_alias="LMS_TRUSTED_PROXIES"
    )
    """The proxies whose ``X-Forwarded-For`` the LMS believes (``lms.base.client_address``):
    addresses, networks or host names, comma-separated. Empty: the peer is the client."""

    # -- sign-in throttling (lms.accounts.signin) -----------------------------------------------
    login_failures_per_account: int = Field(
        5, validation_alias="LMS_LOGIN_FAILURES_PER_ACCOUNT", ge=1
    )
    login_failures_per_address: int = Field(
        50, validation_alias="LMS_LOGIN_FAILURES_PER_ADDRESS", ge=1
    )
    login_lockout_minutes: int = Field(15, validation_alias="LMS_LOGIN_LOCKOUT_MINUTES", ge=1)

    # -- the course community (lms.community) ---------------------------------------------------
    community_post_rate: Rate = Field("10/min", validation_alias="LMS_COMMUNITY_POST_RATE")
    """How many posts (threads, answers, comments) one member may write, per s, min, hour or
    day, on every board together; instructors and staff are not limited."""
    community_max_post_chars: int = Field(
        20000, validation_alias="LMS_COMMUNITY_MAX_POST_CHARS", ge=100
    )
    community_max_mentions: int = Field(10, validation_alias="LMS_COMMUNITY_MAX_MENTIONS", ge=0)

    # -- notifications by email (lms.notifications) ----------------------------------------------
    email_host: str = Field("", validation_alias="LMS_EMAIL_HOST")
    """The SMTP server; empty: messages are written to files under ``<var>/mail``."""
    email_port: int = Field(587, validation_alias="LMS_EMAIL_PORT", ge=1, le=65535)
    email_user: str = Field("", validation_alias="LMS_EMAIL_USER")
    email_password: str = secret("LMS_EMAIL_PASSWORD")
    email_security: Annotated[str, AfterValidator(_email_security)] = Field(
        "starttls", validation_alias="LMS_EMAIL_SECURITY"
    )
    email_timeout: float = Field(30.0, validation_alias="LMS_EMAIL_TIMEOUT", gt=0)
    email_from: str = Field(
        "Python Learning Studio <noreply@localhost>", validation_alias="LMS_EMAIL_FROM"
    )
    notifications_digest_hour: int = Field(
        7, validation_alias="LMS_NOTIFICATIONS_DIGEST_HOUR", ge=0, le=23
    )
    # -- study groups (lms.groups) ---------------------------------------------------------------
    groups_invite_max_age: int = Field(
        7 * 86400, validation_alias="LMS_GROUPS_INVITE_MAX_AGE", ge=60
    )
    """Seconds a study group's invite link stays valid."""
    hub_api_url: HttpURL = Field("", validation_alias="LMS_HUB_API_URL")
    """The hub's REST API as the LMS reaches it (``…/hub/api``); empty: no group workspaces."""
    hub_api_timeout: float = Field(30.0, validation_alias="LMS_HUB_API_TIMEOUT", gt=0)
    task_results_retention_days: int = Field(
        7, validation_alias="LMS_TASK_RESULTS_RETENTION_DAYS", ge=1
    )
    """Days the worker keeps a finished task's result row before its daily pruning."""

    # -- sign-on (the LMS as OpenID Connect provider) --------------------------------------------
    oidc_rsa_private_key: str = secret("OIDC_RSA_PRIVATE_KEY")
    oidc_rsa_private_key_base64: str = Field("", validation_alias="OIDC_RSA_PRIVATE_KEY_BASE64")
    """The same key, PEM encoded in base64 on one line (an env file holds one line per
    variable); used when ``OIDC_RSA_PRIVATE_KEY`` is not set."""
    oidc_access_token_seconds: int = Field(
        3600, validation_alias="OIDC_ACCESS_TOKEN_SECONDS", gt=0
    )
    oidc_id_token_seconds: int = Field(3600, validation_alias="OIDC_ID_TOKEN_SECONDS", gt=0)

    # -- the hub services the LMS calls (lms.base.service_client) --------------------------------
    hub_service_token: str = secret("LMS_HUB_SERVICE_TOKEN")
    grader_api_url: HttpURL = Field("", validation_alias="LMS_GRADER_API_URL")
    grader_timeout: float = Field(30.0, validation_alias="LMS_GRADER_TIMEOUT", gt=0)
    tutor_api_url: HttpURL = Field("", validation_alias="LMS_TUTOR_API_URL")
    tutor_timeout: float = Field(10.0, validation_alias="LMS_TUTOR_TIMEOUT", gt=0)

    # -- the school's Discourse (lms.discourse): DiscourseConnect provider and admin API ---------
    discourse_url: HttpURL = Field("", validation_alias="DISCOURSE_URL")
    """Empty: no Discourse; the course pages show no link to it."""
    discourse_connect_secret: str = secret("DISCOURSE_CONNECT_SECRET")
    discourse_api_key: str = secret("DISCOURSE_API_KEY")
    discourse_api_username: str = Field("system", validation_alias="DISCOURSE_API_USERNAME")
    discourse_timeout: float = Field(10.0, validation_alias="DISCOURSE_TIMEOUT", gt=0)
    # -- metrics (lms.base.views.metrics) ---------------------------------------------------------
    metrics_token: str = secret("STUDIO_METRICS_TOKEN")
    """Prometheus reads ``/metrics`` with it as a bearer token; empty: ``/metrics`` is off."""

    # -- how the LMS starts (lms.up) ------------------------------------------------------------
    bind: str = Field("127.0.0.1:8000", validation_alias="LMS_BIND")
    workers: int = Field(3, validation_alias="LMS_WORKERS", ge=1)
    threads: int = Field(1, validation_alias="LMS_THREADS", ge=1)
    collect_static: bool = Field(True, validation_alias="LMS_COLLECT_STATIC")
    import_courses: bool = Field(True, validation_alias="LMS_IMPORT_COURSES")
    seed_demo: bool = Field(False, validation_alias="LMS_SEED_DEMO")

    def hosts(self) -> list[str]:
        return _names(self.allowed_hosts)

    def trusted_origins(self) -> list[str]:
        return _names(self.csrf_trusted_origins)

    def proxies(self) -> list[str]:
        return _names(self.trusted_proxies)

    def hub_origin(self) -> str:
        """The hub's origin (``scheme://host[:port]`` of ``STUDIO_HUB_URL``)."""
        parts = urlsplit(self.hub_url)
        return f"{parts.scheme}://{parts.netloc}"

    def database(self, default_sqlite: Path) -> dict:
        """Django's ``DATABASES["default"]`` from ``DATABASE_URL`` (default: SQLite at
        ``default_sqlite``), through django-prometheus's backend of the same database, which
        counts connections, queries and their time for ``/metrics``. A URL that is not one
        never appears in the error: it may hold a password."""
        url = self.database_url or f"sqlite:///{default_sqlite}"
        try:
            database = dj_database_url.parse(
                url, conn_max_age=self.db_conn_max_age, conn_health_checks=True
            )
        except ValueError as error:
            raise SettingError(
                "DATABASE_URL", HIDDEN, f"must be a database URL such as "
                f"postgres://user:password@host:5432/name ({error})"
            ) from None
        engine = database["ENGINE"]
        if engine == "django.db.backends.sqlite3":
            database.setdefault("OPTIONS", {}).update(SQLITE_OPTIONS)
        database["ENGINE"] = COUNTED_ENGINES.get(engine, engine)
        return database

    def oidc_private_key(self) -> str:
        """``OIDC_RSA_PRIVATE_KEY`` (or ``_FILE``), else ``OIDC_RSA_PRIVATE_KEY_BASE64`` decoded;
        '' when none is set. The key never appears in an error."""
        if self.oidc_rsa_private_key or not self.oidc_rsa_private_key_base64:
            return self.oidc_rsa_private_key
        try:
            return base64.b64decode(self.oidc_rsa_private_key_base64, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise SettingError(
                "OIDC_RSA_PRIVATE_KEY_BASE64", HIDDEN,
                "must be a PEM key encoded in base64 on one line (base64 -w0 key.pem)",
            ) from None


class HubClientEnvironment(EnvSettings):
    """JupyterHub as the LMS's OIDC client, as ``register_hub_client`` registers it: the same
    values the hub is configured with, so the two cannot drift apart."""

    client_id: str = secret("HUB_OAUTH_CLIENT_ID")
    client_secret: str = secret("HUB_OAUTH_CLIENT_SECRET")
    callback_url: str = Field(
        "http://localhost:8001/hub/oauth_callback", validation_alias="HUB_OAUTH_CALLBACK_URL"
    )
    """One or more redirect URIs, space-separated (the hub under more than one name)."""
