"""What the grader makes of the runner's guard: the guard's answer as the runner reads it, the
record the grader keeps from the runner's result, and which cells then earn no points. (The
guard itself, in a real kernel in the sandbox: tests/integration/grading/test_autograde_sandbox.)
"""

from __future__ import annotations

import nbformat
import pytest
from pls_grading.execute import guard_answer

from grading.preprocessors.base import METADATA_KEY
from grading.preprocessors.fail_tampered_cells import FailTamperedCells
from grading.preprocessors.sandboxed_execute import execution_tampering


def reply_with(name: str, value: dict) -> dict:
    return {"content": {"status": "ok", "user_expressions": {name: value}}}


def answered(text: str) -> dict:
    return {"status": "ok", "data": {"text/plain": text}}


def test_the_guards_answer_is_read_from_the_reply_under_the_requests_own_name():
    reply = reply_with("guard_1", answered(repr('{"found": ["input transformers"]}')))
    assert guard_answer(reply, "guard_1") == ["input transformers"]
    assert guard_answer(reply_with("guard_1", answered(repr('{"found": []}'))), "guard_1") == []


@pytest.mark.parametrize("reply", [
    None,
    {"content": {"status": "error", "user_expressions": {}}},  # the empty cell failed
    reply_with("other_name", answered(repr('{"found": []}'))),  # not this request's answer
    reply_with("guard_1", {"status": "error", "ename": "ModuleNotFoundError"}),
    reply_with("guard_1", answered("'not json'")),
    reply_with("guard_1", answered("print('clean')")),  # not a literal
    reply_with("guard_1", answered(repr('{"found": "nothing"}'))),
    reply_with("guard_1", answered(repr('{"found": [1]}'))),
])
def test_no_usable_answer_is_none_which_the_runner_takes_for_tampering(reply):
    assert guard_answer(reply, "guard_1") is None


def notebook(*cells: tuple[str, bool]) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    for index, (kind, graded) in enumerate(cells):
        cell = (nbformat.v4.new_code_cell("x = 1") if kind == "code"
                else nbformat.v4.new_markdown_cell("text"))
        if graded:
            cell.metadata["nbgrader"] = {"grade": True, "grade_id": f"t{index}", "points": 1,
                                         "solution": False, "locked": True}
        nb.cells.append(cell)
    return nb


def runner_result(*entries) -> dict:
    return {"metadata": {METADATA_KEY: {"tampering": list(entries)}}}


def test_the_record_keeps_graded_cells_of_this_notebook_only_in_cell_order():
    nb = notebook(("code", False), ("code", True), ("markdown", False), ("code", True))
    record = execution_tampering(runner_result(
        {"cell": 3, "found": ["a trace function"]},
        {"cell": 1, "grade_id": "forged", "found": ["input transformers"]},
        {"cell": 0, "found": ["the compiler"]},  # not graded
        {"cell": 2, "found": ["the compiler"]},  # markdown
        {"cell": 9, "found": ["the compiler"]},  # no such cell
        {"cell": 3, "found": []},
        "not an entry",
    ), nb)
    assert record == [
        {"cell": 1, "grade_id": "t1", "found": ["input transformers"]},  # the id is the cell's
        {"cell": 3, "grade_id": "t3", "found": ["a trace function"]},
    ]


def test_a_result_without_a_record_has_no_tampering():
    assert execution_tampering({"metadata": {}}, notebook(("code", True))) == []
    assert execution_tampering(runner_result("x"), notebook(("code", True))) == []


def test_graded_cells_from_the_first_tampering_on_earn_no_points():
    nb = notebook(("code", True), ("code", False), ("code", True), ("code", True))
    nb.metadata[METADATA_KEY] = {"tampered": {}, "execution_tampered": [
        {"cell": 2, "grade_id": "t2", "found": ["AST transformers"]},
        {"cell": 3, "grade_id": "t3", "found": ["AST transformers", "an audit hook"]},
    ]}
    nb, _ = FailTamperedCells().preprocess(nb, {})
    errors = [[o.ename for o in cell.outputs] for cell in nb.cells]
    assert errors == [[], [], ["TamperedExecution"], ["TamperedExecution"]]
    assert "(AST transformers, an audit hook)" in nb.cells[3].outputs[0].evalue
