"""The tutor's settings, read once from the environment into a :class:`Settings`.

Within the tutor, this module is the only reader of ``TUTOR_*`` and ``OPENAI_*`` variables
(and of the few shared ones the tutor needs: ``STUDIO_VAR_DIR``, ``STUDIO_COURSES_DIR``,
``LMS_INTERNAL_URL``, ``LMS_PUBLIC_URL``, ``LMS_TUTOR_TOKEN``; the hub only passes them on to a
tutor it starts), through ``servicekit.settings``: a bad value raises
``SettingError`` naming the variable. The ``JUPYTERHUB_*`` variables the hub gives a service
are read by JupyterHub's own ``HubOAuth``; only the service's name and URL are read here. Every
variable is listed in ``docs/configuration.md`` (section "Tutor"). Reading never writes anything
except :meth:`Settings.cookie_secret`, which creates its file on first use.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from courses.course_file import TUTOR_POLICIES
from servicekit.secrets import generated_secret
from servicekit.settings import Names, StudioSettings, Url, secret
from servicekit.state import sqlite_url, tutor_database

DEFAULT_MODEL = "gpt-4o-mini"
DEFAULT_PORT = 10102
DEFAULT_SERVICE_URL = f"http://127.0.0.1:{DEFAULT_PORT}"


class Settings(StudioSettings):
    """Everything the tutor needs to know, with the variable each value comes from
    (``STUDIO_VAR_DIR``, ``STUDIO_COURSES_DIR``: ``<slug>/course.yml`` and the nbgrader source
    notebooks ``<slug>/source/<assignment>/*.ipynb``, where the solution regions are;
    ``LMS_PUBLIC_URL`` and ``LMS_INTERNAL_URL``: ``servicekit.settings.StudioSettings``)."""

    db_url: str = Field(
        default_factory=lambda data: sqlite_url(tutor_database(data["var_dir"])),
        validation_alias="TUTOR_DB_URL",
    )
    """``TUTOR_DB_URL`` (default SQLite at ``<var>/tutor/tutor.sqlite``): the exchange log."""
    api_key: str = secret("OPENAI_API_KEY")
    """``OPENAI_API_KEY`` (or ``_FILE``). Empty: offline mode (no model is called)."""
    base_url: Url = Field("", validation_alias="OPENAI_BASE_URL")
    """``OPENAI_BASE_URL``: any OpenAI-compatible endpoint; empty: the ``openai`` client's
    default (OpenAI's own API)."""
    model: str = Field(DEFAULT_MODEL, validation_alias="TUTOR_MODEL")
    """``TUTOR_MODEL`` (default ``gpt-4o-mini``): the chat model asked."""
    max_input_chars: int = Field(12_000, validation_alias="TUTOR_MAX_INPUT_CHARS", ge=1000)
    """``TUTOR_MAX_INPUT_CHARS`` (default 12000): what a request may send the model, all fields
    together; longer requests are trimmed with a notice."""
    max_output_tokens: int = Field(800, validation_alias="TUTOR_MAX_OUTPUT_TOKENS", ge=16)
    """``TUTOR_MAX_OUTPUT_TOKENS`` (default 800): the longest reply asked of the model."""
    timeout_seconds: float = Field(30.0, validation_alias="TUTOR_TIMEOUT_SECONDS", ge=0.1)
    """``TUTOR_TIMEOUT_SECONDS`` (default 30): the longest wait for the model's first token and
    between two tokens; a stalled stream ends with an error after it."""
    max_reply_seconds: float = Field(120.0, validation_alias="TUTOR_MAX_REPLY_SECONDS", ge=1)
    """``TUTOR_MAX_REPLY_SECONDS`` (default 120): the longest one reply may stream in all."""
    upstream_retries: int = Field(1, validation_alias="TUTOR_UPSTREAM_RETRIES", ge=0)
    """``TUTOR_UPSTREAM_RETRIES`` (default 1): how often the ``openai`` client retries a request
    the endpoint refused with 429/5xx or could not connect to (never once streaming began)."""
    rate_per_minute: int = Field(6, validation_alias="TUTOR_RATE_PER_MINUTE", ge=1)
    """``TUTOR_RATE_PER_MINUTE`` (default 6): requests per learner in any 60 seconds."""
    daily_quota: int = Field(100, validation_alias="TUTOR_DAILY_QUOTA", ge=1)
    """``TUTOR_DAILY_QUOTA`` (default 100): requests per learner per day (UTC)."""
    default_policy: str = Field("full", validation_alias="TUTOR_DEFAULT_POLICY")
    """``TUTOR_DEFAULT_POLICY`` (default ``full``): the policy of questions about a lesson, and
    the least a question placed nowhere gets (``tutor.tutoring.Tutor.decide``)."""
    policy_seconds: float = Field(30.0, validation_alias="TUTOR_POLICY_SECONDS", ge=0)
    """``TUTOR_POLICY_SECONDS`` (default 30): how long a course's policy read from the LMS is
    used before it is read again."""
    lms_timeout_seconds: float = Field(5.0, validation_alias="TUTOR_LMS_TIMEOUT_SECONDS", ge=0.1)
    """``TUTOR_LMS_TIMEOUT_SECONDS`` (default 5): the longest wait for the LMS's answer."""
    lms_token: str = secret("LMS_TUTOR_TOKEN")
    """``LMS_TUTOR_TOKEN`` (or ``_FILE``): the tutor service account's LMS API token; empty: the
    policy and hints come from ``course.yml`` only."""
    service_name: str = Field("tutor", validation_alias="JUPYTERHUB_SERVICE_NAME")
    """``JUPYTERHUB_SERVICE_NAME`` (default ``tutor``), set by the hub."""
    service_url: str = Field(DEFAULT_SERVICE_URL, validation_alias="JUPYTERHUB_SERVICE_URL")
    """``JUPYTERHUB_SERVICE_URL`` (default ``http://127.0.0.1:10102``): the service's URL as the
    hub's proxy reaches it."""
    bind_url: str = Field(
        default_factory=lambda data: data["service_url"], validation_alias="TUTOR_BIND_URL"
    )
    """``TUTOR_BIND_URL`` (default: ``service_url``): where the API listens. With Docker,
    ``http://0.0.0.0:10102``: learners' containers reach it at the notebook network's gateway."""
    trusted_services: Names = Field(frozenset({"lms"}), validation_alias="TUTOR_TRUSTED_SERVICES")
    """``TUTOR_TRUSTED_SERVICES`` (default ``lms``, comma-separated): hub services that act for
    the instructors of every course (the LMS's tutor page reads summaries and histories)."""
    cookie_secret_value: str = secret("TUTOR_COOKIE_SECRET")
    """``TUTOR_COOKIE_SECRET`` (or ``_FILE``); empty: generated into ``<var>/secrets/``."""

    @field_validator("default_policy", mode="before")
    @classmethod
    def _a_tutor_policy(cls, value: Any) -> Any:
        policy = str(value).strip().lower()
        if policy not in TUTOR_POLICIES:
            raise ValueError(f"must be one of {', '.join(TUTOR_POLICIES)}")
        return policy

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
