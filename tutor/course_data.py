"""What the tutor knows of a course from its folder: assignments, answer cells, hints, solutions.

Read from ``<STUDIO_COURSES_DIR>/<slug>/``: ``course.yml`` (through ``courses.course_file``, the
shared reader: each assignment's ``tutor:`` policy, ``hints:`` and release date, the fallback
when the LMS cannot be asked; the lessons and their notebooks) and the nbgrader source notebooks
``source/<assignment>/*.ipynb``: which cells are answer cells (``nbgrader.solution``), the hints
an instructor put in a cell's metadata (``pls_tutor.hints``) and every solution region, for the
leak guard (``tutor.guard``). The ids and text of every assignment and lesson notebook are
indexed for placing a request (``tutor.placement``).

The solution regions are read from the notebooks even when ``course.yml`` does not load, so a
broken course file never switches the guard off. A course is read again when one of its files
changed (looked at most every :data:`CHECK_SECONDS`).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from courses.course_file import CourseFileError, load_course
from courses.naming import is_course_slug
from courses.solutions import cell_source, outside_solutions, solution_regions
from tutor.guard import SolutionIndex, SolutionRegion, region
from tutor.placement import ASSIGNMENT, LESSON, IndexedCell, PlaceIndex

log = logging.getLogger(__name__)

CHECK_SECONDS = 2.0


@dataclass(frozen=True)
class AnswerCell:
    """An nbgrader answer cell (``solution: true``) of a source notebook."""

    cell_id: str
    assignment: str
    notebook: str
    code: bool
    hints: tuple[str, ...] = ()
    """Instructor-written hints for this cell (``metadata.pls_tutor.hints``)."""


@dataclass(frozen=True)
class AssignmentData:
    name: str
    title: str
    policy: str
    """``tutor:`` in course.yml (``hints-only`` when it says nothing)."""
    hints: tuple[str, ...]
    """``hints:`` in course.yml."""
    release: dt.datetime | None
    cells: dict[str, AnswerCell] = field(default_factory=dict)

    def released(self, now: dt.datetime | None = None) -> bool:
        return self.release is None or self.release <= (now or dt.datetime.now(dt.UTC))


@dataclass(frozen=True)
class CourseData:
    slug: str
    title: str
    assignments: dict[str, AssignmentData]
    solutions: SolutionIndex
    places: PlaceIndex = field(default_factory=PlaceIndex)
    """The ids and text of the course's assignment and lesson notebooks."""
    lessons: dict[str, str] = field(default_factory=dict)
    """Each lesson's slug -> its title."""
    lesson_files: tuple[Path, ...] = ()


def _cell_hints(cell: dict) -> tuple[str, ...]:
    hints = (cell.get("metadata") or {}).get("pls_tutor", {}).get("hints") or []
    if not isinstance(hints, list):
        return ()
    return tuple(h.strip() for h in hints if isinstance(h, str) and h.strip())


def _cells(path: Path) -> list[dict] | None:
    try:
        cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
    except (OSError, ValueError, AttributeError) as error:
        log.error("%s: not a readable notebook (%s)", path, error)
        return None
    return [cell for cell in cells if isinstance(cell, dict)] if isinstance(cells, list) else []


def _indexed(cell: dict) -> IndexedCell:
    meta = (cell.get("metadata") or {}).get("nbgrader") or {}
    cell_id, grade_id = cell.get("id"), meta.get("grade_id")
    return IndexedCell(
        cell_id=cell_id if isinstance(cell_id, str) and cell_id else None,
        grade_id=grade_id if isinstance(grade_id, str) and grade_id else None,
        text=outside_solutions(cell_source(cell)),
    )


def read_notebook(
    path: Path, assignment: str
) -> tuple[dict[str, AnswerCell], list[SolutionRegion], list[IndexedCell]]:
    """The answer cells, solution regions and indexed cells of one source notebook."""
    cells = _cells(path)
    if cells is None:
        log.error("%s: its solutions cannot be guarded", path)
        return {}, [], []
    answers: dict[str, AnswerCell] = {}
    regions: list[SolutionRegion] = []
    for number, cell in enumerate(cells):
        meta = (cell.get("metadata") or {}).get("nbgrader") or {}
        code = cell.get("cell_type") == "code"
        cell_id = str(meta.get("grade_id") or cell.get("id") or f"{path.stem}-cell-{number}")
        source = cell_source(cell)
        for lines in solution_regions(source):
            regions.append(region(assignment, cell_id, lines, code))
        if meta.get("solution"):
            answers[cell_id] = AnswerCell(cell_id, assignment, path.name, code, _cell_hints(cell))
    return answers, regions, [_indexed(cell) for cell in cells]


def read_course(folder: Path) -> CourseData:
    """Everything the tutor uses of one course folder."""
    slug = folder.name
    regions: list[SolutionRegion] = []
    cells: dict[str, dict[str, AnswerCell]] = {}
    places = PlaceIndex()
    for notebook in sorted((folder / "source").glob("*/*.ipynb")):
        answers, found, indexed = read_notebook(notebook, notebook.parent.name)
        cells.setdefault(notebook.parent.name, {}).update(answers)
        regions.extend(found)
        places.add((ASSIGNMENT, notebook.parent.name), indexed)
    title, assignments, lessons, lesson_files = slug, {}, {}, []
    try:
        spec = load_course(folder)
    except CourseFileError as error:
        log.error("%s: the tutor uses only its solution regions: %s", folder, error)
    else:
        title = spec.title
        for a in spec.assignments:
            assignments[a.name] = AssignmentData(
                name=a.name, title=a.title, policy=a.tutor, hints=a.hints, release=a.release,
                cells=cells.get(a.name, {}),
            )
        for lesson in spec.lessons:
            path = spec.lesson_path(lesson)
            lessons[lesson.slug] = lesson.title
            lesson_files.append(path)
            places.add((LESSON, lesson.slug), map(_indexed, _cells(path) or []))
    return CourseData(slug, title, assignments, SolutionIndex(regions), places, lessons,
                      tuple(lesson_files))


def _fingerprint(folder: Path, lesson_files: tuple[Path, ...] = ()) -> tuple:
    files = [folder / "course.yml", *sorted((folder / "source").glob("*/*.ipynb")),
             *lesson_files]
    stamps = []
    for path in files:
        try:
            info = path.stat()
        except OSError:
            continue
        stamps.append((str(path), info.st_mtime_ns, info.st_size))
    return tuple(stamps)


class CourseLibrary:
    """The course folders under ``root``, each read once and again when its files change."""

    def __init__(self, root: Path, check_seconds: float = CHECK_SECONDS) -> None:
        self.root = Path(root)
        self.check_seconds = check_seconds
        self._loaded: dict[str, tuple[tuple, float, CourseData]] = {}

    def get(self, slug: str) -> CourseData | None:
        """The course ``slug``; None when there is no such folder."""
        if not is_course_slug(slug):
            return None
        folder = self.root / slug
        now = time.monotonic()
        loaded = self._loaded.get(slug)
        if loaded and now - loaded[1] < self.check_seconds:
            return loaded[2]
        if not folder.is_dir():
            self._loaded.pop(slug, None)
            return None
        lessons = loaded[2].lesson_files if loaded else ()
        stamp = _fingerprint(folder, lessons)
        if loaded and loaded[0] == stamp:
            self._loaded[slug] = (stamp, now, loaded[2])
            return loaded[2]
        data = read_course(folder)
        if data.lesson_files != lessons:  # course.yml names other lessons now
            stamp = _fingerprint(folder, data.lesson_files)
        self._loaded[slug] = (stamp, now, data)
        return data
