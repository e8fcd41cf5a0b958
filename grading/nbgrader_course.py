"""nbgrader course directories: release an assignment, autograde one submission in a sandbox.

One nbgrader course directory per course, ``GRADER_ROOT/courses/<slug>/``::

    nbgrader_config.json      CourseDirectory root, course_id and db_url (for nbgrader's tools)
    studio_course.json        where the course folder (course.yml, source/) is
    gradebook.db              nbgrader's gradebook (SQLite, WAL) unless a db_url is given
    source/<assignment>/      copy of courses/<slug>/source/<assignment>/, taken at each release
    release/<assignment>/     what learners fetch (nbgrader generate_assignment)
    manifests/<assignment>.json   the released notebooks' nbgrader cells: the tamper check's
                              reference (the gradebook keeps the cells *with* hidden tests)
    submitted/, autograded/, feedback/<learner>/<assignment>/   nbgrader's own steps
    feedback-out/<learner>/<assignment>/<stamp>/  the feedback of one grading, for the caller
    locks/<learner>.lock      one grading per learner and course at a time (all processes)

Autograding a submission is nbgrader's own ``Autograde`` converter with two changes, made the
way nbgrader is meant to be extended (its preprocessor lists):

- sanitize: :class:`FlagTampering` runs right after ``ClearOutput`` (which drops any output the
  learner saved), before nbgrader's other steps. It compares each cell's nbgrader metadata,
  checksum and (for locked cells) source with the release, records what was changed, puts the
  release's metadata back and refuses a notebook whose graded or answer cells are missing.
- autograde: ``Execute`` is replaced by :class:`SandboxedExecute`, which runs the sanitized
  notebook in a fresh container (:mod:`grading.sandbox`) and takes back only the outputs, and
  what the runner's guard found (``pls_grading.guard``: code that changed how cells run); then
  :class:`FailTamperedCells` makes each tampered test cell fail before ``SaveAutoGrades``, and
  every graded cell from the first one the guard found tampering before;
  ``AssignLatePenalties`` uses :class:`StudioLatePenalty`, the course's late policy.

Feedback is nbgrader's ``GenerateFeedback`` with the hidden tests' source removed
(``ClearHiddenTests``), also where an output quotes it (:class:`ClearHiddenTracebacks`: a
traceback, or a learner's cell that printed it): a learner may resubmit, so the feedback must
not hand them the tests.

Manual grades: instructors change nbgrader's gradebook in the formgrader (``manual_score``,
``extra_credit``, comments). :func:`gradebook_entries` reads each learner's gradebook entry with
a fingerprint of its grades and comments, which ``grading.manual_grades`` compares with the one
recorded when the grade was last sent; :func:`manual_grades` then regrades nothing, but reads
the score and breakdown again and regenerates the feedback, under the learner's lock.

nbgrader is imported with this module, once per process: it costs seconds.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import fcntl
import hashlib
import json
import logging
import math
import os
import re
import secrets
import shutil
import sqlite3
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import nbformat
from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
from nbformat import NotebookNode
from nbgrader import utils as nbgrader_utils
from nbgrader.api import (
    Assignment,
    BaseCell,
    Comment,
    Grade,
    Gradebook,
    Notebook,
    SubmittedAssignment,
    SubmittedNotebook,
)
from nbgrader.converters import Autograde, GenerateAssignment, GenerateFeedback
from nbgrader.converters.base import NbGraderException
from nbgrader.coursedir import CourseDirectory
from nbgrader.nbgraderformat import SchemaTooNewError, SchemaTooOldError
from nbgrader.nbgraderformat import ValidationError as MetadataError
from nbgrader.plugins import BasePlugin
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    ClearHiddenTests,
    ClearOutput,
    DeduplicateIds,
    GetGrades,
    IgnorePattern,
    LimitOutput,
    NbGraderPreprocessor,
    OverwriteCells,
    OverwriteKernelspec,
    SaveAutoGrades,
)
from traitlets import Dict, Float, Instance, Integer, Unicode
from traitlets.config import Config

from courses.course_file import LatePolicy, load_course
from courses.naming import ASSIGNMENT_NAME_PATTERN, USERNAME_PATTERN
from grading.manual_grades import same_submission
from grading.process_caches import (
    COURSE_FILES,
    FeedbackHTMLExporter,
    check_cell_schemas_once,
    check_gradebook_tables_at_once,
    share_gradebook_engines,
)
from grading.sandbox import Sandbox

log = logging.getLogger(__name__)
share_gradebook_engines()  # nbgrader's Gradebooks in this process: one engine per database
check_gradebook_tables_at_once()  # and one query for their tables when they are opened
check_cell_schemas_once()  # nbgrader's cell metadata schema: checked once, not per cell

GRADED = "graded"
INVALID = "invalid"
MIB = 1024 * 1024
DAY_SECONDS = 86400
CENT = Decimal("0.01")
CONFIG_FILE = "nbgrader_config.json"
STUDIO_FILE = "studio_course.json"
TIMESTAMP_FILE = "timestamp.txt"
METADATA_KEY = "pls_grading"
# nbgrader's own skip list, plus what never belongs in a sandbox.
IGNORED = (".ipynb_checkpoints", "__pycache__", "feedback", TIMESTAMP_FILE)
FEEDBACK_KEEP_SECONDS = 3600
# Error names a cell gets from the runner (pls_grading.execute) or from this module.
TIMEOUT_ERRORS = {"CellTimeoutError"}
RESTART_ERRORS = {"KernelRestarted"}
NOT_RUN_ERRORS = {"NotRun", "SandboxStopped"}
# The notices pls_grading.execute (OutputBudget) and pls_grading.output_cap leave in an output
# they cut.
TRUNCATION_NOTICES = ("dropped by the grader", "[output truncated by the grader:")
NBGRADER_FLAGS = ("grade", "solution", "locked", "task")
NBGRADER_SCHEMA_VERSION = 3  # the cell metadata schema nbgrader 0.9 writes and validates


class SubmissionInvalid(Exception):
    """A submission that cannot be graded; the message is for the learner."""


class NotReleased(LookupError):
    """The assignment was never released (no manifest) or is not released now."""


# -- results -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReleaseInfo:
    course: str
    assignment: str
    released_at: dt.datetime
    release_dir: Path
    notebooks: tuple[str, ...]
    files: tuple[str, ...]
    max_score: float


@dataclass(frozen=True)
class AutogradeResult:
    """What grading one submission gave.

    ``status``: ``graded``, or ``invalid`` when the notebook cannot be graded (``message`` says
    why). ``score`` is before any late penalty: the LMS applies the late policy to it itself;
    ``late_penalty`` is what nbgrader's gradebook and the feedback take off by the same rule
    (the whole score when the policy refuses the submission, ``counts`` False). ``breakdown``:
    one ``{"id", "notebook", "score", "max_score"}`` per graded cell. ``feedback_dir``: this
    grading's feedback HTML, in a folder of its own that is kept for an hour (copy it).
    ``flags``: what happened, for instructors (``tampered``: cells changed where they must not
    be, or code that changed how cells run; ``timeout``, ``kernel-restarted``,
    ``output-truncated``, ``sandbox-stopped``, ``missing-notebook``, ``late``, ``graded-by-hand``).
    """

    status: str
    score: float
    max_score: float
    breakdown: list[dict[str, Any]] = field(default_factory=list)
    feedback_dir: Path | None = None
    message: str = ""
    late: bool = False
    days_late: int = 0
    late_penalty: float = 0.0
    counts: bool = True
    flags: tuple[str, ...] = ()
    timing: dict[str, float] = field(default_factory=dict)
    gradebook_fingerprint: str | None = None
    """The learner's gradebook entry as this grading left it (see :func:`gradebook_entries`):
    a later difference is an instructor's manual grade."""


