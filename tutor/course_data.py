"""What the tutor knows of a course from its folder: assignments, answer cells, hints, solutions.

Read from ``<STUDIO_COURSES_DIR>/<slug>/``: ``course.yml`` (through ``courses.course_file``, the
shared reader: each assignment's ``tutor:`` policy, ``hints:`` and release date, the fallback
when the LMS cannot be asked) and the nbgrader source notebooks
``source/<assignment>/*.ipynb``: which cells are answer cells (``nbgrader.solution``), the hints
an instructor put in a cell's metadata (``pls_tutor.hints``) and every solution region, for the
leak guard (``tutor.guard``).

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
from tutor.guard import SolutionIndex, SolutionRegion, region, solution_regions

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


def _cell_source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _cell_hints(cell: dict) -> tuple[str, ...]:
    hints = (cell.get("metadata") or {}).get("pls_tutor", {}).get("hints") or []
    if not isinstance(hints, list):
        return ()
    return tuple(h.strip() for h in hints if isinstance(h, str) and h.strip())


def read_notebook(
    path: Path, assignment: str
) -> tuple[dict[str, AnswerCell], list[SolutionRegion]]:
    """The answer cells and solution regions of one source notebook."""
    try:
        cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
    except (OSError, ValueError, AttributeError) as error:
        log.error("%s: not a readable notebook (%s): its solutions cannot be guarded", path,
                  error)
        return {}, []
    answers: dict[str, AnswerCell] = {}
    regions: list[SolutionRegion] = []
    for number, cell in enumerate(cells):
        meta = (cell.get("metadata") or {}).get("nbgrader") or {}
        code = cell.get("cell_type") == "code"
        cell_id = str(meta.get("grade_id") or cell.get("id") or f"{path.stem}-cell-{number}")
        source = _cell_source(cell)
        for lines in solution_regions(source, code):
            regions.append(region(assignment, cell_id, lines, code))
        if meta.get("solution"):
            answers[cell_id] = AnswerCell(cell_id, assignment, path.name, code, _cell_hints(cell))
    return answers, regions


def read_course(folder: Path) -> CourseData:
    """Everything the tutor uses of one course folder."""
    slug = folder.name
    regions: list[SolutionRegion] = []
    cells: dict[str, dict[str, AnswerCell]] = {}
    for notebook in sorted((folder / "source").glob("*/*.ipynb")):
        answers, found = read_notebook(notebook, notebook.parent.name)
        cells.setdefault(notebook.parent.name, {}).update(answers)
        regions.extend(found)
    title, assignments = slug, {}
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
    return CourseData(slug, title, assignments, SolutionIndex(regions))


def _fingerprint(folder: Path) -> tuple:
    files = [folder / "course.yml", *sorted((folder / "source").glob("*/*.ipynb"))]
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
        stamp = _fingerprint(folder)
        if loaded and loaded[0] == stamp:
            self._loaded[slug] = (stamp, now, loaded[2])
            return loaded[2]
        data = read_course(folder)
        self._loaded[slug] = (stamp, now, data)
        return data
