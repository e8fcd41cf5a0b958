"""Environment variables the hub reads, and the secrets it generates once.

Every variable read here is listed in ``docs/configuration.md`` (section "Hub"). Nothing in this
module touches the network; reading a value never has side effects except
:func:`generated_secret`, which creates its file on first use (like ``make up`` does for the LMS).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from servicekit.secrets import env_secret, generated_secret

__all__ = ["env_secret", "generated_secret"]  # used by hub.config and the launcher

REPO_ROOT = Path(__file__).resolve().parent.parent


class SettingError(ValueError):
    """An environment variable with a value the hub cannot use."""

    def __init__(self, name: str, value: str, expected: str) -> None:
        super().__init__(f"{name}={value!r}: {expected}")


def env_str(name: str, default: str, environ: Mapping[str, str] | None = None) -> str:
    """The variable's value, or ``default`` when unset or empty."""
    value = (os.environ if environ is None else environ).get(name, "").strip()
    return value or default


def _env_number(name, default, convert, expected, environ):
    raw = env_str(name, "", environ)
    if not raw:
        return default
    try:
        return convert(raw)
    except ValueError:
        raise SettingError(name, raw, expected) from None


def env_int(name: str, default: int, environ: Mapping[str, str] | None = None) -> int:
    return _env_number(name, default, int, "must be a whole number", environ)


def env_float(name: str, default: float, environ: Mapping[str, str] | None = None) -> float:
    return _env_number(name, default, float, "must be a number", environ)


def env_bool(name: str, default: bool, environ: Mapping[str, str] | None = None) -> bool:
    raw = env_str(name, "", environ).lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise SettingError(name, raw, "must be 1/0, true/false, yes/no or on/off")


def var_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``STUDIO_VAR_DIR``: where the hub database, generated secrets and user folders live."""
    return Path(env_str("STUDIO_VAR_DIR", str(REPO_ROOT / "var"), environ)).resolve()


def courses_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``STUDIO_COURSES_DIR``: the course folders (``<slug>/course.yml``)."""
    return Path(env_str("STUDIO_COURSES_DIR", str(REPO_ROOT / "courses"), environ)).resolve()