# -- the course directory ------------------------------------------------------------------------


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
        from grading.settings import Settings

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


# -- release -------------------------------------------------------------------------------------


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


def build_manifest(course: Course, assignment: str, released_at: dt.datetime) -> dict[str, Any]:
    """Each released notebook's nbgrader cells as learners received them."""
    notebooks: dict[str, dict[str, Any]] = {}
    for path in sorted(course.path("release", assignment).glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        cells = {}
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader")
            if meta and meta.get("grade_id"):
                cells[meta["grade_id"]] = {
                    "cell_type": cell.cell_type,
                    **{flag: bool(meta.get(flag, False)) for flag in NBGRADER_FLAGS},
                    "points": float(meta.get("points", 0)) if meta.get("grade") else None,
                    "checksum": meta.get("checksum"),
                }
        notebooks[path.stem] = cells
    return {"released_at": released_at.isoformat(), "notebooks": notebooks}


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


def manifest_points(manifest: dict[str, Any]) -> float:
    return sum(
        cell["points"] or 0.0
        for cells in manifest["notebooks"].values()
        for cell in cells.values()
        if cell["grade"]
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


# -- sanitize: tampering and missing cells ---------------------------------------------------------


class FlagTampering(NbGraderPreprocessor):
    """Compare each nbgrader cell with the release, put the release's metadata back and record
    every change in the notebook's metadata (``pls_grading.tampered``: grade id -> what).

    Runs before nbgrader's other sanitize steps: ``DeduplicateIds``, ``OverwriteCells`` and
    ``CheckCellMetadata`` assume well-formed nbgrader metadata and crash (``AttributeError``,
    ``TypeError``) on what a learner can put there (``"nbgrader": "x"``, a list as an id, a text
    ``schema_version``), which would fail the grading job instead of answering the learner. So
    each cell's nbgrader metadata is replaced whole by the release's, and metadata that matches
    no released cell (unknown or repeated ids, flags without an id, not an object) is removed.
    ``OverwriteCells`` then restores sources from the gradebook: the gradebook's checksums include
    the hidden tests, so only the release can tell a learner's edit from the hidden tests being
    put back. Graded and answer cells that are missing make the notebook invalid."""

    manifest = Dict(help="The assignment's manifest (see build_manifest).").tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        notebook = resources["nbgrader"]["notebook"]
        expected = self.manifest["notebooks"].get(notebook, {})
        tampered: dict[str, list[str]] = {}
        seen: set[str] = set()
        for cell in nb.cells:
            if "nbgrader" not in cell.metadata:
                continue
            meta = cell.metadata["nbgrader"]
            grade_id = meta.get("grade_id") if isinstance(meta, dict) else None
            if isinstance(grade_id, str) and grade_id in expected and grade_id not in seen:
                seen.add(grade_id)
                changes = self.restore(cell, grade_id, expected[grade_id])
                if changes:
                    tampered[grade_id] = changes
                continue
            problem = self.unmatched(meta, grade_id, seen)
            if problem:
                label = grade_id[:80] if isinstance(grade_id, str) and grade_id else "(no id)"
                tampered.setdefault(label, []).append(problem)
            del cell.metadata["nbgrader"]
        missing = [
            grade_id
            for grade_id, release in expected.items()
            if (release["grade"] or release["solution"]) and grade_id not in seen
        ]
        if missing:
            raise SubmissionInvalid(
                f"{notebook}.ipynb is missing cells that are graded or hold answers "
                f"({', '.join(missing)}). Fetch the assignment again (or restore the cells) "
                "and copy your answers into it."
            )
        nb.metadata[METADATA_KEY] = {"tampered": tampered}  # whatever the learner put there
        if tampered:
            self.log.warning("%s: changed cells %s", notebook, tampered)
        return nb, resources

    @staticmethod
    def unmatched(meta: Any, grade_id: Any, seen: set[str]) -> str:
        """Why nbgrader metadata that matches no released cell is tampering ('' when it is
        harmless: no id and no flag set, e.g. what nbgrader leaves on a de-duplicated cell)."""
        if not isinstance(meta, dict):
            return "nbgrader metadata that is not an object"
        if isinstance(grade_id, str) and grade_id in seen:
            return "the id of another cell"
        if grade_id:
            return "unknown cell id"
        if any(meta.get(flag) for flag in NBGRADER_FLAGS):
            return "nbgrader metadata without an id"
        return ""

    @staticmethod
    def restore(cell: NotebookNode, grade_id: str, release: dict[str, Any]) -> list[str]:
        """Replace the cell's nbgrader metadata by the release's; what differed."""
        meta = cell.metadata["nbgrader"]
        changes = []
        if cell.cell_type != release["cell_type"]:
            changes.append("cell type")
        changes.extend(f for f in NBGRADER_FLAGS if bool(meta.get(f, False)) != release[f])
        if release["grade"]:
            try:
                points = float(meta.get("points", 0))
            except (TypeError, ValueError):
                points = math.nan
            if points != release["points"]:
                changes.append("points")
        if meta.get("checksum") != release["checksum"]:
            changes.append("checksum")
        cell.metadata["nbgrader"] = released_metadata(grade_id, release)
        locked = release["locked"] and not release["solution"]
        if (
            locked
            and cell.cell_type == release["cell_type"]
            and nbgrader_utils.compute_checksum(cell) != release["checksum"]
        ):
            changes.append("source of a locked cell")
        return changes


def released_metadata(grade_id: str, release: dict[str, Any]) -> NotebookNode:
    """A cell's nbgrader metadata as generate_assignment wrote it (schema version 3)."""
    meta: dict[str, Any] = {
        "grade_id": grade_id,
        "cell_type": release["cell_type"],
        "schema_version": NBGRADER_SCHEMA_VERSION,
        **{flag: release[flag] for flag in NBGRADER_FLAGS},
    }
    if release["grade"]:
        meta["points"] = release["points"]
    if release["checksum"] is not None:
        meta["checksum"] = release["checksum"]
    return nbformat.from_dict(meta)


class SubmissionAutograde(Autograde):
    """nbgrader's Autograde, keeping the exception that failed a notebook (nbgrader logs it
    and raises a generic NbGraderException after all notebooks)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.failures: list[tuple[str, BaseException]] = []

    def convert_single_notebook(self, notebook_filename: str) -> None:
        try:
            super().convert_single_notebook(notebook_filename)
        except Exception as exc:
            self.failures.append((Path(notebook_filename).stem, exc))
            raise


# -- autograde: the sandbox and tampered cells -----------------------------------------------------


class SandboxedExecute(NbGraderPreprocessor):
    """nbgrader's Execute step, run in a fresh container (:class:`grading.sandbox.Sandbox`)
    instead of this process.

    The sanitized notebook goes in with the assignment's other files (its data, from the
    autograded folder); only outputs and execution counts come back, cell by cell, so nothing
    else of the notebook can be changed from inside. When the sandbox stops without a result,
    every code cell fails with the reason."""

    sandbox = Instance(
        Sandbox,
        allow_none=True,
        help="""The sandbox to run notebooks in (None: this process's, from default_sandbox(),
        so its warm pool is shared instead of started and thrown away per notebook).""",
    ).tag(config=True)
    image = Unicode("", help="The course's image (empty: the sandbox's default).").tag(config=True)
    max_files_bytes = Integer(
        16 * MIB, help="Most bytes of data files sent along with the notebook."
    ).tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        files = data_files(Path(resources["metadata"]["path"]), self.max_files_bytes)
        run = (self.sandbox or default_sandbox()).run(nb, files=files, image=self.image or None)
        record = nb.metadata.setdefault(METADATA_KEY, {})
        record["sandbox"] = {"seconds": round(run.seconds, 3), "warm": run.warm, **run.timing}
        merged = run.notebook is not None and merge_outputs(nb, run.notebook)
        if merged:
            record["execution_tampered"] = execution_tampering(run.notebook, nb)
        if not merged:
            reason = run.stopped or "the sandbox's result did not match the notebook"
            record["stopped"] = reason
            for cell in nb.cells:
                if cell.cell_type == "code":
                    cell.outputs = [error_output("SandboxStopped", reason)]
        return nb, resources


def data_files(folder: Path, max_bytes: int) -> dict[str, bytes]:
    """The regular files beside the notebook (not notebooks, not links), for the sandbox."""
    files: dict[str, bytes] = {}
    total = 0
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if (
            path.is_symlink()
            or not path.is_file()
            or path.suffix == ".ipynb"
            or any(part in IGNORED for part in relative.parts)
        ):
            continue
        total += path.stat().st_size
        if total > max_bytes:
            raise SubmissionInvalid(
                f"The assignment's files add up to more than {max_bytes // MIB} MiB."
            )
        files[relative.as_posix()] = path.read_bytes()
    return files


def merge_outputs(nb: NotebookNode, executed: dict[str, Any]) -> bool:
    """Copy outputs and execution counts from the executed copy; False if it does not match."""
    cells = executed.get("cells")
    if not isinstance(cells, list) or len(cells) != len(nb.cells):
        return False
    if any(
        not isinstance(c, dict) or c.get("cell_type") != o.cell_type
        for c, o in zip(cells, nb.cells, strict=True)
    ):
        return False
    for cell, result in zip(nb.cells, cells, strict=True):
        if cell.cell_type == "code":
            cell.outputs = [nbformat.from_dict(o) for o in result.get("outputs") or []]
            cell.execution_count = result.get("execution_count")
    language = (executed.get("metadata") or {}).get("language_info")
    if isinstance(language, dict):
        nb.metadata["language_info"] = nbformat.from_dict(language)
    return True


def error_output(ename: str, evalue: str) -> NotebookNode:
    return nbformat.v4.new_output(
        "error", ename=ename, evalue=evalue, traceback=[f"\x1b[0;31m{ename}\x1b[0m: {evalue}"]
    )


def execution_tampering(executed: dict[str, Any], nb: NotebookNode) -> list[dict[str, Any]]:
    """What the runner's guard found, checked against the notebook: ``[{"cell": index,
    "grade_id", "found": [parts]}]`` for graded cells only, in cell order. The runner signed
    it; a record that names no graded cell of this notebook is dropped."""
    recorded = ((executed.get("metadata") or {}).get(METADATA_KEY) or {}).get("tampering")
    if not isinstance(recorded, list):
        return []
    found = []
    for entry in recorded:
        if not isinstance(entry, dict):
            continue
        index, parts = entry.get("cell"), entry.get("found")
        if not isinstance(index, int) or not 0 <= index < len(nb.cells):
            continue
        cell = nb.cells[index]
        if cell.cell_type != "code" or not nbgrader_utils.is_grade(cell):
            continue
        if not isinstance(parts, list) or not parts:
            continue
        found.append({
            "cell": index,
            "grade_id": cell.metadata["nbgrader"].get("grade_id"),
            "found": [str(part)[:100] for part in parts],
        })
    return sorted(found, key=lambda e: e["cell"])


class FailTamperedCells(NbGraderPreprocessor):
    """Make each test cell that ``FlagTampering`` found changed fail, and every graded cell
    from the first one the runner's guard found execution tampering before (learner code
    changed how cells run: the results from there on cannot be trusted), so nbgrader's
    ``SaveAutoGrades`` gives them no points and the feedback says why."""

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        record = nb.metadata.get(METADATA_KEY, {})
        tampered = record.get("tampered", {})
        execution = record.get("execution_tampered") or []
        first = execution[0]["cell"] if execution else len(nb.cells)
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code" or not nbgrader_utils.is_grade(cell):
                continue
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if grade_id in tampered:
                what = ", ".join(tampered[grade_id])
                cell.outputs.append(
                    error_output(
                        "TamperedCell",
                        f"this test cell was changed ({what}); it earns no points. Fetch the "
                        "assignment again and copy your answers into the fresh copy.",
                    )
                )
            if index >= first:
                cell.outputs.append(
                    error_output(
                        "TamperedExecution",
                        f"code in this notebook changed how the grader runs cells "
                        f"({tampering_parts(execution)}) before this cell; the grader undid "
                        "it, and this and the later graded cells earn no points.",
                    )
                )
        return nb, resources


def tampering_parts(execution: list[dict[str, Any]]) -> str:
    """The parts the guard found changed, each once, in the order found."""
    return ", ".join(dict.fromkeys(part for entry in execution for part in entry["found"]))


class StudioLatePenalty(BasePlugin):
    """The course's late policy (``courses.course_file.LatePolicy``) as an nbgrader late
    submission plugin, computed exactly like the LMS does (``lms.gradebook.services``): per
    started day late, a percentage of the score, rounded half up to cents; a refused
    submission loses its whole score."""

    mode = Unicode("reject", help="reject, accept or penalty").tag(config=True)
    percent_per_day = Float(0.0, help="Percent of the score per started day late.").tag(config=True)
    cutoff_days = Integer(0, help="Days after which late work is refused (0: never).").tag(
        config=True
    )

    def late_submission_penalty(self, student_id: str, score: float, total_seconds: float):
        days = math.ceil(total_seconds / DAY_SECONDS)
        return penalty_points(
            LatePolicy(self.mode, self.percent_per_day, self.cutoff_days), days, score
        )


def penalty_points(policy: LatePolicy, days_late: int, score: float) -> float:
    if days_late <= 0 or policy.mode == "accept":
        return 0.0
    if policy.mode == "penalty" and not (policy.cutoff_days and days_late > policy.cutoff_days):
        percent = min(Decimal(days_late) * Decimal(str(policy.percent_per_day)), Decimal(100))
        points = Decimal(str(score)) * percent / 100
        return float(points.quantize(CENT, rounding=ROUND_HALF_UP))
    return float(score)


def days_late(due_at: dt.datetime | None, submitted_at: dt.datetime) -> int:
    """Started days after the due date (1 s late is 1 day); 0 when on time."""
    if due_at is None or submitted_at <= due_at:
        return 0
    return math.ceil((submitted_at - due_at).total_seconds() / DAY_SECONDS)


def refused(policy: LatePolicy, days: int) -> bool:
    return days > 0 and (
        policy.mode == "reject"
        or (policy.mode == "penalty" and bool(policy.cutoff_days) and days > policy.cutoff_days)
    )


# -- autograde -----------------------------------------------------------------------------------

_sandbox: Sandbox | None = None


def default_sandbox() -> Sandbox:
    """This process's sandbox (and so its warm pool), made on first use."""
    global _sandbox
    if _sandbox is None:
        _sandbox = Sandbox()
    return _sandbox


