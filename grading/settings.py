"""The grader's settings, read once from the environment into a :class:`Settings`.

This module is the only reader of ``GRADER_*`` variables (and of the few shared ones the grader
needs: ``STUDIO_VAR_DIR``, ``STUDIO_COURSES_DIR``, ``LMS_INTERNAL_URL``, ``LMS_GRADER_TOKEN``).
The ``JUPYTERHUB_*`` variables the hub sets for a service are read by JupyterHub's own
``HubOAuth``; only the service's name and URL are read here. Reading never writes anything except
:meth:`Settings.cookie_secret`, which creates its file on first use when no secret is given.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

REPO_ROOT = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024

T = TypeVar("T")


class SettingError(ValueError):
    """An environment variable with a value the grader cannot use."""

    def __init__(self, name: str, value: str, expected: str) -> None:
        super().__init__(f"{name}={value!r}: {expected}")


def _text(environ: Mapping[str, str], name: str, default: str = "") -> str:
    return environ.get(name, "").strip() or default


def _number(
    environ: Mapping[str, str],
    name: str,
    default: T,
    convert: Callable[[str], T],
    minimum: float,
) -> T:
    raw = _text(environ, name)
    if not raw:
        return default
    try:
        value = convert(raw)
    except ValueError:
        value = None
    if value is None or value < minimum:  # type: ignore[operator]
        kind = "a whole number" if convert is int else "a number"
        raise SettingError(name, raw, f"must be {kind}, at least {minimum:g}")
    return value


def _secret(environ: Mapping[str, str], name: str) -> str:
    """``NAME``, or the content of the file ``NAME_FILE`` names (Docker secrets); '' if neither."""
    value = _text(environ, name)
    if value:
        return value
    path = _text(environ, f"{name}_FILE")
    return Path(path).read_text(encoding="utf-8").strip() if path else ""


@dataclass(frozen=True)
class Settings:
    """Everything the grader's processes need to know, with the variable each comes from."""

    var_dir: Path
    """``STUDIO_VAR_DIR`` (default ``var/`` in the repository)."""
    courses_dir: Path
    """``STUDIO_COURSES_DIR`` (default ``courses/``): the course folders, ``<slug>/course.yml``."""
    root: Path
    """``GRADER_ROOT`` (default ``<var>/grader``): nbgrader course directories and submissions."""
    db_url: str
    """``GRADER_DB_URL`` (default SQLite at ``<var>/grader/grader.sqlite``)."""
    workers: int
    """``GRADER_WORKERS`` (default: the number of CPUs); ``0`` runs no workers with ``serve``."""
    max_submission_bytes: int
    """``GRADER_MAX_SUBMISSION_BYTES`` (default 20 MiB): the largest upload, and the most its
    files may add up to once unpacked."""
    max_submission_files: int
    """``GRADER_MAX_SUBMISSION_FILES`` (default 200): the most files one upload may hold."""
    lease_seconds: float
    """``GRADER_LEASE_SECONDS`` (default 30): how long a claimed job is a worker's without a
    renewal; a job of a crashed worker is claimed again after at most this long."""
    max_attempts: int
    """``GRADER_MAX_ATTEMPTS`` (default 3): a job that failed this often is given up."""
    poll_seconds: float
    """``GRADER_POLL_SECONDS`` (default 0.5): how often an idle worker looks for a job."""
    lms_url: str
    """``LMS_INTERNAL_URL`` (default ``LMS_PUBLIC_URL``, then ``http://127.0.0.1:8000``)."""
    lms_token: str
    """``LMS_GRADER_TOKEN`` (or ``LMS_GRADER_TOKEN_FILE``): empty means grades are not pushed."""
    service_name: str
    """``JUPYTERHUB_SERVICE_NAME`` (default ``grader``), set by the hub."""
    service_url: str
    """``JUPYTERHUB_SERVICE_URL`` (default ``http://127.0.0.1:10101``): the service's URL as
    the hub's proxy reaches it."""
    bind_url: str
    """``GRADER_BIND_URL`` (default: ``service_url``): where the API listens. With Docker,
    ``http://0.0.0.0:10101``: learners' containers reach the API at the notebook network's
    gateway, as they reach the hub's."""
    trusted_services: frozenset[str]
    """``GRADER_TRUSTED_SERVICES`` (default ``lms``, comma-separated): hub services that act
    for the instructors of every course. The LMS is one: it decides who teaches a course (the
    hub's groups come from it) and calls the grader with its own hub token."""
    cookie_secret_value: str
    """``GRADER_COOKIE_SECRET`` (or ``_FILE``); empty: generated into ``<var>/secrets/``."""
    gradebook_scan_seconds: float
    """``GRADER_GRADEBOOK_SCAN_SECONDS`` (default 15; 0: never): how often ``serve`` looks
    for grades instructors changed by hand in nbgrader's gradebook (``grading.manual_grades``)."""
    sandbox: dict[str, object]
    """The grading sandbox's settings (traits of ``grading.sandbox.Sandbox``):
    ``GRADER_SANDBOX_IMAGE`` (default ``pls-notebook:latest``: for courses naming no image),
    ``GRADER_SANDBOX_PREFIX`` (``pls-grading``: containers are ``<prefix>-<hex>``),
    ``GRADER_SANDBOX_MEM`` (``1g``), ``GRADER_SANDBOX_CPUS`` (1), ``GRADER_SANDBOX_PIDS``
    (256), ``GRADER_CELL_TIMEOUT`` (30 s per cell), ``GRADER_TIME_LIMIT`` (300 s per
    notebook), ``GRADER_POOL_SIZE`` (1 container started ahead per worker; 0: none)."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        var_dir = Path(_text(env, "STUDIO_VAR_DIR", str(REPO_ROOT / "var"))).resolve()
        root = Path(_text(env, "GRADER_ROOT", str(var_dir / "grader"))).resolve()
        courses_dir = Path(_text(env, "STUDIO_COURSES_DIR", str(REPO_ROOT / "courses")))
        lms_public = _text(env, "LMS_PUBLIC_URL", "http://127.0.0.1:8000")
        service_url = _text(env, "JUPYTERHUB_SERVICE_URL", "http://127.0.0.1:10101")
        return cls(
            var_dir=var_dir,
            courses_dir=courses_dir.resolve(),
            root=root,
            db_url=_text(env, "GRADER_DB_URL", f"sqlite:///{var_dir / 'grader' / 'grader.sqlite'}"),
            workers=_number(env, "GRADER_WORKERS", os.cpu_count() or 1, int, 0),
            max_submission_bytes=_number(env, "GRADER_MAX_SUBMISSION_BYTES", 20 * MIB, int, 1),
            max_submission_files=_number(env, "GRADER_MAX_SUBMISSION_FILES", 200, int, 1),
            lease_seconds=_number(env, "GRADER_LEASE_SECONDS", 30.0, float, 1),
            max_attempts=_number(env, "GRADER_MAX_ATTEMPTS", 3, int, 1),
            poll_seconds=_number(env, "GRADER_POLL_SECONDS", 0.5, float, 0.01),
            lms_url=_text(env, "LMS_INTERNAL_URL", lms_public).rstrip("/"),
            lms_token=_secret(env, "LMS_GRADER_TOKEN"),
            service_name=_text(env, "JUPYTERHUB_SERVICE_NAME", "grader"),
            service_url=service_url,
            bind_url=_text(env, "GRADER_BIND_URL", service_url),
            trusted_services=frozenset(
                name.strip()
                for name in _text(env, "GRADER_TRUSTED_SERVICES", "lms").split(",")
                if name.strip()
            ),
            cookie_secret_value=_secret(env, "GRADER_COOKIE_SECRET"),
            gradebook_scan_seconds=_number(env, "GRADER_GRADEBOOK_SCAN_SECONDS", 15.0, float, 0),
            sandbox={
                "image": _text(env, "GRADER_SANDBOX_IMAGE", "pls-notebook:latest"),
                "name_prefix": _text(env, "GRADER_SANDBOX_PREFIX", "pls-grading"),
                "mem_limit": _text(env, "GRADER_SANDBOX_MEM", "1g"),
                "cpu_limit": _number(env, "GRADER_SANDBOX_CPUS", 1.0, float, 0.1),
                "pids_limit": _number(env, "GRADER_SANDBOX_PIDS", 256, int, 16),
                "cell_timeout": _number(env, "GRADER_CELL_TIMEOUT", 30, int, 1),
                "time_limit": _number(env, "GRADER_TIME_LIMIT", 300, int, 1),
                "pool_size": _number(env, "GRADER_POOL_SIZE", 2, int, 0),
            },
        )

    # -- where things live -----------------------------------------------------------------

    def studio_course_dir(self, slug: str) -> Path:
        """The course folder in the repository's sense: ``course.yml`` and ``source/``."""
        return self.courses_dir / slug

    def nbgrader_course_dir(self, slug: str) -> Path:
        """The course's nbgrader course directory, owned by ``grading.course_directory``."""
        return self.root / "courses" / slug

    @property
    def submissions_dir(self) -> Path:
        """One folder per submission, ``<id>/files/`` (as uploaded) and ``<id>/feedback/``."""
        return self.root / "submissions"

    def cookie_secret(self) -> bytes:
        """The secret signing the hub OAuth cookie: stable across restarts so browsers stay
        signed in, and shared by every instance behind one URL."""
        if self.cookie_secret_value:
            return self.cookie_secret_value.encode()
        path = self.var_dir / "secrets" / "grader-cookie-secret"
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another process created it first: use theirs
                pass
            else:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(secrets.token_hex(32) + "\n")
        return path.read_text(encoding="utf-8").strip().encode()
