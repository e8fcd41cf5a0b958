"""How the grading runner (pls_grading.execute) turns a kernel's IOPub messages into a cell's
outputs, as nbclient does for nbgrader, and what it accepts as a request. (The runner against a
real kernel in the sandbox: tests/integration/images and tests/integration/grading.)"""

from __future__ import annotations

import json

import pytest
from pls_grading.execute import BadRequest, CellOutputs, OutputBudget, parse_request


def message(kind: str, **content) -> dict:
    return {"msg_type": kind, "content": content, "buffers": []}


def stream(text: str, name: str = "stdout") -> dict:
    return message("stream", name=name, text=text)


@pytest.fixture
def outputs() -> CellOutputs:
    return CellOutputs(OutputBudget(per_cell=1000, total=5000))


def run(outputs: CellOutputs, *messages: dict) -> dict:
    cell = {"cell_type": "code", "metadata": {}, "source": "", "outputs": []}
    outputs.start(cell)
    assert not any(outputs.add(msg) for msg in messages)
    assert outputs.add(message("status", execution_state="idle"))
    return cell


def test_outputs_are_recorded_as_nbformat_outputs_and_the_rest_is_ignored(outputs):
    cell = run(
        outputs,
        message("status", execution_state="busy"),
        message("execute_input", code="1 + 1", execution_count=1),
        stream("hello\n"),
        message("display_data", data={"text/plain": "<Figure>", "image/png": "iVBOR"},
                metadata={"image/png": {"width": 10}}),
        message("execute_result", data={"text/plain": "2"}, metadata={}, execution_count=1),
        message("comm_open", comm_id="w", target_name="jupyter.widget", data={}),
        message("error", ename="ValueError", evalue="bad", traceback=["line 1", "line 2"]),
    )
    assert cell["outputs"] == [
        {"output_type": "stream", "name": "stdout", "text": "hello\n"},
        {"output_type": "display_data", "data": {"text/plain": "<Figure>", "image/png": "iVBOR"},
         "metadata": {"image/png": {"width": 10}}},
        {"output_type": "execute_result", "data": {"text/plain": "2"}, "metadata": {},
         "execution_count": 1},
        {"output_type": "error", "ename": "ValueError", "evalue": "bad",
         "traceback": ["line 1", "line 2"]},
    ]


def test_clear_output_clears_now_or_before_the_next_output_when_asked_to_wait(outputs):
    cell = run(outputs, stream("first\n"), message("clear_output", wait=False), stream("second\n"))
    assert [o["text"] for o in cell["outputs"]] == ["second\n"]
    cell = run(outputs, stream("old\n"), message("clear_output", wait=True), stream("new\n"))
    assert [o["text"] for o in cell["outputs"]] == ["new\n"]


def test_a_display_id_update_changes_the_output_shown_earlier(outputs):
    shown = message("display_data", data={"text/plain": "0%"}, metadata={},
                    transient={"display_id": "progress"})
    first = run(outputs, shown)
    later = run(outputs, message("update_display_data", data={"text/plain": "100%"},
                                 metadata={}, transient={"display_id": "progress"}))
    assert first["outputs"][0]["data"] == {"text/plain": "100%"}
    assert later["outputs"] == []


def test_outputs_of_the_wrong_shape_become_valid_outputs(outputs):
    # The kernel runs the learner's code, which can publish whatever it likes.
    cell = run(
        outputs,
        message("stream", name="/dev/tty", text="x"),
        message("display_data", data={"text/plain": ["a", "b"], "text/html": 5,
                                      "application/json": {"k": [1]}}, metadata="none"),
        message("error", ename="E", evalue=None, traceback="not a list"),
    )
    assert cell["outputs"] == [
        {"output_type": "stream", "name": "stdout", "text": "x"},
        {"output_type": "display_data",
         "data": {"text/plain": "ab", "text/html": "5", "application/json": {"k": [1]}},
         "metadata": {}},
        {"output_type": "error", "ename": "E", "evalue": "None",
         "traceback": ["\x1b[0;31mE\x1b[0m: None"]},
    ]


def test_an_error_reply_without_its_error_output_fails_the_cell(outputs):
    cell = run(outputs, message("error", ename="KeyboardInterrupt", evalue="", traceback=[]))
    outputs.add_reply_error({"content": {"status": "error", "ename": "CellTimeoutError",
                                         "evalue": "too long", "traceback": []}})
    outputs.add_reply_error({"content": {"status": "error", "ename": "KeyboardInterrupt",
                                         "evalue": "", "traceback": []}})
    assert [o["ename"] for o in cell["outputs"]] == ["KeyboardInterrupt", "CellTimeoutError"]


def test_output_beyond_the_cells_budget_is_cut_and_noticed(outputs):
    cell = run(outputs, stream("x" * 800), stream("y" * 800))
    outputs.budget.finish_cell(cell)
    assert cell["outputs"][1]["text"] == "y" * 200
    assert "600 characters of output were dropped" in cell["outputs"][2]["text"]


def request(notebook) -> bytes:
    return json.dumps({"notebook": notebook}).encode()


def test_a_request_with_sources_as_lists_of_lines_is_joined():
    nb, files, key, grading = parse_request(request({"nbformat": 4, "nbformat_minor": 5, "cells": [
        {"cell_type": "code", "source": ["a = 1\n", "b = 2"], "outputs": []},
        {"cell_type": "markdown", "source": ["# Title\n", "text"]},
    ]}))
    assert [cell["source"] for cell in nb["cells"]] == ["a = 1\nb = 2", "# Title\ntext"]
    assert nb["cells"][0]["metadata"] == {} and nb["metadata"] == {}
    assert (files, key, grading) == ({}, b"", "judge")  # the judge unless the grader says


@pytest.mark.parametrize(("notebook", "reason"), [
    ([], "no 'notebook' object"),
    ({"nbformat": 3, "cells": []}, "not an nbformat 4 notebook"),
    ({"nbformat": 4, "cells": {}}, "not an nbformat 4 notebook"),
    ({"nbformat": 4, "cells": ["code"]}, "cell 0 has no type"),
    ({"nbformat": 4, "cells": [{"cell_type": "code", "metadata": []}]}, "metadata"),
    ({"nbformat": 4, "cells": [{"cell_type": "code", "source": 42}]}, "source is not text"),
    ({"nbformat": 4, "metadata": "x", "cells": []}, "metadata is not an object"),
])
def test_a_request_that_is_not_a_notebook_is_refused_with_the_reason(notebook, reason):
    with pytest.raises(BadRequest, match=reason):
        parse_request(request(notebook))
