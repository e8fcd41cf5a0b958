"""What ``python -m ops`` reads from the environment: where each part keeps its state.

The same variables, with the same defaults (``servicekit.state``), as the parts' own settings;
only the ones naming state are read here. A bad value raises ``SettingError`` naming it.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from servicekit.settings import Folder, StudioSettings
from servicekit.state import (
    DEFAULT_DOCKER_PREFIX,
    DEFAULT_LEARNER_IMAGE,
    grader_database,
    grader_root,
    hub_database,
    lms_database,
    sqlite_url,
    tutor_database,
)


class OpsSettings(StudioSettings):
    """Every database URL, folder and Docker name the studio's state lives under (``make up``'s
    studio; the compose stack's are read from its env file, :mod:`ops.stacks`)."""

    lms_db_url: str = Field(
        default_factory=lambda data: sqlite_url(lms_database(data["var_dir"])),
        validation_alias="DATABASE_URL")
    hub_db_url: str = Field(
        default_factory=lambda data: sqlite_url(hub_database(data["var_dir"])),
        validation_alias="HUB_DB_URL")
    grader_root: Folder = Field(
        default_factory=lambda data: grader_root(data["var_dir"]), validation_alias="GRADER_ROOT",
        validate_default=True)
    grader_db_url: str = Field(
        default_factory=lambda data: sqlite_url(grader_database(data["var_dir"])),
        validation_alias="GRADER_DB_URL")
    tutor_db_url: str = Field(
        default_factory=lambda data: sqlite_url(tutor_database(data["var_dir"])),
        validation_alias="TUTOR_DB_URL")
    docker_prefix: str = Field(DEFAULT_DOCKER_PREFIX, validation_alias="HUB_DOCKER_PREFIX")
    image: str = Field(DEFAULT_LEARNER_IMAGE, validation_alias="HUB_IMAGE")

    @property
    def backups_dir(self) -> Path:
        """Where ``make backup`` writes its archives by default."""
        return self.var_dir / "backups"