def autograde(
    course_dir: Path | str,
    assignment: str,
    learner: str,
    submission_dir: Path | str,
    due_at: dt.datetime | None = None,
    late_policy: LatePolicy | None = None,
    *,
    submitted_at: dt.datetime | None = None,
    sandbox: Sandbox | None = None,
) -> AutogradeResult:
    """Autograde one submission: ``submission_dir`` is the learner's assignment folder as
    submitted (``<notebook>.ipynb`` and any data files). ``submitted_at`` is when the grader
    received it (default: the folder's modification time); a ``timestamp.txt`` in the folder
    is the learner's and is ignored. Learner code runs only in the sandbox.

    Returns ``invalid`` for a notebook that cannot be graded (not a notebook, cells missing,
    nbgrader metadata broken). Raises for the grader's own problems (no Docker engine, no
    image, a database error): grading it again later may work."""
    started = time.monotonic()
    check_name("assignment", assignment, ASSIGNMENT_NAME_PATTERN)
    check_name("learner", learner, USERNAME_PATTERN)
    course = open_course(course_dir)
    manifest = course.manifest(assignment)
    submission_dir = Path(submission_dir)
    if submitted_at is None:
        submitted_at = dt.datetime.fromtimestamp(submission_dir.stat().st_mtime, dt.UTC)
    policy = late_policy or LatePolicy()
    late_days = days_late(due_at, submitted_at)
    with course.learner_lock(learner):
        try:
            missing = stage_submission(
                course, assignment, learner, submission_dir, submitted_at, manifest
            )
        except SubmissionInvalid as exc:
            return invalid_result(manifest, str(exc), late_days)
        set_due_date(course, assignment, due_at)
        staged = time.monotonic()
        converter = SubmissionAutograde(
            coursedir=course.coursedir(assignment_id=assignment, student_id=learner),
            config=autograde_config(course, manifest, policy, sandbox or default_sandbox()),
            log=log,
        )
        try:
            converter.start()
        except NbGraderException:
            problem = learner_problem(converter.failures)
            if problem is None:
                raise
            return invalid_result(manifest, problem, late_days)
        graded = time.monotonic()
        feedback = generate_feedback(course, assignment, learner)
        result = collect_result(
            course, assignment, learner, manifest, policy, late_days, missing, feedback
        )
    timing = {
        "stage": staged - started,
        "autograde": graded - staged,
        "feedback": time.monotonic() - graded,
        **result.timing,
    }
    return dataclasses.replace(result, timing=timing)


