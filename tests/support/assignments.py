"""Answering an assignment of a course folder the way a learner would: the released notebook
with each answer cell's solution region filled in from the instructor's source notebook (or,
for some cells, with another body: a wrong answer, one that never returns)."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping

from tests.support.studio import ROOT

SOLUTION = re.compile(r"[ \t]*### BEGIN SOLUTION\n(.*?)[ \t]*### END SOLUTION\n?", re.DOTALL)
WRONG = "    return None\n"
NEVER_RETURNS = "    while True:\n        pass\n"


def solutions(course: str, assignment: str) -> dict[str, str]:
    """grade id -> the source of each solution cell of the assignment's source notebooks."""
    found = {}
    for path in sorted((ROOT / "courses" / course / "source" / assignment).glob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if meta.get("solution"):
                found[meta["grade_id"]] = "".join(cell["source"])
    return found


def answered(
    notebook: dict,
    course: str = "python-101",
    assignment: str = "ps1-basics",
    instead: Mapping[str, str] | None = None,
) -> dict:
    """A copy of the released ``notebook`` with every answer cell answered correctly, except
    the cells ``instead`` names (grade id -> the body put in the solution region)."""
    answers = solutions(course, assignment)
    notebook = copy.deepcopy(notebook)
    for cell in notebook["cells"]:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            body = (instead or {}).get(grade_id)
            keep_or_replace = r"\1" if body is None else body.replace("\\", "\\\\")
            cell["source"] = SOLUTION.sub(keep_or_replace, answers[grade_id])
    return notebook
