"""The tutor's settings, read once from the environment into a :class:`Settings`.

This module is the only reader of ``TUTOR_*`` and ``OPENAI_*`` variables (and of the few shared
ones the tutor needs: ``STUDIO_VAR_DIR``, ``STUDIO_COURSES_DIR``, ``LMS_INTERNAL_URL``,
``LMS_PUBLIC_URL``, ``LMS_TUTOR_TOKEN``). The ``JUPYTERHUB_*`` variables the hub gives a service
are read by JupyterHub's own ``HubOAuth``; only the service's name and URL are read here. Every
variable is listed in ``docs/configuration.md`` (section "Tutor"). Reading never writes anything
except :meth:`Settings.cookie_secret`, which creates its file on first use.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from courses.course_file import TUTOR_POLICIES
from hub.settings import REPO_ROOT, SettingError, env_secret, env_str, generated_secret

T = TypeVar("T", int, float)

DEFAULT_MODEL = "gpt-4o-mini"
DEFAULT_PORT = 10102


def _number(
    environ: Mapping[str, str], name: str, default: T, convert: Callable[[str], T], minimum: float
) -> T:
    """``name`` as a number of at least ``minimum``; ``default`` when unset or empty."""
    raw = env_str(name, "", environ)
    if not raw:
        return default
    try:
        value = convert(raw)
    except ValueError:
        value = None
    if value is None or value < minimum:
        kind = "a whole number" if convert is int else "a number"
        raise SettingError(name, raw, f"must be {kind}, at least {minimum:g}")
    return value


def _names(environ: Mapping[str, str], name: str, default: str) -> frozenset[str]:
    return frozenset(
        part.strip() for part in env_str(name, default, environ).split(",") if part.strip()
    )


@dataclass(frozen=True)
class Settings:
    """Everything the tutor needs to know, with the variable each value comes from."""

    var_dir: Path
    """``STUDIO_VAR_DIR`` (default ``var/`` in the repository)."""
    courses_dir: Path
    """``STUDIO_COURSES_DIR`` (default ``courses/``): ``<slug>/course.yml`` and the nbgrader
    source notebooks ``<slug>/source/<assignment>/*.ipynb``, where the solution regions are."""
    db_url: str
    """``TUTOR_DB_URL`` (default SQLite at ``<var>/tutor/tutor.sqlite``): the exchange log."""
    api_key: str
    """``OPENAI_API_KEY`` (or ``_FILE``). Empty: offline mode (no model is called)."""
    base_url: str
    """``OPENAI_BASE_URL``: any OpenAI-compatible endpoint; empty: the ``openai`` client's
    default (OpenAI's own API)."""
    model: str
    """``TUTOR_MODEL`` (default ``gpt-4o-mini``): the chat model asked."""
    max_input_chars: int
    """``TUTOR_MAX_INPUT_CHARS`` (default 12000): what a request may send the model, all fields
    together; longer requests are trimmed with a notice."""
    max_output_tokens: int
    """``TUTOR_MAX_OUTPUT_TOKENS`` (default 800): the longest reply asked of the model."""
    timeout_seconds: float
    """``TUTOR_TIMEOUT_SECONDS`` (default 30): the longest wait for the model's first token and
    between two tokens; a stalled stream ends with an error after it."""
    max_reply_seconds: float
    """``TUTOR_MAX_REPLY_SECONDS`` (default 120): the longest one reply may stream in all."""
    upstream_retries: int
    """``TUTOR_UPSTREAM_RETRIES`` (default 1): how often the ``openai`` client retries a request
    the endpoint refused with 429/5xx or could not connect to (never once streaming began)."""
    rate_per_minute: int
    """``TUTOR_RATE_PER_MINUTE`` (default 6): requests per learner in any 60 seconds."""
    daily_quota: int
    """``TUTOR_DAILY_QUOTA`` (default 100): requests per learner per day (UTC)."""
    default_policy: str
    """``TUTOR_DEFAULT_POLICY`` (default ``full``): the policy of requests outside an
    assignment."""
    policy_seconds: float
    """``TUTOR_POLICY_SECONDS`` (default 30): how long a course's policy read from the LMS is
    used before it is read again."""
    lms_timeout_seconds: float
    """``TUTOR_LMS_TIMEOUT_SECONDS`` (default 5): the longest wait for the LMS's answer."""
    lms_url: str
    """``LMS_INTERNAL_URL`` (default ``LMS_PUBLIC_URL``, then ``http://127.0.0.1:8000``)."""
    lms_token: str
    """``LMS_TUTOR_TOKEN`` (or ``_FILE``): the tutor service account's LMS API token; empty: the
    policy and hints come from ``course.yml`` only."""
    service_name: str
    """``JUPYTERHUB_SERVICE_NAME`` (default ``tutor``), set by the hub."""
    service_url: str
    """``JUPYTERHUB_SERVICE_URL`` (default ``http://127.0.0.1:10102``): the service's URL as the
    hub's proxy reaches it."""
    bind_url: str
    """``TUTOR_BIND_URL`` (default: ``service_url``): where the API listens. With Docker,
    ``http://0.0.0.0:10102``: learners' containers reach it at the notebook network's gateway."""
    trusted_services: frozenset[str]
    """``TUTOR_TRUSTED_SERVICES`` (default ``lms``, comma-separated): hub services that act for
    the instructors of every course (the LMS's tutor page reads summaries and histories)."""
    cookie_secret_value: str
    """``TUTOR_COOKIE_SECRET`` (or ``_FILE``); empty: generated into ``<var>/secrets/``."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        var_dir = Path(env_str("STUDIO_VAR_DIR", str(REPO_ROOT / "var"), env)).resolve()
        courses_dir = Path(env_str("STUDIO_COURSES_DIR", str(REPO_ROOT / "courses"), env))
        lms_public = env_str("LMS_PUBLIC_URL", "http://127.0.0.1:8000", env)
        service_url = env_str("JUPYTERHUB_SERVICE_URL", f"http://127.0.0.1:{DEFAULT_PORT}", env)
        policy = env_str("TUTOR_DEFAULT_POLICY", "full", env).lower()
        if policy not in TUTOR_POLICIES:
            raise SettingError("TUTOR_DEFAULT_POLICY", policy,
                               f"must be one of {', '.join(TUTOR_POLICIES)}")
        return cls(
            var_dir=var_dir,
            courses_dir=courses_dir.resolve(),
            db_url=env_str("TUTOR_DB_URL", f"sqlite:///{var_dir / 'tutor' / 'tutor.sqlite'}", env),
            api_key=env_secret("OPENAI_API_KEY", env),
            base_url=env_str("OPENAI_BASE_URL", "", env).rstrip("/"),
            model=env_str("TUTOR_MODEL", DEFAULT_MODEL, env),
            max_input_chars=_number(env, "TUTOR_MAX_INPUT_CHARS", 12_000, int, 1000),
            max_output_tokens=_number(env, "TUTOR_MAX_OUTPUT_TOKENS", 800, int, 16),
            timeout_seconds=_number(env, "TUTOR_TIMEOUT_SECONDS", 30.0, float, 0.1),
            max_reply_seconds=_number(env, "TUTOR_MAX_REPLY_SECONDS", 120.0, float, 1),
            upstream_retries=_number(env, "TUTOR_UPSTREAM_RETRIES", 1, int, 0),
            rate_per_minute=_number(env, "TUTOR_RATE_PER_MINUTE", 6, int, 1),
            daily_quota=_number(env, "TUTOR_DAILY_QUOTA", 100, int, 1),
            default_policy=policy,
            policy_seconds=_number(env, "TUTOR_POLICY_SECONDS", 30.0, float, 0),
            lms_timeout_seconds=_number(env, "TUTOR_LMS_TIMEOUT_SECONDS", 5.0, float, 0.1),
            lms_url=env_str("LMS_INTERNAL_URL", lms_public, env).rstrip("/"),
            lms_token=env_secret("LMS_TUTOR_TOKEN", env),
            service_name=env_str("JUPYTERHUB_SERVICE_NAME", "tutor", env),
            service_url=service_url,
            bind_url=env_str("TUTOR_BIND_URL", service_url, env),
            trusted_services=_names(env, "TUTOR_TRUSTED_SERVICES", "lms"),
            cookie_secret_value=env_secret("TUTOR_COOKIE_SECRET", env),
        )

    @property
    def offline(self) -> bool:
        """No key: the tutor explains errors and gives instructors' hints without a model."""
        return not self.api_key

    def cookie_secret(self) -> bytes:
        """The secret signing the hub OAuth cookie of browsers: stable across restarts, and
        shared by every instance behind one URL when it is given."""
        if self.cookie_secret_value:
            return self.cookie_secret_value.encode()
        return generated_secret(self.var_dir / "secrets" / "tutor-cookie-secret").encode()
