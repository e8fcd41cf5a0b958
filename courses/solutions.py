"""The solutions of a course's graded exercises, as nbgrader marks them in the source notebooks.

An assignment's source notebooks (``<course folder>/source/<assignment>/*.ipynb``) mark each
solution region of a cell with ``### BEGIN SOLUTION`` … ``### END SOLUTION`` (any number of
``#``); nbgrader's release replaces what is between them. This module is the one reader of
those markers: the tutor's leak guard (``tutor.guard``) and the LMS's held-solution check
(``lms.community.solutions``) both take the regions from here. Standard library only.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

BEGIN_SOLUTION = re.compile(r"^\s*#+\s*BEGIN SOLUTION\s*$")
END_SOLUTION = re.compile(r"^\s*#+\s*END SOLUTION\s*$")


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


def outside_solutions(source: str, placeholder: str = "") -> str:
    """A cell's source without its solution regions (markers included), each region replaced by
    ``placeholder`` when one is given (nbgrader's release puts its own there): what learners get
    of the cell."""
    kept: list[str] = []
    inside = False
    for line in source.splitlines():
        if BEGIN_SOLUTION.match(line):
            inside = True
            if placeholder:
                kept.append(placeholder.rstrip("\n"))
        elif END_SOLUTION.match(line):
            inside = False
        elif not inside:
            kept.append(line)
    return "\n".join(kept)


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
