"""The nbgrader course directory of a course: its layout, its configuration, opening it.

One nbgrader course directory per course, ``GRADER_ROOT/courses/<slug>/``::

    nbgrader_config.json      CourseDirectory root, course_id and db_url (for nbgrader's tools)
    studio_course.json        where the course folder (course.yml, source/) is
    gradebook.db              nbgrader's gradebook (SQLite, WAL) unless a db_url is given
    source/<assignment>/      copy of courses/<slug>/source/<assignment>/, taken at each release
    release/<assignment>/     what learners fetch (nbgrader generate_assignment, grading.release)
    manifests/<assignment>.json   the released notebooks' nbgrader cells: the tamper check's
                              reference (grading.manifest; the gradebook keeps the cells *with*
                              hidden tests)
    submitted/, autograded/, feedback/<learner>/<assignment>/   nbgrader's own steps
                              (grading.autograde, grading.feedback)
    feedback-out/<learner>/<assignment>/<stamp>/  the feedback of one grading, for the caller
    locks/<learner>.lock      one grading per learner and course at a time (all processes)

Every module that runs nbgrader's steps opens the course directory here, so importing this
module also gives nbgrader's gradebook and cell checks this process's caches
(``grading.process_caches``). nbgrader is imported with it, once per process: it costs seconds.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import secrets
import sqlite3
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nbgrader.api import Gradebook
from nbgrader.coursedir import CourseDirectory
from traitlets.config import Config

from courses.course_file import load_course
from grading.process_caches import (
    COURSE_FILES,
    check_cell_schemas_once,
    check_gradebook_tables_at_once,
    share_gradebook_engines,
)
from grading.settings import Settings

share_gradebook_engines()  # nbgrader's Gradebooks in this process: one engine per database
check_gradebook_tables_at_once()  # and one query for their tables when they are opened
check_cell_schemas_once()  # nbgrader's cell metadata schema: checked once, not per cell

MIB = 1024 * 1024
CONFIG_FILE = "nbgrader_config.json"
STUDIO_FILE = "studio_course.json"
TIMESTAMP_FILE = "timestamp.txt"
# nbgrader's own skip list, plus what never belongs in a sandbox.
IGNORED = (".ipynb_checkpoints", "__pycache__", "feedback", TIMESTAMP_FILE)


class SubmissionInvalid(Exception):
    """A submission that cannot be graded; the message is for the learner."""


class NotReleased(LookupError):
    """The assignment was never released (no manifest) or is not released now."""


@dataclass(frozen=True)
class Course:
    """An nbgrader course directory and where its course folder is."""

    root: Path
    slug: str
    course_folder: Path
    db_url: str

    def coursedir(self, **traits: str) -> CourseDirectory:
        return CourseDirectory(
            root=str(self.root), course_id=self.slug, db_url=self.db_url, **traits
        )

    def path(self, step: str, assignment: str, learner: str = ".") -> Path:
        return (self.root / step / learner / assignment).resolve()

    def manifest_path(self, assignment: str) -> Path:
        return self.root / "manifests" / f"{assignment}.json"

    def manifest(self, assignment: str) -> dict[str, Any]:
        path = self.manifest_path(assignment)
        if not path.is_file():
            raise NotReleased(f"{assignment!r} was never released in {self.slug}")
        return json.loads(path.read_text(encoding="utf-8"))

    def image(self) -> str:
        return COURSE_FILES.load(self.course_folder).image  # course.yml parsed once a version

    def grading_mode(self) -> str:
        """``judge`` (tests outside the learner's process) or ``in-kernel`` (course.yml)."""
        return COURSE_FILES.load(self.course_folder).grading

    @contextlib.contextmanager
    def learner_lock(self, learner: str) -> Iterator[None]:
        """One grading of ``learner`` in this course at a time, across processes: nbgrader
        keeps one submission per learner and assignment, and creates the learner's row on
        first use (two processes doing that at once would collide)."""
        folder = self.root / "locks"
        folder.mkdir(exist_ok=True)
        with open(folder / f"{learner}.lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def default_db_url(course_dir: Path) -> str:
    """SQLite in the course directory, waiting up to 30 s for another process's write."""
    return f"sqlite:///{course_dir / 'gradebook.db'}?timeout=30"


def prepare_course(
    course_dir: Path | str, course_folder: Path | str, db_url: str | None = None
) -> Course:
    """Create (or update) the nbgrader course directory for the course in ``course_folder``
    (the folder holding ``course.yml``). ``db_url``: nbgrader's gradebook (default: SQLite in
    the course directory); the same for every process that grades this course."""
    root = Path(course_dir).resolve()
    spec = load_course(course_folder)
    if root.name != spec.slug:
        raise ValueError(f"{root} is not the course directory of {spec.slug!r}")
    course = Course(root, spec.slug, Path(course_folder).resolve(), db_url or default_db_url(root))
    for step in ("source", "release", "submitted", "autograded", "feedback", "manifests"):
        (root / step).mkdir(parents=True, exist_ok=True)
    config = {
        "CourseDirectory": {"root": str(root), "course_id": course.slug, "db_url": course.db_url}
    }
    write_json(root / CONFIG_FILE, config, mode=0o600)  # a PostgreSQL URL holds a password
    write_json(root / STUDIO_FILE, {"course_folder": str(course.course_folder)})
    if course.db_url.startswith("sqlite:///"):
        database = course.db_url.removeprefix("sqlite:///").split("?")[0]
        with contextlib.closing(sqlite3.connect(database, timeout=30)) as connection:
            connection.execute("PRAGMA journal_mode=WAL")  # readers never wait for a writer
    # A new gradebook runs nbgrader's `alembic heads`, found on PATH, to stamp its schema.
    path = os.environ.get("PATH", "")
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), path])
    try:
        with Gradebook(course.db_url, course.slug):
            pass  # creates the tables and the course row once, not in racing workers
    finally:
        os.environ["PATH"] = path
    return course


def open_course(course_dir: Path | str) -> Course:
    """The course directory, prepared on first use from the course folder that
    ``grading.settings`` names for its slug (``STUDIO_COURSES_DIR/<slug>``)."""
    root = Path(course_dir).resolve()
    try:
        studio = json.loads((root / STUDIO_FILE).read_text(encoding="utf-8"))
        config = json.loads((root / CONFIG_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return prepare_course(root, Settings.from_env().studio_course_dir(root.name))
    return Course(
        root=root,
        slug=config["CourseDirectory"]["course_id"],
        course_folder=Path(studio["course_folder"]),
        db_url=config["CourseDirectory"]["db_url"],
    )


def write_json(path: Path, data: Any, mode: int = 0o644) -> None:
    """Write ``path`` whole or not at all (a reader never sees half a file)."""
    partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=1, default=str)
    os.replace(partial, path)


def check_name(kind: str, value: str, pattern: re.Pattern[str]) -> str:
    if not isinstance(value, str) or not pattern.match(value):
        raise ValueError(f"{kind} {value!r} is not a valid name")
    return value


def nbgrader_config(**sections: dict[str, Any]) -> Config:
    config = Config()
    for section, values in sections.items():
        for name, value in values.items():
            setattr(config[section], name, value)
    return config
