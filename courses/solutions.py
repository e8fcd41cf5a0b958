"""The solutions of a course's graded exercises, as nbgrader marks them in the source notebooks.

An assignment's source notebooks (``<course folder>/source/<assignment>/*.ipynb``) mark each
solution region of a cell with ``### BEGIN SOLUTION`` … ``### END SOLUTION`` (any number of
``#``); nbgrader's release replaces what is between them. This module is the one reader of
those markers: the tutor's leak guard (``tutor.guard``) and the LMS's held-solution check
(``lms.community.solutions``) both take the regions from here. Standard library only.

Test cells may hold hidden tests between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS``:
nbgrader releases the cell without them and puts them back only to autograde. They never leave
the grader: :func:`without_hidden_tests` is what any notebook shown to a person other than the
instructors goes through (the grader's submitted-notebook endpoint for peer review).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

BEGIN_SOLUTION = re.compile(r"^\s*#+\s*BEGIN SOLUTION\s*$")
END_SOLUTION = re.compile(r"^\s*#+\s*END SOLUTION\s*$")
BEGIN_HIDDEN_TESTS = re.compile(r"^\s*#+\s*BEGIN HIDDEN TESTS\s*$")
END_HIDDEN_TESTS = re.compile(r"^\s*#+\s*END HIDDEN TESTS\s*$")


def solution_regions(source: str) -> list[list[str]]:
    """The lines of each solution region of a cell's source (nbgrader's markers)."""
    regions: list[list[str]] = []
    current: list[str] | None = None
    for line in source.splitlines():
        if BEGIN_SOLUTION.match(line):
            current = []
        elif END_SOLUTION.match(line):
            if current is not None:
                regions.append(current)
            current = None
        elif current is not None:
            current.append(line)
    return regions


def _outside(source: str, begin: re.Pattern[str], end: re.Pattern[str], placeholder: str) -> str:
    """``source`` without the regions between ``begin`` and ``end`` (markers included), each
    replaced by ``placeholder`` when one is given. A region never closed runs to the end."""
    kept: list[str] = []
    inside = False
    for line in source.splitlines():
        if begin.match(line):
            inside = True
            if placeholder:
                kept.append(placeholder.rstrip("\n"))
        elif end.match(line):
            inside = False
        elif not inside:
            kept.append(line)
    return "\n".join(kept)


def outside_solutions(source: str, placeholder: str = "") -> str:
    """A cell's source without its solution regions (markers included), each region replaced by
    ``placeholder`` when one is given (nbgrader's release puts its own there): what learners get
    of the cell."""
    return _outside(source, BEGIN_SOLUTION, END_SOLUTION, placeholder)


def outside_hidden_tests(source: str) -> str:
    """A cell's source without its hidden tests (markers included; an unclosed region to the
    end of the cell)."""
    return _outside(source, BEGIN_HIDDEN_TESTS, END_HIDDEN_TESTS, "")


def without_hidden_tests(notebook: dict) -> dict:
    """A copy of ``notebook`` (nbformat's JSON) whose cells hold no hidden tests: each cell's
    source outside them, and the outputs of a cell that had any dropped (they could show what
    the hidden tests checked). What a notebook may show to anyone but the instructors."""
    cells = []
    for cell in notebook.get("cells") or []:
        if not isinstance(cell, dict):
            continue
        cell = dict(cell)
        source = cell_source(cell)
        if any(BEGIN_HIDDEN_TESTS.match(line) for line in source.splitlines()):
            cell["source"] = outside_hidden_tests(source)
            if "outputs" in cell:
                cell["outputs"] = []
        cells.append(cell)
    return {**notebook, "cells": cells}


def cell_source(cell: dict) -> str:
    """A notebook cell's source as one string (nbformat stores a string or a list of lines)."""
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


@dataclass(frozen=True)
class Solution:
    """One solution region of a code cell of an assignment's source notebook."""

    assignment: str
    notebook: str
    lines: tuple[str, ...]


def assignment_solutions(course_folder: Path, assignment: str) -> list[Solution]:
    """The solution regions of the code cells of ``source/<assignment>/*.ipynb`` in the course
    folder; a missing folder or an unreadable notebook gives none (the callers decide what no
    solution means)."""
    solutions: list[Solution] = []
    for notebook in sorted((Path(course_folder) / "source" / assignment).glob("*.ipynb")):
        try:
            cells = json.loads(notebook.read_text(encoding="utf-8")).get("cells", [])
        except (OSError, ValueError, AttributeError):
            continue
        for cell in cells if isinstance(cells, list) else []:
            if not isinstance(cell, dict) or cell.get("cell_type") != "code":
                continue
            for lines in solution_regions(cell_source(cell)):
                solutions.append(Solution(assignment, notebook.name, tuple(lines)))
    return solutions
