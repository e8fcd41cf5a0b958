"""Which sandbox nbgrader's Execute step runs a notebook in when none is configured."""

from __future__ import annotations

import nbformat
import pytest

from grading.preprocessors import sandboxed_execute
from grading.preprocessors.sandboxed_execute import SandboxedExecute
from grading.sandbox import Sandbox, SandboxRun


class RecordingSandbox(Sandbox):
    """A sandbox that runs nothing and remembers that it was asked."""

    def __init__(self) -> None:
        super().__init__(pool_size=0)
        self.asked = 0

    def run(self, notebook, files=None, image=None, grading="judge") -> SandboxRun:
        self.asked += 1
        return SandboxRun(notebook=None, stopped="recorded, not run")


@pytest.fixture
def process_sandbox(monkeypatch) -> RecordingSandbox:
    sandbox = RecordingSandbox()
    monkeypatch.setattr(sandboxed_execute, "_sandbox", sandbox)
    return sandbox


def test_without_a_configured_sandbox_the_processs_own_one_runs_the_notebook(
    process_sandbox, tmp_path
):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])
    resources = {"metadata": {"path": str(tmp_path)}}
    SandboxedExecute().preprocess(nb, resources)
    SandboxedExecute().preprocess(nb, resources)
    assert process_sandbox.asked == 2  # not a new Sandbox (and warm pool) per notebook
    assert nb.cells[0].outputs[0]["ename"] == "SandboxStopped"
    assert nb.cells[0].outputs[0]["evalue"] == "recorded, not run"
