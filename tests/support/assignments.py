"""Answering an assignment of a course folder the way a learner would: the released notebook
with each answer cell's solution region filled in from the instructor's source notebook (or,
for some cells, with another body: a wrong answer, one that raises, one that never returns;
or with the answer cells of another notebook), and, for some cells, code of the learner's own
around the answer (a statement that crashes or never ends before or after the definitions)."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from pathlib import Path

from tests.support.studio import ROOT

COURSES = ROOT / "courses"
SOLUTION = re.compile(r"[ \t]*### BEGIN SOLUTION\n(.*?)[ \t]*### END SOLUTION\n?", re.DOTALL)
# Bodies for a solution region (inside a function): what the function does when called.
WRONG = "    return None\n"
RAISES = "    raise RuntimeError('not finished yet')\n"
NEVER_RETURNS = "    while True:\n        pass\n"
# Code at the top level of an answer cell (``around``): the cell itself crashes or never ends
# (waiting for something that never comes rather than spinning: the machine's CPUs are shared,
# and NEVER_RETURNS already spins).
CRASHES = "raise RuntimeError('this cell crashed')\n"
NEVER_ENDS = "import time\nwhile True:\n    time.sleep(1)\n"


def answer_cells(path: Path) -> dict[str, str]:
    """grade id -> the source of each answer (solution) cell of the notebook at ``path``."""
    found = {}
    for cell in json.loads(Path(path).read_text())["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("solution"):
            found[meta["grade_id"]] = "".join(cell["source"])
    return found


def solutions(course: str, assignment: str) -> dict[str, str]:
    """grade id -> the source of each solution cell of the assignment's source notebooks."""
    found = {}
    for path in sorted((COURSES / course / "source" / assignment).glob("*.ipynb")):
        found.update(answer_cells(path))
    return found


def answered(
    notebook: dict,
    course: str = "python-101",
    assignment: str = "ps1-basics",
    instead: Mapping[str, str] | None = None,
    *,
    around: Mapping[str, tuple[str, str]] | None = None,
    answers: Mapping[str, str] | None = None,
) -> dict:
    """A copy of the released ``notebook`` with every answer cell answered, by default with
    the instructor's solutions of ``course``/``assignment`` (``answers``: grade id -> the
    answer cell's source to use instead, e.g. :func:`answer_cells` of another notebook; a
    cell it does not name stays as released). ``instead`` (grade id -> body) puts another
    body in each solution region of a cell; ``around`` (grade id -> (before, after)) puts
    top-level code before and after a cell's answer."""
    if answers is None:
        answers = solutions(course, assignment)
    notebook = copy.deepcopy(notebook)
    for cell in notebook["cells"]:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            body = (instead or {}).get(grade_id)
            keep_or_replace = r"\1" if body is None else body.replace("\\", "\\\\")
            before, after = (around or {}).get(grade_id, ("", ""))
            answer = SOLUTION.sub(keep_or_replace, answers[grade_id])
            cell["source"] = before + answer + (after and f"\n{after}")
    return notebook
