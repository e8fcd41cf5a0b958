"""Autograde: nbgrader's ``Execute`` step, run in a fresh container (``SandboxedExecute``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode
from nbgrader import utils as nbgrader_utils
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Enum, Instance, Integer, Unicode

from grading.course_directory import IGNORED, MIB, SubmissionInvalid
from grading.preprocessors.base import METADATA_KEY, error_output
from grading.sandbox import Sandbox, SandboxUnavailable

_sandbox: Sandbox | None = None


def default_sandbox() -> Sandbox:
    """This process's sandbox (and so its warm pool), made on first use."""
    global _sandbox
    if _sandbox is None:
        _sandbox = Sandbox()
    return _sandbox


class SandboxedExecute(NbGraderPreprocessor):
    """nbgrader's Execute step, run in a fresh container (:class:`grading.sandbox.Sandbox`)
    instead of this process.

    The sanitized notebook goes in with the assignment's other files (its data, from the
    autograded folder); only outputs and execution counts come back, cell by cell, so nothing
    else of the notebook can be changed from inside. When the sandbox stops without a result,
    every code cell fails with the reason."""

    sandbox = Instance(
        Sandbox,
        allow_none=True,
        help="""The sandbox to run notebooks in (None: this process's, from default_sandbox(),
        so its warm pool is shared instead of started and thrown away per notebook).""",
    ).tag(config=True)
    image = Unicode("", help="The course's image (empty: the sandbox's default).").tag(config=True)
    grading = Enum(
        ["judge", "in-kernel"],
        default_value="judge",
        help="""How the test cells are evaluated (course.yml's ``grading``): by the runner's
        judge, outside the learner's kernel (their points then come from the judge alone), or in
        the kernel beside the learner's code.""",
    ).tag(config=True)
    max_files_bytes = Integer(
        16 * MIB, help="Most bytes of data files sent along with the notebook."
    ).tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        files = data_files(Path(resources["metadata"]["path"]), self.max_files_bytes)
        run = (self.sandbox or default_sandbox()).run(
            nb, files=files, image=self.image or None, grading=self.grading
        )
        record = nb.metadata.setdefault(METADATA_KEY, {})
        record["sandbox"] = {"seconds": round(run.seconds, 3), "warm": run.warm, **run.timing}
        record["grading"] = self.grading  # how the test cells' outputs were made
        if run.notebook is not None and self.grading == "judge":
            require_judged(nb, run.notebook, self.image)
        merged = run.notebook is not None and merge_outputs(nb, run.notebook)
        if merged:
            record["execution_tampered"] = execution_tampering(run.notebook, nb)
        if not merged:
            reason = run.stopped or "the sandbox's result did not match the notebook"
            record["stopped"] = reason
            for cell in nb.cells:
                if cell.cell_type == "code":
                    cell.outputs = [error_output("SandboxStopped", reason)]
        return nb, resources


def require_judged(nb: NotebookNode, executed: dict[str, Any], image: str) -> None:
    """In the judge's grading, every test cell's outputs must be the judge's (the runner lists
    the cells it judged, in its signed result). A runner that judged none predates the judge:
    the image must be rebuilt, which is the grader's problem, not a zero for the learner."""
    record = (executed.get("metadata") or {}).get(METADATA_KEY) or {}
    judged = record.get("judged")
    tests = {
        index for index, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and nbgrader_utils.is_grade(cell)
        and not nbgrader_utils.is_solution(cell)
    }
    if record.get("grading") != "judge" or not isinstance(judged, list):
        raise SandboxUnavailable(
            f"the image {image or '(default)'} runs a grading runner without the judge: "
            "rebuild it (images/build notebook)", "not_judged",
        )
    if not tests <= set(judged):
        raise SandboxUnavailable("the grading runner did not judge every test cell",
                                 "not_judged")


def data_files(folder: Path, max_bytes: int) -> dict[str, bytes]:
    """The regular files beside the notebook (not notebooks, not links), for the sandbox."""
    files: dict[str, bytes] = {}
    total = 0
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if (
            path.is_symlink()
            or not path.is_file()
            or path.suffix == ".ipynb"
            or any(part in IGNORED for part in relative.parts)
        ):
            continue
        total += path.stat().st_size
        if total > max_bytes:
            raise SubmissionInvalid(
                f"The assignment's files add up to more than {max_bytes // MIB} MiB."
            )
        files[relative.as_posix()] = path.read_bytes()
    return files


def merge_outputs(nb: NotebookNode, executed: dict[str, Any]) -> bool:
    """Copy outputs and execution counts from the executed copy; False if it does not match."""
    cells = executed.get("cells")
    if not isinstance(cells, list) or len(cells) != len(nb.cells):
        return False
    if any(
        not isinstance(c, dict) or c.get("cell_type") != o.cell_type
        for c, o in zip(cells, nb.cells, strict=True)
    ):
        return False
    for cell, result in zip(nb.cells, cells, strict=True):
        if cell.cell_type == "code":
            cell.outputs = [nbformat.from_dict(o) for o in result.get("outputs") or []]
            cell.execution_count = result.get("execution_count")
    language = (executed.get("metadata") or {}).get("language_info")
    if isinstance(language, dict):
        nb.metadata["language_info"] = nbformat.from_dict(language)
    return True


def execution_tampering(executed: dict[str, Any], nb: NotebookNode) -> list[dict[str, Any]]:
    """What the runner's guard found, checked against the notebook: ``[{"cell": index,
    "grade_id", "found": [parts]}]`` for graded cells only, in cell order. The runner signed
    it; a record that names no graded cell of this notebook is dropped."""
    recorded = ((executed.get("metadata") or {}).get(METADATA_KEY) or {}).get("tampering")
    if not isinstance(recorded, list):
        return []
    found = []
    for entry in recorded:
        if not isinstance(entry, dict):
            continue
        index, parts = entry.get("cell"), entry.get("found")
        if not isinstance(index, int) or not 0 <= index < len(nb.cells):
            continue
        cell = nb.cells[index]
        if cell.cell_type != "code" or not nbgrader_utils.is_grade(cell):
            continue
        if not isinstance(parts, list) or not parts:
            continue
        found.append({
            "cell": index,
            "grade_id": cell.metadata["nbgrader"].get("grade_id"),
            "found": [str(part)[:100] for part in parts],
        })
    return sorted(found, key=lambda e: e["cell"])
