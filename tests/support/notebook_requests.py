"""What the tutor's JupyterLab extension sends about a notebook of a course folder.

A learner's copy of an assignment notebook is the release of the instructor's source notebook:
the same cells, cell ids and nbgrader grade ids, each solution region replaced by nbgrader's
placeholder. :func:`released_cells` makes that copy from ``courses/<course>/source/``;
:func:`identity` gives the ids the extension sends with every request (``cell_ids``,
``grade_ids``, extensions/pls_tutor/src/context.ts); :func:`about_cell` the rest of a request
about one cell (the cell, the markdown before it, its grade id), as ``requestFor`` builds it.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlencode

from courses.solutions import cell_source, outside_solutions
from tests.support.studio import ROOT

PLACEHOLDER = "    # YOUR CODE HERE\n    raise NotImplementedError()"  # nbgrader's, for code cells


def released_cells(course: str, assignment: str, root: Path = ROOT / "courses") -> list[dict]:
    """The cells of the assignment's (first) notebook as learners receive it."""
    (path, *_rest) = sorted((root / course / "source" / assignment).glob("*.ipynb"))
    cells = json.loads(path.read_text())["cells"]
    for cell in cells:
        cell["source"] = outside_solutions(cell_source(cell), PLACEHOLDER)
    return cells


def lesson_cells(course: str, notebook: str, root: Path = ROOT / "courses") -> list[dict]:
    """The cells of a lesson notebook (``notebook``: its path in the course folder)."""
    return json.loads((root / course / notebook).read_text())["cells"]


def grade_id(cell: dict) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def identity(cells: list[dict]) -> dict[str, list[str]]:
    """The notebook's ids, as the extension sends them."""
    return {"cell_ids": [cell["id"] for cell in cells if cell.get("id")],
            "grade_ids": [gid for cell in cells if (gid := grade_id(cell))]}


def notebook_of(assignment: str, course: str = "python-101") -> dict[str, list[str]]:
    """The ids the extension sends from a learner's copy of the assignment's notebook."""
    return identity(released_cells(course, assignment))


def lesson_of(notebook: str, course: str = "python-101") -> dict[str, list[str]]:
    """The ids the extension sends from a lesson notebook (its path in the course folder)."""
    return identity(lesson_cells(course, notebook))


def status_query(ids: dict[str, list[str]]) -> str:
    """The ids as ``GET status`` takes them: ``&cell_ids=a,b&grade_ids=c,d``."""
    return "&" + urlencode({name: ",".join(values) for name, values in ids.items()})


def about_cell(cells: list[dict], index: int) -> dict:
    """A request's fields about the cell at ``index``, the notebook's ids included."""
    before = [cell_source(cell) for cell in cells[:index] if cell["cell_type"] == "markdown"]
    return {"cell_id": grade_id(cells[index]), "cell_source": cell_source(cells[index]),
            "context_markdown": "\n\n".join(before), **identity(cells)}


def index_of(cells: list[dict], grade: str) -> int:
    return next(i for i, cell in enumerate(cells) if grade_id(cell) == grade)