def stage_submission(
    course: Course,
    assignment: str,
    learner: str,
    submission_dir: Path,
    submitted_at: dt.datetime,
    manifest: dict[str, Any],
) -> list[str]:
    """Copy the submission into ``submitted/<learner>/<assignment>/`` (regular files only, no
    links), stamped with ``submitted_at``, after checking that its notebooks can be read.
    Returns the assignment's notebooks that are not in the submission."""
    if not submission_dir.is_dir():
        raise SubmissionInvalid("The submission has no files.")
    expected = sorted(manifest["notebooks"])
    present = [name for name in expected if (submission_dir / f"{name}.ipynb").is_file()]
    if not present:
        names = ", ".join(f"{name}.ipynb" for name in expected)
        raise SubmissionInvalid(f"The submission has none of the assignment's notebooks ({names}).")
    for name in present:
        check_notebook(submission_dir / f"{name}.ipynb")
    target = course.path("submitted", assignment, learner)
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for path in sorted(submission_dir.rglob("*")):
        relative = path.relative_to(submission_dir)
        if path.is_symlink() or not path.is_file() or any(p in IGNORED for p in relative.parts):
            continue
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target / relative, follow_symlinks=False)
    (target / TIMESTAMP_FILE).write_text(submitted_at.astimezone(dt.UTC).isoformat())
    return [name for name in expected if name not in present]


