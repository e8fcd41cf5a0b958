"""A grading sandbox for tests that need nbgrader's real pipeline but no Docker engine."""

from __future__ import annotations

import json

from grading.sandbox import Sandbox, SandboxRun


class ChosenOutputs(Sandbox):
    """Runs nothing: every code cell comes back without output, but the test cells named in
    ``failing``, which come back with an ``AssertionError`` (nbgrader then gives them no
    points), and the cells named in ``printed`` (grade id -> outputs), which come back with
    those outputs (what a learner's code could display). Autograde, feedback and the gradebook
    are nbgrader's own. The outputs stand for the judge's (or the kernel's,
    ``grading="in-kernel"``), as the runner reports them."""

    failing: frozenset[str] = frozenset()
    printed: dict[str, list[dict]] = {}

    def run(self, notebook, files=None, image=None, grading="judge") -> SandboxRun:
        executed = json.loads(json.dumps(notebook))
        judged = []
        for index, cell in enumerate(executed["cells"]):
            if cell["cell_type"] != "code":
                continue
            nbgrader = cell["metadata"].get("nbgrader", {})
            if nbgrader.get("grade") and not nbgrader.get("solution"):
                judged.append(index)
            grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
            cell["outputs"] = [] if grade_id not in self.failing else [{
                "output_type": "error", "ename": "AssertionError", "evalue": "",
                "traceback": ["AssertionError"],
            }]
            cell["outputs"] += json.loads(json.dumps(self.printed.get(grade_id, [])))
        executed["metadata"]["pls_grading"] = {"grading": grading, "judged": judged}
        return SandboxRun(notebook=executed)
