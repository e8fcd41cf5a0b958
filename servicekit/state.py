"""Where the studio keeps its state: the one owner of the default paths and names.

Every part's settings default to these (the LMS's database and uploads, the hub's database, the
grader's folder and database, the tutor's database, learners' work volumes), and ``ops`` (``make
backup``, ``make restore``) backs up and restores what they name. A variable that overrides one
(``DATABASE_URL``, ``HUB_DB_URL``, ``GRADER_ROOT``, ``GRADER_DB_URL``, ``TUTOR_DB_URL``,
``HUB_DOCKER_PREFIX``) is read by its part's settings and by ``ops.settings``, with these
defaults.
"""

from __future__ import annotations

from pathlib import Path

DEFAULT_DOCKER_PREFIX = "pls"
"""``HUB_DOCKER_PREFIX``'s default: learners' containers ``pls-<user>``, volumes
``pls-work-<user>``."""

DEFAULT_LEARNER_IMAGE = "pls-notebook:latest"
"""``HUB_IMAGE``'s default: the learner image (and the grader's default sandbox image)."""

WORK_VOLUME_TEMPLATE = "{prefix}-work-{username}"
"""A learner's work volume, ``username`` escaped as dockerspawner escapes it (it fills in both)."""


def work_volume_prefix(prefix: str) -> str:
    """What every learner's work volume under the Docker prefix ``prefix`` begins with."""
    return WORK_VOLUME_TEMPLATE.format(prefix=prefix, username="")


def sqlite_url(path: Path) -> str:
    """SQLAlchemy's URL of a SQLite file."""
    return f"sqlite:///{path}"


def lms_database(var_dir: Path) -> Path:
    """The LMS's SQLite database when ``DATABASE_URL`` is unset (``make up``)."""
    return var_dir / "lms.sqlite3"


def lms_media(var_dir: Path) -> Path:
    """The LMS's uploads (Django's ``MEDIA_ROOT``)."""
    return var_dir / "media"


def hub_folder(var_dir: Path) -> Path:
    """The hub's folder: its SQLite database, and local learners' work folders (``users/``)."""
    return var_dir / "hub"


def hub_database(var_dir: Path) -> Path:
    """The hub's SQLite database when ``HUB_DB_URL`` is unset."""
    return hub_folder(var_dir) / "jupyterhub.sqlite"


def grader_root(var_dir: Path) -> Path:
    """``GRADER_ROOT``'s default: the grader's nbgrader course directories, submissions,
    exchange and feedback."""
    return var_dir / "grader"


def grader_database(var_dir: Path) -> Path:
    """The grader's SQLite database when ``GRADER_DB_URL`` is unset."""
    return grader_root(var_dir) / "grader.sqlite"


def tutor_database(var_dir: Path) -> Path:
    """The tutor's SQLite database when ``TUTOR_DB_URL`` is unset."""
    return var_dir / "tutor" / "tutor.sqlite"
