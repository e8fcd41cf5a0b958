"""Autograding submissions through the real pipeline, for the tests that need a Docker engine.

``grading.autograde`` grades a learner's folder with nbgrader's converters on the host, every
notebook run by ``python -m pls_grading.execute`` in a fresh, network-less container of the
course's image (:func:`new_sandbox`). A :class:`Submission` is a learner's copy of a released
notebook, changed as a test needs (answers filled in, cells added, files beside it);
:func:`grader_of` grades it under a learner name of its own (nbgrader keeps one submission per
learner and assignment) and gives back a :class:`Graded`: the result and the autograded notebook.

The fixtures built on these (the image, a ``GRADER_ROOT``, a warm sandbox) are in
``tests/integration/grading/conftest.py``.
"""

from __future__ import annotations

import copy
import html
import json
import re
import secrets
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from grading.autograde import autograde
from grading.result import AutogradeResult
from grading.sandbox import Sandbox

STUB = "    # YOUR CODE HERE\n    raise NotImplementedError()"
PIDS_LIMIT = 256


def new_sandbox(**traits: Any) -> Sandbox:
    """A sandbox for tests: short cell timeout, bounded total time, containers named apart."""
    settings = {
        "name_prefix": f"pls-test-grading-{secrets.token_hex(3)}",
        "pool_size": 0,
        "cell_timeout": 4,
        "time_limit": 90,
        "mem_limit": "512m",
        "pids_limit": PIDS_LIMIT,
        **traits,
    }
    return Sandbox(**settings)


def containers_named(prefix: str) -> list[str]:
    listing = subprocess.run(["docker", "ps", "-a", "--filter", f"name={prefix}", "--format",
                              "{{.Names}}"], capture_output=True, text=True, timeout=60, check=True)
    return listing.stdout.split()


def wait_until_gone(prefix: str) -> list[str]:
    """The containers still named ``prefix*`` after giving ``--rm`` up to a minute."""
    for _ in range(120):
        left = containers_named(prefix)
        if not left:
            return []
        time.sleep(0.5)
    return left


def solution_bodies(source: Path | nbformat.NotebookNode) -> dict[str, str]:
    """The instructor's answer per solution cell of the source notebook ``source`` (a file, or
    the notebook): the lines between the solution markers."""
    notebook = nbformat.read(source, as_version=4) if isinstance(source, Path) else source
    answers = {}
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            found = re.search(r"### BEGIN SOLUTION\n(.*?)\n\s*### END SOLUTION", cell.source, re.S)
            answers[meta["grade_id"]] = found.group(1)
    return answers


def hidden_lines_calling(notebook: nbformat.NotebookNode, calls: re.Pattern[str]) -> list[str]:
    """The lines of the source notebook's hidden tests that call a learner function (``calls``
    finds the call), stripped: what learners must never see (lines like ``pass`` or ``try:``
    are everywhere and tell nothing)."""
    lines = []
    for cell in notebook.cells:
        for block in re.findall(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS",
                                cell.source, re.S):
            lines += [line.strip() for line in block.splitlines() if calls.search(line)]
    return lines


def visible_text(page: str) -> str:
    """An HTML page's text as a reader sees it (highlighting splits code into many tags)."""
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def cell_with_id(notebook: dict[str, Any], grade_id: str) -> dict[str, Any]:
    return next(c for c in notebook["cells"]
                if c["metadata"].get("nbgrader", {}).get("grade_id") == grade_id)


def text_of(source: str | list[str]) -> str:
    return "".join(source) if isinstance(source, list) else source