def check_notebook(path: Path, max_bytes: int = 32 * MIB) -> None:
    """Raise SubmissionInvalid, with a sentence for the learner, unless ``path`` is an
    nbformat 4 notebook."""
    advice = (
        "Download the notebook again from JupyterLab, or fetch the assignment again and copy "
        "your answers into it."
    )
    if path.stat().st_size > max_bytes:
        raise SubmissionInvalid(f"{path.name} is larger than {max_bytes // MIB} MiB. {advice}")
    try:
        text = path.read_text(encoding="utf-8")
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
    except UnicodeDecodeError:
        raise SubmissionInvalid(f"{path.name} is not UTF-8 text. {advice}") from None
    except nbformat.reader.NotJSONError:
        raise SubmissionInvalid(f"{path.name} is not a notebook (not JSON). {advice}") from None
    except Exception as exc:  # nbformat raises many kinds for many kinds of damage
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise SubmissionInvalid(
            f"{path.name} is not a valid notebook ({reason}). {advice}"
        ) from None


def set_due_date(course: Course, assignment: str, due_at: dt.datetime | None) -> None:
    """nbgrader's gradebook computes lateness from its assignment's due date (naive UTC)."""
    naive = due_at.astimezone(dt.UTC).replace(tzinfo=None) if due_at else None
    with Gradebook(course.db_url, course.slug) as gb:
        if gb.find_assignment(assignment).duedate != naive:
            gb.update_or_create_assignment(assignment, duedate=naive)


def autograde_config(
    course: Course, manifest: dict[str, Any], policy: LatePolicy, sandbox: Sandbox
) -> Config:
    return nbgrader_config(
        BaseConverter={"force": True},
        Autograde={
            "sanitize_preprocessors": [
                ClearOutput, FlagTampering, DeduplicateIds, OverwriteKernelspec, OverwriteCells,
                CheckCellMetadata,
            ],
            "autograde_preprocessors": [
                SandboxedExecute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
                FailTamperedCells, SaveAutoGrades, AssignLatePenalties, CheckCellMetadata,
            ],
        },
        FlagTampering={"manifest": manifest},
        SandboxedExecute={"sandbox": sandbox, "image": course.image()},
        AssignLatePenalties={"plugin_class": StudioLatePenalty},
        StudioLatePenalty={
            "mode": policy.mode,
            "percent_per_day": float(policy.percent_per_day),
            "cutoff_days": int(policy.cutoff_days),
        },
    )  # fmt: skip


