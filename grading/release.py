"""Release an assignment (nbgrader's ``generate_assignment``), withdraw it, find its files.

Releasing copies the assignment's source from the course folder into the course directory
(``grading.course_directory``), runs nbgrader's ``GenerateAssignment`` (solutions and hidden
tests removed, cells locked, checksums; the gradebook learns the cells) into
``release/<assignment>/`` and records the manifest (``grading.manifest``).
``grading.services.release`` calls these through its ``CourseOps``.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

from nbgrader.converters import GenerateAssignment
from nbgrader.converters.base import NbGraderException

from courses.naming import ASSIGNMENT_NAME_PATTERN
from grading.course_directory import (
    IGNORED,
    Course,
    NotReleased,
    check_name,
    nbgrader_config,
    open_course,
    write_json,
)
from grading.manifest import build_manifest, manifest_points

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReleaseInfo:
    course: str
    assignment: str
    released_at: dt.datetime
    release_dir: Path
    notebooks: tuple[str, ...]
    files: tuple[str, ...]
    max_score: float


def release(course_dir: Path | str, assignment: str) -> ReleaseInfo:
    """Release ``assignment``: copy its source from the course folder, run nbgrader's
    ``GenerateAssignment`` (solutions and hidden tests removed, cells locked, checksums; the
    gradebook learns the cells) into ``release/<assignment>/`` and record the manifest."""
    check_name("assignment", assignment, ASSIGNMENT_NAME_PATTERN)
    course = open_course(course_dir)
    source = course.course_folder / "source" / assignment
    if not any(source.glob("*.ipynb")):
        raise NotReleased(f"{course.slug} has no notebooks in source/{assignment}/")
    target = course.path("source", assignment)
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(*IGNORED))
    coursedir = course.coursedir(assignment_id=assignment)
    config = nbgrader_config(BaseConverter={"force": True})
    converter = GenerateAssignment(coursedir=coursedir, config=config, log=log)
    try:
        converter.start()
    except NbGraderException as exc:
        raise RuntimeError(f"nbgrader could not release {assignment}: {exc}") from exc
    released_at = dt.datetime.now(dt.UTC)
    write_json(course.manifest_path(assignment), build_manifest(course, assignment, released_at))
    return release_info(course, assignment)


def release_info(course: Course, assignment: str) -> ReleaseInfo:
    manifest = course.manifest(assignment)
    folder = released_files(course.root, assignment)
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    return ReleaseInfo(
        course=course.slug,
        assignment=assignment,
        released_at=dt.datetime.fromisoformat(manifest["released_at"]),
        release_dir=folder,
        notebooks=tuple(sorted(manifest["notebooks"])),
        files=tuple(files),
        max_score=manifest_points(manifest),
    )


def unrelease(course_dir: Path | str, assignment: str) -> None:
    """Withdraw the released files. The gradebook, the manifest and every submission stay,
    so submissions can still be (re)graded."""
    check_name("assignment", assignment, ASSIGNMENT_NAME_PATTERN)
    folder = open_course(course_dir).path("release", assignment)
    if folder.exists():
        shutil.rmtree(folder)


def released_files(course_dir: Path | str, assignment: str) -> Path:
    """The folder learners fetch for ``assignment`` (raises NotReleased if there is none)."""
    check_name("assignment", assignment, ASSIGNMENT_NAME_PATTERN)
    folder = Path(course_dir).resolve() / "release" / assignment
    if not folder.is_dir():
        raise NotReleased(f"{assignment!r} is not released")
    return folder
