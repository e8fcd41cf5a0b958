"""Where a studio keeps its state, item by item (:mod:`ops.items`): ``make up``'s studio on this
machine (:func:`local_stack`) and the ``docker-compose.yml`` stack (:func:`compose_stack`).

Both name their items alike (``lms-database``, ``grader-root``, ``learner-volume:<user>``, ...),
so the manifest reads the same; an item is restored only into an item of its own kind (a SQLite
database into a SQLite database).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ops.commands import run
from ops.errors import OpsError
from ops.items import (
    SQLITE_COMPANIONS,
    ComposeDatabase,
    Folder,
    Item,
    PostgresDatabase,
    SQLiteDatabase,
    Volume,
)
from ops.settings import OpsSettings
from servicekit.docker_engine import docker_engine_answers
from servicekit.settings import DEFAULT_COURSES_DIR
from servicekit.state import DEFAULT_DOCKER_PREFIX, DEFAULT_LEARNER_IMAGE, work_volume_prefix

REPO_ROOT = Path(__file__).resolve().parent.parent
LEARNER_VOLUME = "learner-volume:"  # + the learner's name as it ends their volume's name

# docker-compose.yml's state: its databases (images/postgres/initdb makes them; the role is
# `studio`) and its named volumes but PostgreSQL's own (dumped instead) and Prometheus's
# (metrics, which a restored studio gathers afresh).
COMPOSE_DATABASES = {"lms-database": "lms", "hub-database": "hub",
                     "grader-database": "grader", "tutor-database": "tutor"}
COMPOSE_VOLUMES = {"lms-media": "lms-media", "hub-folder": "hub-data",
                   "grader-root": "grader-data"}
COMPOSE_UNSAVED_VOLUMES = {"postgres-data", "prometheus-data"}
COMPOSE_DB_USER = "studio"


@dataclass
class Stack:
    """A studio's items, and how to find the item an archived entry is restored into."""

    name: str
    items: list[Item]
    # learner -> their work volume here, for restoring learners' volumes (None: no engine)
    learner_volume: Callable[[str], Volume] | None = None
    notes: list[str] = field(default_factory=list)

    def target(self, entry: Mapping) -> Item:
        if entry["name"].startswith(LEARNER_VOLUME):
            if self.learner_volume is None:
                raise OpsError(f"{entry['name']} is a learner's Docker volume and no Docker "
                               "engine answers here: start one (make up does) and restore again.")
            item = self.learner_volume(entry["name"].removeprefix(LEARNER_VOLUME))
        else:
            item = next((item for item in self.items if item.name == entry["name"]), None)
        if item is None:
            raise OpsError(f"This studio has no place for {entry['name']} ({entry['kind']}): "
                           "was the archive made of another kind of studio?")
        if item.kind != entry["kind"]:
            raise OpsError(f"{entry['name']} is archived as {entry['kind']} but this studio keeps "
                           f"it as {item.kind} ({item.describe()}): restore into a studio "
                           "configured as the one backed up (make up, or compose).")
        return item


def database_item(name: str, url: str, variable: str) -> Item:
    """The item of a database URL: a SQLite file or a PostgreSQL database."""
    if url.startswith("sqlite:///"):
        return SQLiteDatabase(name, Path(url.removeprefix("sqlite:///").split("?")[0]))
    if re.match(r"postgres(ql)?(\+\w+)?://", url):
        return PostgresDatabase(name, url)
    raise OpsError(f"{variable} names a database that cannot be backed up: only SQLite "
                   "(sqlite:///path) and PostgreSQL (postgresql://...) are.")


def _sqlite_files_under(folder: Path, items: list[Item]) -> tuple[str, ...]:
    """The files of the SQLite databases in ``folder`` (other items cover them)."""
    patterns = []
    for item in items:
        if isinstance(item, SQLiteDatabase) and item.path.parent.resolve().is_relative_to(
                folder.resolve()):
            relative = item.path.resolve().relative_to(folder.resolve()).as_posix()
            patterns.extend(f"{relative}{companion}" for companion in SQLITE_COMPANIONS)
    return tuple(patterns)


def learner_volumes(prefix: str, image: str) -> list[Volume]:
    """Every learner's work volume under the Docker prefix ``prefix`` on this engine."""
    start = work_volume_prefix(prefix)
    listed = run(["docker", "volume", "ls", "--format", "{{.Name}}"], "list Docker's volumes")
    return [Volume(f"{LEARNER_VOLUME}{name.removeprefix(start)}", name, image,
                   learner=name.removeprefix(start))
            for name in sorted(listed.split()) if name.startswith(start)]