def learner_problem(failures: list[tuple[str, BaseException]]) -> str | None:
    """A message for the learner when a notebook failed for the notebook's reasons; None when
    it failed for the grader's (the exception is then raised again by the caller)."""
    for notebook, exc in failures:
        if isinstance(exc, SubmissionInvalid):
            return str(exc)
        if isinstance(exc, MetadataError | SchemaTooOldError | SchemaTooNewError):
            return (
                f"The nbgrader information in {notebook}.ipynb's cells is damaged, so it cannot "
                "be graded. Fetch the assignment again and copy your answers into the fresh copy."
            )
        if isinstance(exc, nbformat.ValidationError | nbformat.reader.NotJSONError):
            return f"{notebook}.ipynb is not a valid notebook."
    for _notebook, exc in failures:
        raise exc
    return None


class ClearHiddenTracebacks(NbGraderPreprocessor):
    """Blank the hidden tests' lines in every error's traceback, and in every text output,
    before ``ClearHiddenTests`` removes them from the source.

    IPython's traceback of a failing test cell quotes the lines around the failing one, hidden
    tests included (``----> 5 assert initials("Linus") == "L"``), and nbgrader's feedback shows
    tracebacks as they are: without this, a failed hidden test hands the learner its code.
    Frames of the learner's own code, the error's name and message are kept. A learner's code
    that got hold of the tests' source (e.g. from the calling frame, see docs/grading.md) and
    printed it finds the same lines blanked in its printed output and results; only the exact
    lines are recognised, not a copy that was changed on the way."""

    begin_delimiter = Unicode(
        ClearHiddenTests.begin_test_delimeter.default_value,
        help="Marks the start of hidden tests (as ClearHiddenTests.begin_test_delimeter).",
    ).tag(config=True)
    end_delimiter = Unicode(
        ClearHiddenTests.end_test_delimeter.default_value,
        help="Marks the end of hidden tests (as ClearHiddenTests.end_test_delimeter).",
    ).tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        hidden = {line for cell in nb.cells for line in self.hidden_lines(cell.source)}
        if hidden:
            for cell in nb.cells:
                for output in cell.get("outputs", []):
                    redact_output(output, hidden)
        return nb, resources

    def hidden_lines(self, source: str) -> list[str]:
        """The stripped lines of source's hidden test regions, their delimiters included."""
        lines, inside = [], False
        for line in source.splitlines():
            if self.begin_delimiter in line:
                inside = True
            if inside and line.strip():
                lines.append(line.strip())
            if self.end_delimiter in line:
                inside = False
        return lines


ANSI_CODES = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# A quoted source line in an IPython traceback, colours removed: "----> 5 code" or "      6 code".
TRACEBACK_LINE = re.compile(r"^\s*(?:-*>\s*)?\d+\s?(?P<code>.*)$")
REDACTED = "      [a line of the hidden tests]"


def redact(entry: str, hidden: set[str]) -> str:
    """A traceback entry with each quoted line that is one of ``hidden`` replaced."""
    kept = []
    for line in entry.split("\n"):
        quoted = TRACEBACK_LINE.match(ANSI_CODES.sub("", line))
        kept.append(REDACTED if quoted and quoted["code"].strip() in hidden else line)
    return "\n".join(kept)


def redact_text(text: str, hidden: set[str]) -> str:
    """``text`` with each line that is one of ``hidden`` (or quotes it as a traceback does)
    replaced."""
    kept = []
    for line in text.split("\n"):
        plain = ANSI_CODES.sub("", line).strip()
        quoted = TRACEBACK_LINE.match(plain)
        hit = plain in hidden or bool(quoted and quoted["code"].strip() in hidden)
        kept.append(REDACTED if hit else line)
    return "\n".join(kept)


def redact_output(output: NotebookNode, hidden: set[str]) -> None:
    """Blank the hidden tests' lines in an output: a traceback, printed text, or the text of
    a result or display."""
    if output.output_type == "error":
        output.traceback = [redact(entry, hidden) for entry in output.traceback]
    elif output.output_type == "stream":
        text = output.get("text", "")
        output.text = redact_text("".join(text) if isinstance(text, list) else text, hidden)
    elif output.output_type in {"execute_result", "display_data"}:
        for kind in ("text/plain", "text/markdown", "text/latex"):
            value = output.get("data", {}).get(kind)
            if isinstance(value, list):
                value = "".join(value)
            if isinstance(value, str):
                output.data[kind] = redact_text(value, hidden)


