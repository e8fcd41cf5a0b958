"""Settings from the environment: one pydantic-settings class per part, one way to read them.

A part declares its variables as fields of an :class:`EnvSettings` subclass, each field named by
its variable (``validation_alias``), with its type, default and bounds::

    class Settings(EnvSettings):
        workers: int = Field(2, validation_alias="GRADER_WORKERS", ge=0)
        lms_token: str = secret("LMS_GRADER_TOKEN")

    settings = Settings.from_env()          # os.environ
    settings = Settings.from_env(environ)   # any mapping (tests, a service's own environment)

The rules every part follows, written once here:

- an empty value is the same as an unset one (``VAR=`` in an env file means "the default");
- values are stripped of surrounding white space;
- a secret comes from ``NAME`` or from the file ``NAME_FILE`` names (Docker secrets);
- a value the part cannot use raises :class:`SettingError`, whose message names the variable, the
  value and what it must be (``GRADER_WORKERS='many': must be a whole number``), never a
  traceback of the settings library.

The variables several parts read (``STUDIO_VAR_DIR``, ``STUDIO_COURSES_DIR``, ``LMS_PUBLIC_URL``,
``LMS_INTERNAL_URL``, ``STUDIO_METRICS_TOKEN``) and their defaults are :class:`StudioSettings`'s;
a part's settings may derive from it. A default that depends on another variable is a
``default_factory`` given the fields validated before it
(``Field(default_factory=lambda data: data["var_dir"] / "grader")``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Self

from pydantic import AfterValidator, BeforeValidator, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from servicekit.secrets import env_secret

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_VAR_DIR = REPO_ROOT / "var"
DEFAULT_COURSES_DIR = REPO_ROOT / "courses"
DEFAULT_LMS_URL = "http://127.0.0.1:8000"


class SettingError(ValueError):
    """An environment variable with a value the part cannot use."""

    def __init__(self, name: str, value: object, expected: str) -> None:
        self.name = name
        self.value = value
        self.expected = expected
        super().__init__(f"{name}={value!r}: {expected}")


def secret(variable: str, **kwargs: Any) -> Any:
    """A field holding a secret: ``variable``, or the content of the file ``<variable>_FILE``."""
    extra = {"secret": True}
    return Field("", validation_alias=variable, json_schema_extra=extra, **kwargs)


def _expected(error: Mapping[str, Any]) -> str:
    """What a value must be, in words, from one of pydantic's errors."""
    kind = error.get("type", "")
    context = {
        key: f"{value:g}" if isinstance(value, float) else value
        for key, value in (error.get("ctx") or {}).items()
    }
    words = {
        "int_parsing": "must be a whole number",
        "int_from_float": "must be a whole number",
        "float_parsing": "must be a number",
        "bool_parsing": "must be 1/0, true/false, yes/no or on/off",
        "greater_than_equal": f"must be at least {context.get('ge')}",
        "greater_than": f"must be more than {context.get('gt')}",
        "less_than_equal": f"must be at most {context.get('le')}",
        "less_than": f"must be less than {context.get('lt')}",
        "literal_error": f"must be {context.get('expected', 'one of the allowed values')}",
        "enum": f"must be {context.get('expected', 'one of the allowed values')}",
    }
    if kind in words:
        return words[kind]
    message = str(error.get("msg", "is not a usable value"))
    return message.removeprefix("Value error, ")


