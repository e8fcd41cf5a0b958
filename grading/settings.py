"""The grader's settings, read once from the environment into a :class:`Settings`.

Within the grader, this module is the only reader of ``GRADER_*`` variables (and of the few
shared ones the grader needs: ``STUDIO_VAR_DIR``, ``STUDIO_COURSES_DIR``, ``LMS_INTERNAL_URL``,
``LMS_PUBLIC_URL``, ``LMS_GRADER_TOKEN``; the hub only passes them on to a grader it starts),
through ``servicekit.settings``: a bad value raises ``SettingError``
naming the variable. The ``JUPYTERHUB_*`` variables the hub sets for a service are read by
JupyterHub's own ``HubOAuth``; only the service's name and URL are read here. Reading never
writes anything except :meth:`Settings.cookie_secret`, which creates its file on first use when
no secret is given.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field

from servicekit.secrets import generated_secret
from servicekit.settings import Folder, Names, StudioSettings, secret
from servicekit.state import DEFAULT_LEARNER_IMAGE, grader_database, grader_root, sqlite_url

MIB = 1024 * 1024
DEFAULT_SERVICE_URL = "http://127.0.0.1:10101"


class Settings(StudioSettings):
    """Everything the grader's processes need to know, with the variable each comes from
    (``STUDIO_VAR_DIR``, ``STUDIO_COURSES_DIR``, ``LMS_PUBLIC_URL`` and ``LMS_INTERNAL_URL``:
    ``servicekit.settings.StudioSettings``)."""

    root: Folder = Field(
        default_factory=lambda data: grader_root(data["var_dir"]), validation_alias="GRADER_ROOT",
        validate_default=True,
    )
    """``GRADER_ROOT`` (default ``<var>/grader``): nbgrader course directories and submissions."""
    db_url: str = Field(
        default_factory=lambda data: sqlite_url(grader_database(data["var_dir"])),
        validation_alias="GRADER_DB_URL",
    )
    """``GRADER_DB_URL`` (default SQLite at ``<var>/grader/grader.sqlite``)."""
    workers: int = Field(
        default_factory=lambda: os.cpu_count() or 1, validation_alias="GRADER_WORKERS", ge=0
    )
    """``GRADER_WORKERS`` (default: the number of CPUs); ``0`` runs no workers with ``serve``."""
    max_submission_bytes: int = Field(
        20 * MIB, validation_alias="GRADER_MAX_SUBMISSION_BYTES", ge=1
    )
    """``GRADER_MAX_SUBMISSION_BYTES`` (default 20 MiB): the largest upload, and the most its
    files may add up to once unpacked."""
    max_submission_files: int = Field(200, validation_alias="GRADER_MAX_SUBMISSION_FILES", ge=1)
    """``GRADER_MAX_SUBMISSION_FILES`` (default 200): the most files one upload may hold."""
    max_submission_folders: int = Field(
        50, validation_alias="GRADER_MAX_SUBMISSION_FOLDERS", ge=0
    )
    """``GRADER_MAX_SUBMISSION_FOLDERS`` (default 50): the most folders one upload may hold
    (those its files' paths imply included); ``grading.archive`` also caps their depth."""
    lease_seconds: float = Field(30.0, validation_alias="GRADER_LEASE_SECONDS", ge=1)
    """``GRADER_LEASE_SECONDS`` (default 30): how long a claimed job is a worker's without a
    renewal; a job of a crashed worker is claimed again after at most this long."""
    max_attempts: int = Field(3, validation_alias="GRADER_MAX_ATTEMPTS", ge=1)
    """``GRADER_MAX_ATTEMPTS`` (default 3): a job that failed this often is given up."""
    sandbox_wait_seconds: float = Field(
        1800.0, validation_alias="GRADER_SANDBOX_WAIT_SECONDS", ge=0
    )
    """``GRADER_SANDBOX_WAIT_SECONDS`` (default 1800): how long a job waits for an unavailable
    grading sandbox (no Docker engine answers, the image is missing) before it is given up;
    meanwhile it is tried again after 5 s, then twice as long each time, at most 5 minutes
    apart, and such tries do not count as attempts."""
    poll_seconds: float = Field(0.5, validation_alias="GRADER_POLL_SECONDS", ge=0.01)
    """``GRADER_POLL_SECONDS`` (default 0.5): how often an idle worker looks for a job."""
    lms_token: str = secret("LMS_GRADER_TOKEN")
    """``LMS_GRADER_TOKEN`` (or ``LMS_GRADER_TOKEN_FILE``): empty means grades are not pushed."""
    service_name: str = Field("grader", validation_alias="JUPYTERHUB_SERVICE_NAME")
    """``JUPYTERHUB_SERVICE_NAME`` (default ``grader``), set by the hub."""
    service_url: str = Field(DEFAULT_SERVICE_URL, validation_alias="JUPYTERHUB_SERVICE_URL")
    """``JUPYTERHUB_SERVICE_URL`` (default ``http://127.0.0.1:10101``): the service's URL as
    the hub's proxy reaches it."""
    bind_url: str = Field(
        default_factory=lambda data: data["service_url"], validation_alias="GRADER_BIND_URL"
    )
    """``GRADER_BIND_URL`` (default: ``service_url``): where the API listens. With Docker,
    ``http://0.0.0.0:10101``: learners' containers reach the API at the notebook network's
    gateway, as they reach the hub's."""
    trusted_services: Names = Field(
        frozenset({"lms"}), validation_alias="GRADER_TRUSTED_SERVICES"
    )
    """``GRADER_TRUSTED_SERVICES`` (default ``lms``, comma-separated): hub services that act
    for the instructors of every course. The LMS is one: it decides who teaches a course (the
    hub's groups come from it) and calls the grader with its own hub token."""
    cookie_secret_value: str = secret("GRADER_COOKIE_SECRET")
    """``GRADER_COOKIE_SECRET`` (or ``_FILE``); empty: generated into ``<var>/secrets/``."""
    gradebook_scan_seconds: float = Field(
        15.0, validation_alias="GRADER_GRADEBOOK_SCAN_SECONDS", ge=0
    )
    """``GRADER_GRADEBOOK_SCAN_SECONDS`` (default 15; 0: never): how often ``serve`` looks
    for grades instructors changed by hand in nbgrader's gradebook (``grading.manual_grades``)."""

    # The grading sandbox's settings: :attr:`sandbox`.
    sandbox_image: str = Field(DEFAULT_LEARNER_IMAGE, validation_alias="GRADER_SANDBOX_IMAGE")
    sandbox_prefix: str = Field("pls-grading", validation_alias="GRADER_SANDBOX_PREFIX")
    sandbox_mem: str = Field("1g", validation_alias="GRADER_SANDBOX_MEM")
    sandbox_cpus: float = Field(1.0, validation_alias="GRADER_SANDBOX_CPUS", ge=0.1)
    sandbox_pids: int = Field(256, validation_alias="GRADER_SANDBOX_PIDS", ge=16)
    cell_timeout: int = Field(30, validation_alias="GRADER_CELL_TIMEOUT", ge=1)
    time_limit: int = Field(300, validation_alias="GRADER_TIME_LIMIT", ge=1)
    pool_size: int = Field(2, validation_alias="GRADER_POOL_SIZE", ge=0)
    sandbox_swarm: bool = Field(False, validation_alias="GRADER_SANDBOX_SWARM")

    @property
    def sandbox(self) -> dict[str, object]:
        """The grading sandbox's settings (traits of ``grading.sandbox.Sandbox``):
        ``GRADER_SANDBOX_IMAGE`` (default ``pls-notebook:latest``: for courses naming no image),
        ``GRADER_SANDBOX_PREFIX`` (``pls-grading``: containers are ``<prefix>-<hex>``),
        ``GRADER_SANDBOX_MEM`` (``1g``), ``GRADER_SANDBOX_CPUS`` (1), ``GRADER_SANDBOX_PIDS``
        (256), ``GRADER_CELL_TIMEOUT`` (30 s per cell), ``GRADER_TIME_LIMIT`` (300 s per
        notebook), ``GRADER_POOL_SIZE`` (2 containers started ahead per worker; 0: none),
        ``GRADER_SANDBOX_SWARM`` (false; true: each sandbox a one-shot Swarm service)."""
        return {
            "image": self.sandbox_image,
            "name_prefix": self.sandbox_prefix,
            "mem_limit": self.sandbox_mem,
            "cpu_limit": self.sandbox_cpus,
            "pids_limit": self.sandbox_pids,
            "cell_timeout": self.cell_timeout,
            "time_limit": self.time_limit,
            "pool_size": self.pool_size,
            "swarm": self.sandbox_swarm,
        }

    # -- where things live -----------------------------------------------------------------

    def studio_course_dir(self, slug: str) -> Path:
        """The course folder in the repository's sense: ``course.yml`` and ``source/``."""
        return self.courses_dir / slug

    def nbgrader_course_dir(self, slug: str) -> Path:
        """The course's nbgrader course directory, owned by ``grading.course_directory``."""
        return self.root / "courses" / slug

    @property
    def metrics_dir(self) -> Path:
        """Where ``serve``'s processes (the API and its workers) keep their metrics for the
        API's ``/metrics`` to sum (``servicekit.metrics.use_multiprocess_dir``): memory-mapped
        files, so on this machine's disk, ``<STUDIO_VAR_DIR>/metrics/grader``, never the
        shared ``GRADER_ROOT``; emptied at each start."""
        return self.var_dir / "metrics" / "grader"

    @property
    def submissions_dir(self) -> Path:
        """One folder per submission, ``<id>/files/`` (as uploaded) and ``<id>/feedback/``."""
        return self.root / "submissions"

    def cookie_secret(self) -> bytes:
        """The secret signing the hub OAuth cookie: stable across restarts so browsers stay
        signed in, and shared by every instance behind one URL."""
        if self.cookie_secret_value:
            return self.cookie_secret_value.encode()
        return generated_secret(self.var_dir / "secrets" / "grader-cookie-secret").encode()
