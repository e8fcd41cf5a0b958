"""Each learner's entry in nbgrader's gradebook, with a fingerprint of what instructors change.

Instructors grade by hand in nbgrader's formgrader (``manual_score``, ``extra_credit``,
comments). :func:`gradebook_entries` reads each learner's entry with a fingerprint of its grades
and comments, which ``grading.manual_grades`` compares with the one recorded when the grade was
last sent; a grading records its entry's fingerprint with its result (``grading.result``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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

from grading.course_directory import STUDIO_FILE, open_course


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
