"""Course materials in a learner's work folder: lesson notebooks and released assignments.

What a learner gets for a course ``<slug>`` (paths relative to their work folder, matching the
LMS's "Open in JupyterLab" links ``lab/tree/<slug>/<notebook>``):

- ``<slug>/<lesson notebook>`` for every lesson in ``course.yml`` (e.g.
  ``python-101/lessons/01-basics.ipynb``);
- ``<slug>/<assignment>/...`` for every assignment whose release date has passed and whose
  student version exists (nbgrader's ``release/<assignment>/``, produced by the grader).

Never anything else from the course folder: ``source/`` holds solutions and hidden tests.
Copies never overwrite: a file the learner already has (edited or not) is left alone; a file
they deleted comes back at the next start.

The local spawner copies with :func:`copy_missing`. The Docker spawner bind-mounts exactly these
files read-only under :data:`CONTAINER_MATERIALS_DIR` and the container copies them with
``cp -Rn`` before starting Jupyter (:func:`copy_command`), so the hub never writes into a
learner's volume and nothing writable is shared.
"""

from __future__ import annotations

import datetime as dt
import errno
import os
import shlex
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from courses.course_file import CourseSpec

CONTAINER_MATERIALS_DIR = "/srv/studio/materials"


@dataclass(frozen=True)
class Material:
    """One file to place: ``source`` on the hub's file system, ``target`` relative to the
    learner's work folder."""

    source: Path
    target: PurePosixPath


def release_dir(course: CourseSpec, release_root: Path | str | None) -> Path:
    """Where the course's released (student) assignment folders are: ``<release_root>/<slug>``
    when a release root is configured, the root itself with ``{slug}`` filled in when it
    names the slug (the grader's ``courses/{slug}/release``), else nbgrader's
    ``<course folder>/release``."""
    if not release_root:
        return course.root / "release"
    root = str(release_root)
    if "{slug}" in root:
        return Path(root.replace("{slug}", course.slug))
    return Path(root) / course.slug


def course_materials(
    course: CourseSpec, release_root: Path | str | None = None, now: dt.datetime | None = None
) -> list[Material]:
    """Every file a learner of ``course`` should have, lessons first."""
    now = now or dt.datetime.now(dt.UTC)
    slug = PurePosixPath(course.slug)
    found = [
        Material(course.lesson_path(lesson), slug / lesson.notebook) for lesson in course.lessons
    ]
    released = release_dir(course, release_root)
    for assignment in course.assignments:
        if assignment.release and assignment.release > now:
            continue
        folder = released / assignment.name
        if not folder.is_dir() or folder.is_symlink():
            continue
        for path in sorted(folder.rglob("*")):
            relative = path.relative_to(folder)
            if any(part.startswith(".") for part in relative.parts):
                continue  # .ipynb_checkpoints and the like
            if path.is_symlink() or not path.is_file():
                continue  # never follow a link out of the release folder
            found.append(Material(path, slug / assignment.name / PurePosixPath(*relative.parts)))
    return found


def copy_missing(materials: Iterable[Material], work_dir: Path) -> list[PurePosixPath]:
    """Copy each material into ``work_dir`` unless a file (or anything) is already there.

    Never overwrites and never follows a symbolic link the learner may have put in the way:
    the file is created with ``O_EXCL | O_NOFOLLOW`` and parent folders must be real folders.
    Returns the targets actually copied.
    """
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    copied = []
    for material in materials:
        destination = work_dir.joinpath(*material.target.parts)
        if not _make_parents(work_dir, material.target.parts[:-1]):
            continue
        try:
            fd = os.open(
                destination, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644
            )
        except FileExistsError:
            continue
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                continue
            raise
        with os.fdopen(fd, "wb") as out, material.source.open("rb") as src:
            shutil.copyfileobj(src, out)
        copied.append(material.target)
    return copied


def _make_parents(work_dir: Path, parts: tuple[str, ...]) -> bool:
    """Create the folders ``parts`` under ``work_dir``; False if one is a link or a file."""
    current = work_dir
    for part in parts:
        current = current / part
        if current.is_symlink():
            return False
        try:
            current.mkdir()
        except FileExistsError:
            if not current.is_dir():
                return False
    return True


def container_binds(
    materials: Iterable[Material], host_path=lambda path: str(path)
) -> dict[str, dict[str, str]]:
    """Read-only Docker binds that show exactly ``materials`` under CONTAINER_MATERIALS_DIR.

    ``host_path`` turns a hub path into the path the Docker engine sees (they differ when the
    hub itself runs in a container).
    """
    return {
        host_path(m.source): {"bind": f"{CONTAINER_MATERIALS_DIR}/{m.target}", "mode": "ro"}
        for m in materials
    }


def copy_command(work_dir: str, command: list[str]) -> list[str]:
    """Wrap the server's command: copy the mounted materials without overwriting, then exec it.

    Runs as the container's user, so the copies belong to the learner.
    """
    script = (
        f'if [ -d {CONTAINER_MATERIALS_DIR} ]; then '
        f"cp -Rn {CONTAINER_MATERIALS_DIR}/. {shlex.quote(work_dir)}/ "
        '|| echo "studio: some course materials could not be copied" >&2; '
        'fi; exec "$@"'
    )
    return ["/bin/sh", "-c", script, "studio-start", *command]
