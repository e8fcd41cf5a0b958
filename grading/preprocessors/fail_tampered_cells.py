"""Autograde: the test cells found tampered with earn no points (``FailTamperedCells``)."""

from __future__ import annotations

from typing import Any

from nbformat import NotebookNode
from nbgrader import utils as nbgrader_utils
from nbgrader.preprocessors import NbGraderPreprocessor

from grading.preprocessors.base import METADATA_KEY, error_output


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