class EnvSettings(BaseSettings):
    """Base of every part's settings: fields named by their variables, read by :meth:`from_env`."""

    model_config = SettingsConfigDict(
        case_sensitive=True,
        env_ignore_empty=True,
        extra="ignore",
        frozen=True,
        populate_by_name=True,
        str_strip_whitespace=True,
    )

    @classmethod
    def variables(cls) -> dict[str, str]:
        """``{field name: variable}`` for every field read from the environment."""
        return {
            name: str(field.validation_alias)
            for name, field in cls.model_fields.items()
            if isinstance(field.validation_alias, str)
        }

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Self:
        """The settings from ``environ`` (default ``os.environ``) and explicit ``overrides``
        (by field name, already typed); a bad value raises :class:`SettingError`."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name, variable in cls.variables().items():
            extra = cls.model_fields[name].json_schema_extra
            if isinstance(extra, dict) and extra.get("secret"):
                value = env_secret(variable, env)
            else:
                value = env.get(variable, "").strip()
            if value:
                values[variable] = value
        variables = cls.variables()
        values.update({variables.get(name, name): value for name, value in overrides.items()})
        try:
            return cls(**values)
        except ValidationError as exc:
            raise cls._setting_error(exc.errors()[0]) from None

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, **sources):
        """Only what :meth:`from_env` read: pydantic-settings' own environment source would
        read ``os.environ`` again by its own rules (a ``dict`` field's value as JSON, for one),
        whatever mapping ``from_env`` was given."""
        return (init_settings,)

    @classmethod
    def _setting_error(cls, error: Mapping[str, Any]) -> SettingError:
        """A validation error as a sentence naming the variable. The value is shown only for a
        variable that holds no secret, so that a log never carries a token or a password."""
        location = error.get("loc") or ()
        variable = str(location[0]) if location else ""
        variable = cls.variables().get(variable, variable)  # a field's name: its variable
        known = set(cls.variables().values())
        if variable not in known:
            return SettingError("(settings)", "(not shown)", _expected(error))
        field = next(f for f in cls.model_fields.values() if f.validation_alias == variable)
        extra = field.json_schema_extra
        secret_field = isinstance(extra, dict) and extra.get("secret")
        value = "(not shown)" if secret_field else error.get("input")
        return SettingError(variable, value, _expected(error))


def _names(value: Any) -> Any:
    if isinstance(value, str):
        return frozenset(name.strip() for name in value.split(",") if name.strip())
    return value


Names = Annotated[frozenset[str], BeforeValidator(_names)]
"""Comma-separated names (``lms, ops``): a set, white space and empty names dropped."""

Folder = Annotated[Path, AfterValidator(Path.resolve)]
"""A path made absolute (and its symbolic links resolved) when read."""

Url = Annotated[str, AfterValidator(lambda url: url.rstrip("/"))]
"""A URL paths are appended to: without its trailing slash."""


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _upper(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


AnyCase = BeforeValidator(_lower)
"""Read a choice in any case (``HUB_SPAWNER=Docker`` is ``docker``):
``Annotated[Literal["docker", ...], AnyCase]``."""

AnyCaseUpper = BeforeValidator(_upper)
"""As :data:`AnyCase`, for choices spelt in capitals (log levels)."""


class StudioSettings(EnvSettings):
    """The variables every part of the studio may read, with the same defaults everywhere."""

    var_dir: Folder = Field(DEFAULT_VAR_DIR, validation_alias="STUDIO_VAR_DIR")
    """``STUDIO_VAR_DIR`` (default ``var/`` in the repository): every part's state."""
    courses_dir: Folder = Field(DEFAULT_COURSES_DIR, validation_alias="STUDIO_COURSES_DIR")
    """``STUDIO_COURSES_DIR`` (default ``courses/`` in the repository): the course folders,
    ``<slug>/course.yml`` and ``<slug>/source/``."""
    lms_public_url: Url = Field(DEFAULT_LMS_URL, validation_alias="LMS_PUBLIC_URL")
    """``LMS_PUBLIC_URL`` (default ``http://127.0.0.1:8000``): the LMS as browsers reach it."""
    lms_url: Url = Field(
        default_factory=lambda data: data["lms_public_url"], validation_alias="LMS_INTERNAL_URL"
    )
    """``LMS_INTERNAL_URL`` (default ``LMS_PUBLIC_URL``): the LMS as the studio's processes
    reach it, server to server."""
    metrics_token: str = secret("STUDIO_METRICS_TOKEN")
    """``STUDIO_METRICS_TOKEN`` (or ``_FILE``): the bearer token Prometheus reads the part's
    ``/metrics`` with (``servicekit.metrics``); empty: the metrics are not served."""
