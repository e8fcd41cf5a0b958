"""A grading sandbox for tests that need nbgrader's real pipeline but no Docker engine."""

from __future__ import annotations

import json

from grading.sandbox import Sandbox, SandboxRun


class ChosenOutputs(Sandbox):
    """Runs nothing: every code cell comes back without output, but the test cells named in
    ``failing``, which come back with an ``AssertionError`` (nbgrader then gives them no
    points). Autograde, feedback and the gradebook are nbgrader's own."""

    failing: frozenset[str] = frozenset()

    def run(self, notebook, files=None, image=None) -> SandboxRun:
        executed = json.loads(json.dumps(notebook))
        for cell in executed["cells"]:
            if cell["cell_type"] != "code":
                continue
            grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
            cell["outputs"] = [] if grade_id not in self.failing else [{
                "output_type": "error", "ename": "AssertionError", "evalue": "",
                "traceback": ["AssertionError"],
            }]
        return SandboxRun(notebook=executed)
