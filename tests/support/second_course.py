"""A second, small course folder beside the demo course, for the tests that need two courses.

``data-201``: one lesson and one assignment, ``da1-tables`` (tutor ``full`` in its course.yml),
whose notebook has its own cell ids, grade ids and text. :func:`courses_with_a_second_course`
makes a courses folder holding the demo course (linked, read-only) and this one.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.studio import ROOT

SLUG = "data-201"
ASSIGNMENT = "da1-tables"
TITLE = "Assignment 1: Tables"
LESSON = "lessons/01-records.ipynb"

COURSE_YML = f"""\
slug: {SLUG}
title: Data 201
summary: Tables of records with plain Python, before any library.
lessons:
  - slug: records
    title: Records
    notebook: {LESSON}
assignments:
  - name: {ASSIGNMENT}
    title: "{TITLE}"
    tutor: full
    hints:
      - Add up one column before you divide by the number of rows.
"""


def _cell(cell_id: str, cell_type: str, source: str, nbgrader: dict | None = None) -> dict:
    metadata = {"nbgrader": {"schema_version": 3, **nbgrader}} if nbgrader else {}
    extra = {"outputs": [], "execution_count": None} if cell_type == "code" else {}
    return {"id": cell_id, "cell_type": cell_type, "metadata": metadata, "source": source,
            **extra}


def _notebook(cells: list[dict]) -> str:
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5},
                      indent=1)


ASSIGNMENT_CELLS = [
    _cell("da1-01", "markdown",
          "# Assignment 1 — Tables of records (2 points)\n\nEach table is a list of "
          "dictionaries, one per row, all with the same keys.",
          {"grade": False, "grade_id": "da1-instructions", "locked": True, "solution": False,
           "task": False}),
    _cell("da1-02", "markdown",
          "## Problem 1 — Column average\n\nWrite `column_average(rows, column)` that returns "
          "the mean of one numeric column over every row of the table, and `None` for a table "
          "without rows."),
    _cell("da1-03", "code",
          'def column_average(rows, column):\n    """Return the mean of rows[i][column], or '
          'None when there are no rows."""\n    ### BEGIN SOLUTION\n    if not rows:\n'
          "        return None\n    total = sum(row[column] for row in rows)\n"
          "    return total / len(rows)\n    ### END SOLUTION\n",
          {"grade": False, "grade_id": "da1-average-answer", "locked": False, "solution": True,
           "task": False}),
    _cell("da1-04", "code",
          '"""column_average averages one column and gives None for an empty table."""\n'
          'assert column_average([{"age": 30}, {"age": 40}], "age") == 35\n'
          'assert column_average([], "age") is None\n',
          {"grade": True, "grade_id": "da1-average-tests", "locked": True, "points": 2,
           "solution": False, "task": False}),
]

LESSON_CELLS = [
    _cell("records-01", "markdown",
          "# Records\n\nA record is one row of a table: a dictionary whose keys name the "
          "columns and whose values are that row's data."),
    _cell("records-02", "code", 'ada = {"name": "Ada", "born": 1815}\nada["born"]'),
]


def write_second_course(root: Path) -> Path:
    """``data-201`` written into ``root``; its folder."""
    folder = root / SLUG
    (folder / "source" / ASSIGNMENT).mkdir(parents=True)
    (folder / "lessons").mkdir()
    (folder / "course.yml").write_text(COURSE_YML)
    (folder / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").write_text(
        _notebook(ASSIGNMENT_CELLS))
    (folder / LESSON).write_text(_notebook(LESSON_CELLS))
    return folder


def courses_with_a_second_course(root: Path) -> Path:
    """A courses folder under ``root``: the demo course (a link to the repository's) and
    ``data-201``."""
    courses = root / "courses"
    courses.mkdir()
    (courses / "python-101").symlink_to(ROOT / "courses" / "python-101")
    write_second_course(courses)
    return courses