@dataclass
class Submission:
    """A learner's copy of the released notebook, as a dict to change before it is written."""

    released: dict[str, Any]
    notebook_name: str
    notebook: dict[str, Any] = field(init=False)
    files: dict[str, str] = field(default_factory=dict)
    """Other files of the submission (path -> text), written beside the notebook."""

    def __post_init__(self) -> None:
        self.notebook = copy.deepcopy(self.released)

    def cell(self, grade_id: str) -> dict[str, Any]:
        return cell_with_id(self.notebook, grade_id)

    def answer(self, grade_id: str, body: str) -> Submission:
        """The released answer cell with its stub replaced by ``body`` (the function's body)."""
        stub = text_of(cell_with_id(self.released, grade_id)["source"])
        assert STUB in stub
        self.cell(grade_id)["source"] = stub.replace(STUB, body)
        return self

    def replace(self, grade_id: str, source: str) -> Submission:
        self.cell(grade_id)["source"] = source
        return self

    def add_cell(self, source: str, at: int | None = None) -> Submission:
        cell = nbformat.v4.new_code_cell(source)
        self.notebook["cells"].insert(len(self.notebook["cells"]) if at is None else at, cell)
        return self

    def write(self, folder: Path) -> Path:
        folder.mkdir(parents=True)
        (folder / self.notebook_name).write_text(json.dumps(self.notebook), encoding="utf-8")
        for name, text in self.files.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(text, encoding="utf-8")
        return folder


def fresh_learner() -> str:
    return f"t{uuid.uuid4().hex[:12]}"


@dataclass
class Graded:
    """One autograde's result, and the autograded notebook nbgrader kept."""

    result: AutogradeResult
    learner: str
    course_dir: Path
    assignment: str

    @property
    def points(self) -> dict[str, float]:
        return {row["id"]: row["score"] for row in self.result.breakdown}

    def autograded(self) -> dict[str, Any]:
        path = self.course_dir / "autograded" / self.learner / self.assignment
        return json.loads((path / f"{self.assignment}.ipynb").read_text())

    def outputs(self, index: int) -> list[dict[str, Any]]:
        return self.autograded()["cells"][index].get("outputs", [])

    def outputs_of(self, grade_id: str) -> list[dict[str, Any]]:
        cells = self.autograded()["cells"]
        index = next(i for i, c in enumerate(cells)
                     if c["metadata"].get("nbgrader", {}).get("grade_id") == grade_id)
        return self.outputs(index)

    def probe(self, index: int) -> dict[str, Any]:
        """The ``PROBE <json>`` line cell ``index`` printed."""
        text = "".join(
            "".join(o["text"]) if isinstance(o["text"], list) else o["text"]
            for o in self.outputs(index) if o["output_type"] == "stream"
        )
        found = re.search(r"^PROBE (.*)$", text, re.M)
        assert found, f"cell {index} printed no probe: {self.outputs(index)}"
        return json.loads(found.group(1))

    def errors_of(self, grade_id: str) -> set[str]:
        return {o["ename"] for o in self.outputs_of(grade_id) if o["output_type"] == "error"}

    def feedback(self) -> str:
        """The text of the learner's feedback pages, as a reader sees it."""
        pages = sorted(self.result.feedback_dir.rglob("*.html"))
        return visible_text("".join(page.read_text() for page in pages))


def grader_of(course_dir: Path, assignment: str, sandbox: Sandbox,
              tmp_path: Path) -> Callable[..., Graded]:
    """``grade(submission, learner=None, box=None, **autograde_kwargs)``: autograde a
    submission (or raw notebook bytes) of ``assignment`` in ``course_dir`` in ``box`` (default:
    ``sandbox``)."""

    def run(submission: Submission | bytes, *, learner: str | None = None,
            box: Sandbox | None = None, **kwargs: Any) -> Graded:
        learner = learner or fresh_learner()
        folder = tmp_path / learner
        if isinstance(submission, bytes):
            folder.mkdir()
            (folder / f"{assignment}.ipynb").write_bytes(submission)
        else:
            submission.write(folder)
        result = autograde(course_dir, assignment, learner, folder, sandbox=box or sandbox,
                           **kwargs)
        return Graded(result, learner, course_dir, assignment)

    return run