def generate_feedback(course: Course, assignment: str, learner: str) -> Path:
    """nbgrader's GenerateFeedback without the hidden tests' source, copied to a folder of
    this grading's own (``feedback-out/``; folders older than an hour are removed)."""
    config = nbgrader_config(
        BaseConverter={"force": True},
        GenerateFeedback={
            "exporter_class": FeedbackHTMLExporter,
            "preprocessors": [
                GetGrades, ClearHiddenTracebacks, ClearHiddenTests, CSSHTMLHeaderPreprocessor,
            ],
        },
        ClearHiddenTests={"enforce_metadata": False},
    )
    converter = GenerateFeedback(
        coursedir=course.coursedir(assignment_id=assignment, student_id=learner),
        config=config,
        log=log,
    )
    converter.start()
    out = course.root / "feedback-out" / learner / assignment
    out.mkdir(parents=True, exist_ok=True)
    now = time.time()
    for old in out.iterdir():
        if now - old.stat().st_mtime > FEEDBACK_KEEP_SECONDS:
            shutil.rmtree(old, ignore_errors=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    target = out / f"{stamp}-{secrets.token_hex(4)}"
    shutil.copytree(course.path("feedback", assignment, learner), target)
    return target


# -- the result ----------------------------------------------------------------------------------


def invalid_result(manifest: dict[str, Any], message: str, late_days: int) -> AutogradeResult:
    return AutogradeResult(
        status=INVALID,
        score=0.0,
        max_score=manifest_points(manifest),
        message=message,
        late=late_days > 0,
        days_late=late_days,
    )


def collect_result(
    course: Course,
    assignment: str,
    learner: str,
    manifest: dict[str, Any],
    policy: LatePolicy,
    late_days: int,
    missing: list[str],
    feedback: Path,
) -> AutogradeResult:
    breakdown = []
    graded_by_hand = False
    with Gradebook(course.db_url, course.slug) as gb:
        submission = gb.find_submission(assignment, learner)
        score = float(submission.score)
        max_score = float(submission.max_score)
        penalty = float(submission.late_submission_penalty or 0.0)
        manual = bool(submission.needs_manual_grade)
        for notebook in sorted(submission.notebooks, key=lambda n: n.name):
            for grade in sorted(notebook.grades, key=lambda g: g.name):
                row = {
                    "id": grade.name,
                    "notebook": notebook.name,
                    "score": float(grade.score),
                    "max_score": float(grade.max_score),
                }
                if grade.manual_score is not None:
                    row["graded_by"] = "instructor"
                    graded_by_hand = True
                if grade.extra_credit:
                    row["extra_credit"] = float(grade.extra_credit)
                    graded_by_hand = True
                breakdown.append(row)
        entry = gradebook_entry(gb, assignment, learner)
    flags, notes, timing = executed_notes(course, assignment, learner)
    flags.extend(["missing-notebook"] * bool(missing))
    flags.extend(["graded-by-hand"] * graded_by_hand)
    counts = not refused(policy, late_days)
    parts = [f"{format_points(score)} of {format_points(max_score)} points."]
    if missing:
        names = ", ".join(f"{m}.ipynb" for m in missing)
        parts.append(f"Not submitted, so no points: {names}.")
    parts.extend(notes)
    if graded_by_hand:
        parts.append("Your instructor graded some of it by hand.")
    if manual:
        parts.append("Some answers are graded by your instructor; the score may still change.")
    if late_days:
        flags.append("late")
        when = f"Submitted {late_days} day{'s' * (late_days != 1)} after the due date"
        if not counts:
            parts.append(
                f"{when}: late work is not accepted for this assignment, so this "
                "submission does not count."
            )
        elif penalty:
            parts.append(f"{when}: late penalty of {format_points(penalty)} points.")
        else:
            parts.append(f"{when}: accepted as late.")
    return AutogradeResult(
        status=GRADED,
        score=score,
        max_score=max_score,
        breakdown=breakdown,
        feedback_dir=feedback,
        message=" ".join(parts),
        late=late_days > 0,
        days_late=late_days,
        late_penalty=penalty,
        counts=counts,
        flags=tuple(dict.fromkeys(flags)),
        timing=timing,
        gradebook_fingerprint=entry.fingerprint if entry else None,
    )


# -- manual grades -----------------------------------------------------------------------------


@dataclass(frozen=True)
class GradebookEntry:
    """A learner's entry for an assignment in nbgrader's gradebook: nbgrader keeps one, the
    most recently autograded submission's, stamped with its ``submitted_at``."""

    assignment: str
    learner: str
    submitted_at: dt.datetime
    fingerprint: str


def fingerprint_rows(rows: list[tuple[Any, ...]]) -> str:
    """A digest of a gradebook entry's grades and comments (order-independent)."""
    digest = hashlib.sha256()
    for row in sorted(repr(r) for r in rows):
        digest.update(row.encode())
        digest.update(b"\n")
    return digest.hexdigest()


def entry_rows(gb: Gradebook, assignment: str | None = None, learner: str | None = None):
    """(assignment, learner, timestamp, what) for every grade and comment of the gradebook,
    or of one learner's entry: ``what`` holds each score (automatic, manual, extra credit) and
    comment an instructor can change in the formgrader. Two queries, however many learners."""
    grades = (
        gb.db.query(
            Assignment.name, SubmittedAssignment.student_id, SubmittedAssignment.timestamp,
            Notebook.name, BaseCell.name, Grade.auto_score, Grade.manual_score,
            Grade.extra_credit,
        )
        .select_from(Grade)
        .join(SubmittedNotebook, Grade.notebook_id == SubmittedNotebook.id)
        .join(SubmittedAssignment, SubmittedNotebook.assignment_id == SubmittedAssignment.id)
        .join(Assignment, SubmittedAssignment.assignment_id == Assignment.id)
        .join(Notebook, SubmittedNotebook.notebook_id == Notebook.id)
        .join(BaseCell, Grade.cell_id == BaseCell.id)
    )
    comments = (
        gb.db.query(
            Assignment.name, SubmittedAssignment.student_id, SubmittedAssignment.timestamp,
            Notebook.name, BaseCell.name, Comment.manual_comment,
        )
        .select_from(Comment)
        .join(SubmittedNotebook, Comment.notebook_id == SubmittedNotebook.id)
        .join(SubmittedAssignment, SubmittedNotebook.assignment_id == SubmittedAssignment.id)
        .join(Assignment, SubmittedAssignment.assignment_id == Assignment.id)
        .join(Notebook, SubmittedNotebook.notebook_id == Notebook.id)
        .join(BaseCell, Comment.cell_id == BaseCell.id)
    )
    found = []
    for query, kind in ((grades, "grade"), (comments, "comment")):
        if assignment is not None:
            query = query.filter(Assignment.name == assignment)
        if learner is not None:
            query = query.filter(SubmittedAssignment.student_id == learner)
        found += [(a, s, t, (kind, *what)) for a, s, t, *what in query]
    return found


def entries_from_rows(rows) -> list[GradebookEntry]:
    by_entry: dict[tuple[str, str, Any], list[tuple[Any, ...]]] = {}
    for assignment, learner, timestamp, what in rows:
        by_entry.setdefault((assignment, learner, timestamp), []).append(what)
    return [
        GradebookEntry(assignment, learner, as_utc(timestamp), fingerprint_rows(what))
        for (assignment, learner, timestamp), what in sorted(by_entry.items(), key=str)
        if timestamp is not None
    ]


def as_utc(value: dt.datetime) -> dt.datetime:
    """nbgrader keeps naive UTC times."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def gradebook_entry(gb: Gradebook, assignment: str, learner: str) -> GradebookEntry | None:
    found = entries_from_rows(entry_rows(gb, assignment, learner))
    return found[0] if found else None


def gradebook_entries(course_dir: Path | str) -> list[GradebookEntry]:
    """Every learner's gradebook entry of the course, with its fingerprint (none for a course
    directory that was never prepared: nothing was graded there)."""
    if not (Path(course_dir) / STUDIO_FILE).is_file():
        return []
    course = open_course(course_dir)
    with Gradebook(course.db_url, course.slug) as gb:
        return entries_from_rows(entry_rows(gb))


def manual_grades(
    course_dir: Path | str,
    assignment: str,
    learner: str,
    submitted_at: dt.datetime,
    due_at: dt.datetime | None = None,
    late_policy: LatePolicy | None = None,
) -> AutogradeResult | None:
    """The submission's grade as the gradebook has it now (an instructor's manual scores,
    extra credit and comments included) with regenerated feedback; None when the gradebook's
    entry is another submission's (the learner's next one was autograded since). Runs no
    code: the autograded notebooks stay as they are."""
    check_name("assignment", assignment, ASSIGNMENT_NAME_PATTERN)
    check_name("learner", learner, USERNAME_PATTERN)
    course = open_course(course_dir)
    manifest = course.manifest(assignment)
    policy = late_policy or LatePolicy()
    with course.learner_lock(learner):
        with Gradebook(course.db_url, course.slug) as gb:
            entry = gradebook_entry(gb, assignment, learner)
        if entry is None or not same_submission(entry.submitted_at, submitted_at):
            return None
        autograded = course.path("autograded", assignment, learner)
        missing = [n for n in sorted(manifest["notebooks"])
                   if not (autograded / f"{n}.ipynb").is_file()]
        feedback = generate_feedback(course, assignment, learner)
        return collect_result(
            course, assignment, learner, manifest, policy, days_late(due_at, submitted_at),
            missing, feedback,
        )


def executed_notes(
    course: Course, assignment: str, learner: str
) -> tuple[list[str], list[str], dict[str, float]]:
    """Flags and sentences for the learner from the autograded notebooks: tampering, time
    limits, kernel restarts, dropped output, a sandbox that stopped; and the sandbox's
    timing."""
    flags: list[str] = []
    notes: list[str] = []
    timing: dict[str, float] = {}
    for path in sorted(course.path("autograded", assignment, learner).glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        record = nb.metadata.get(METADATA_KEY, {})
        timing = {k: v for k, v in record.get("sandbox", {}).items() if isinstance(v, int | float)}
        tampered = record.get("tampered") or {}
        if tampered:
            flags.append("tampered")
            notes.append(
                f"{path.name}: cells were changed where they must not be "
                f"({', '.join(sorted(tampered))}); changed test cells earn no points."
            )
        execution = record.get("execution_tampered") or []
        if execution:
            flags.append("tampered")
            first = execution[0].get("grade_id") or f"cell {execution[0]['cell'] + 1}"
            notes.append(
                f"{path.name}: code in the notebook changed how the grader runs cells "
                f"({tampering_parts(execution)}), found before {first}; the grader undid it, "
                "and the tests from there on earn no points. A debugger, tracer or "
                "pretty-printer left in the notebook does this too: remove it and submit again."
            )
        if record.get("stopped"):
            flags.append("sandbox-stopped")
            notes.append(f"{path.name} could not be run to the end: {record['stopped']}.")
            continue
        errors = [
            (cell.metadata.get("nbgrader", {}).get("grade_id") or f"cell {index + 1}", o)
            for index, cell in enumerate(nb.cells)
            if cell.cell_type == "code"
            for o in cell.outputs
            if o.output_type == "error"
        ]
        timed_out = sorted({where for where, o in errors if o.ename in TIMEOUT_ERRORS})
        if timed_out:
            flags.append("timeout")
            notes.append(f"{path.name}: stopped at the time limit: {', '.join(timed_out)}.")
        died = sorted({where for where, o in errors if o.ename in RESTART_ERRORS})
        if died:
            flags.append("kernel-restarted")
            notes.append(
                f"{path.name}: the kernel was restarted after {', '.join(died)} (it ran out of "
                "memory, was killed or did not stop at the time limit); the cells after it ran "
                "in a fresh kernel."
            )
        if any(o.ename in NOT_RUN_ERRORS for _, o in errors):
            notes.append(f"{path.name}: some cells were not run (see the feedback).")
        if any(truncated(cell) for cell in nb.cells if cell.cell_type == "code"):
            flags.append("output-truncated")
            notes.append(f"{path.name}: output beyond the grader's limit was dropped.")
    return flags, notes, timing


def truncated(cell: NotebookNode) -> bool:
    """Whether the grader cut this cell's output: the runner's notice (output it dropped) or
    the kernel's (``pls_grading.output_cap``, which usually stops a flood first, at its source)."""
    return any(
        o.output_type == "stream" and any(m in o.get("text", "") for m in TRUNCATION_NOTICES)
        for o in cell.outputs
    )


def format_points(value: float) -> str:
    return f"{value:g}"
