"""What grading one submission gives (:class:`AutogradeResult`), read from nbgrader's gradebook.

After an autograde (``grading.autograde``) and after instructors graded by hand
(``grading.manual_sync``) alike: the score and per-test breakdown from the gradebook, the
flags and sentences for the learner from the autograded notebooks (tampering, time limits,
kernel restarts, dropped output, a sandbox that stopped), lateness, and the gradebook entry's
fingerprint (``grading.gradebook``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode
from nbgrader.api import Gradebook

from courses.course_file import LatePolicy
from courses.lateness import refuses
from grading.course_directory import Course
from grading.gradebook import gradebook_entry
from grading.manifest import manifest_points
from grading.preprocessors.base import METADATA_KEY
from grading.preprocessors.fail_tampered_cells import tampering_parts

GRADED = "graded"
INVALID = "invalid"
# Error names a cell gets from the runner (pls_grading.execute) or from the grader's
# preprocessors (grading.preprocessors).
TIMEOUT_ERRORS = {"CellTimeoutError"}
RESTART_ERRORS = {"KernelRestarted"}
NOT_RUN_ERRORS = {"NotRun", "SandboxStopped"}
# The notices pls_grading.execute (OutputBudget) and pls_grading.output_cap leave in an output
# they cut.
TRUNCATION_NOTICES = ("dropped by the grader", "[output truncated by the grader:")


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
    """The learner's gradebook entry as this grading left it (see ``grading.gradebook``):
    a later difference is an instructor's manual grade."""


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
    counts = not refuses(policy, late_days)
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
