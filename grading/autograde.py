"""Autograde one submission: nbgrader's own ``Autograde`` converter, its code run in a sandbox.

Two changes to nbgrader's converter, made the way nbgrader is meant to be extended (its
preprocessor lists, ``grading.preprocessors``):

- sanitize: ``FlagTampering`` runs right after ``ClearOutput`` (which drops any output the
  learner saved), before nbgrader's other steps. It compares each cell's nbgrader metadata,
  checksum and (for locked cells) source with the release, records what was changed, puts the
  release's metadata back and refuses a notebook whose graded or answer cells are missing.
- autograde: ``Execute`` is replaced by ``SandboxedExecute``, which runs the sanitized notebook
  in a fresh container (``grading.sandbox``) and takes back only the outputs, and what the
  runner's guard found (``pls_grading.guard``: code that changed how cells run); then
  ``FailTamperedCells`` makes each tampered test cell fail before ``SaveAutoGrades``, and every
  graded cell from the first one the guard found tampering before; ``AssignLatePenalties``
  uses ``StudioLatePenalty`` (``grading.plugins.late_penalty``), the course's late policy.

Then the feedback (``grading.feedback``) and the result (``grading.result``), under the
learner's lock.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import shutil
import time
from pathlib import Path
from typing import Any

import nbformat
from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader.api import Gradebook
from nbgrader.converters import Autograde
from nbgrader.converters.base import NbGraderException
from nbgrader.nbgraderformat import SchemaTooNewError, SchemaTooOldError
from nbgrader.nbgraderformat import ValidationError as MetadataError
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    ClearOutput,
    DeduplicateIds,
    IgnorePattern,
    LimitOutput,
    OverwriteCells,
    OverwriteKernelspec,
    SaveAutoGrades,
)
from traitlets.config import Config

from courses.course_file import LatePolicy
from courses.lateness import days_late
from courses.naming import ASSIGNMENT_NAME_PATTERN, USERNAME_PATTERN
from grading.course_directory import (
    IGNORED,
    MIB,
    TIMESTAMP_FILE,
    Course,
    SubmissionInvalid,
    check_name,
    nbgrader_config,
    open_course,
)
from grading.feedback import generate_feedback
from grading.plugins.late_penalty import StudioLatePenalty
from grading.preprocessors.fail_tampered_cells import FailTamperedCells
from grading.preprocessors.flag_tampering import FlagTampering
from grading.preprocessors.sandboxed_execute import SandboxedExecute, default_sandbox
from grading.result import AutogradeResult, collect_result, invalid_result
from grading.sandbox import Sandbox

log = logging.getLogger(__name__)


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
        SandboxedExecute={
            "sandbox": sandbox, "image": course.image(), "grading": course.grading_mode(),
        },
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