def local_stack(environ: Mapping[str, str] | None = None, image: str = "") -> Stack:
    """``make up``'s studio, from the environment the parts read (``STUDIO_VAR_DIR``, the
    database URLs, ``GRADER_ROOT``, ``STUDIO_COURSES_DIR``, ``HUB_DOCKER_PREFIX``)."""
    settings = OpsSettings.from_env(environ)
    image = image or settings.image
    databases = [
        database_item("lms-database", settings.lms_db_url, "DATABASE_URL"),
        database_item("hub-database", settings.hub_db_url, "HUB_DB_URL"),
        database_item("grader-database", settings.grader_db_url, "GRADER_DB_URL"),
        database_item("tutor-database", settings.tutor_db_url, "TUTOR_DB_URL"),
    ]
    var = settings.var_dir
    folders = [
        Folder("lms-media", var / "media"),
        # without the proxy's pid file: the process of the studio backed up
        Folder("hub-folder", var / "hub",
               (*_sqlite_files_under(var / "hub", databases), "*.pid")),
        Folder("grader-root", settings.grader_root,
               _sqlite_files_under(settings.grader_root, databases)),
        Folder("courses", settings.courses_dir, courses_only=True),
    ]
    stack = Stack("make up", [*databases, *folders])
    if docker_engine_answers():
        stack.items.extend(learner_volumes(settings.docker_prefix, image))
        stack.learner_volume = lambda learner: Volume(
            f"{LEARNER_VOLUME}{learner}", f"{work_volume_prefix(settings.docker_prefix)}{learner}",
            image, learner=learner)
    else:
        stack.notes.append("No Docker engine answers: no learners' volumes (learners of the "
                           "local spawner keep their files in the hub's folder, which is saved).")
    return stack


def compose_command() -> list[str]:
    """The v2 plugin when the engine has it, else Debian's docker-compose."""
    probe = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)  # noqa: S607
    if probe.returncode == 0:
        return ["docker", "compose"]
    return [shutil.which("docker-compose") or "docker-compose"]


def env_file_values(path: Path) -> dict[str, str]:
    """``NAME=value`` lines of a compose env file (comments and blank lines skipped)."""
    if not path.is_file():
        raise OpsError(f"The compose env file {path} does not exist: pass --env-file.")
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip().strip("'\"")
    return values


def compose_project(project: str, environ: Mapping[str, str]) -> str:
    """The compose project's name as compose makes it: ``-p``, ``COMPOSE_PROJECT_NAME``, or the
    project folder's name, lower case, other characters than letters, digits, ``-`` and ``_``
    dropped."""
    name = project or environ.get("COMPOSE_PROJECT_NAME") or REPO_ROOT.name
    return re.sub(r"[^a-z0-9_-]", "", name.lower())


def compose_stack(env_file: Path, project: str = "", environ: Mapping[str, str] | None = None,
                  image: str = "") -> Stack:
    """The ``docker-compose.yml`` stack: its four databases in the ``postgres`` container, its
    named volumes, learners' work volumes and the course folders of ``STUDIO_COURSES_HOST_DIR``
    (read from ``env_file``; the environment overrides it, as for compose)."""
    values = {**env_file_values(env_file), **(os.environ if environ is None else environ)}
    project = compose_project(project, values)
    compose = [*compose_command(), "-p", project, "--env-file", str(env_file),
               "-f", str(REPO_ROOT / "docker-compose.yml")]
    image = image or values.get("HUB_IMAGE") or DEFAULT_LEARNER_IMAGE
    prefix = values.get("HUB_DOCKER_PREFIX") or DEFAULT_DOCKER_PREFIX
    courses = Path(values.get("STUDIO_COURSES_HOST_DIR") or DEFAULT_COURSES_DIR)
    items: list[Item] = [ComposeDatabase(name, compose, database, COMPOSE_DB_USER)
                         for name, database in COMPOSE_DATABASES.items()]
    items += [Volume(name, f"{project}_{key}", image,
                     labels={"com.docker.compose.project": project,
                             "com.docker.compose.volume": key})
              for name, key in COMPOSE_VOLUMES.items()]
    items.append(Folder("courses", courses, courses_only=True))
    items.extend(learner_volumes(prefix, image))
    stack = Stack(f"compose project {project}", items)
    stack.learner_volume = lambda learner: Volume(
        f"{LEARNER_VOLUME}{learner}", f"{work_volume_prefix(prefix)}{learner}", image,
        learner=learner)
    return stack
