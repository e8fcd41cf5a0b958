"""Sanitize: compare each nbgrader cell of a submission with the release (``FlagTampering``)."""

from __future__ import annotations

import math
from typing import Any

from nbformat import NotebookNode
from nbgrader import utils as nbgrader_utils
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Dict

from grading.course_directory import SubmissionInvalid
from grading.manifest import NBGRADER_FLAGS, released_metadata
from grading.preprocessors.base import METADATA_KEY


class FlagTampering(NbGraderPreprocessor):
    """Compare each nbgrader cell with the release, put the release's metadata back and record
    every change in the notebook's metadata (``pls_grading.tampered``: grade id -> what).

    Runs before nbgrader's other sanitize steps: ``DeduplicateIds``, ``OverwriteCells`` and
    ``CheckCellMetadata`` assume well-formed nbgrader metadata and crash (``AttributeError``,
    ``TypeError``) on what a learner can put there (``"nbgrader": "x"``, a list as an id, a text
    ``schema_version``), which would fail the grading job instead of answering the learner. So
    each cell's nbgrader metadata is replaced whole by the release's, and metadata that matches
    no released cell (unknown or repeated ids, flags without an id, not an object) is removed.
    ``OverwriteCells`` then restores sources from the gradebook: the gradebook's checksums include
    the hidden tests, so only the release can tell a learner's edit from the hidden tests being
    put back. Graded and answer cells that are missing make the notebook invalid."""

    manifest = Dict(help="The assignment's manifest (see grading.manifest).").tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        notebook = resources["nbgrader"]["notebook"]
        expected = self.manifest["notebooks"].get(notebook, {})
        tampered: dict[str, list[str]] = {}
        seen: set[str] = set()
        for cell in nb.cells:
            if "nbgrader" not in cell.metadata:
                continue
            meta = cell.metadata["nbgrader"]
            grade_id = meta.get("grade_id") if isinstance(meta, dict) else None
            if isinstance(grade_id, str) and grade_id in expected and grade_id not in seen:
                seen.add(grade_id)
                changes = self.restore(cell, grade_id, expected[grade_id])
                if changes:
                    tampered[grade_id] = changes
                continue
            problem = self.unmatched(meta, grade_id, seen)
            if problem:
                label = grade_id[:80] if isinstance(grade_id, str) and grade_id else "(no id)"
                tampered.setdefault(label, []).append(problem)
            del cell.metadata["nbgrader"]
        missing = [
            grade_id
            for grade_id, release in expected.items()
            if (release["grade"] or release["solution"]) and grade_id not in seen
        ]
        if missing:
            raise SubmissionInvalid(
                f"{notebook}.ipynb is missing cells that are graded or hold answers "
                f"({', '.join(missing)}). Fetch the assignment again (or restore the cells) "
                "and copy your answers into it."
            )
        nb.metadata[METADATA_KEY] = {"tampered": tampered}  # whatever the learner put there
        if tampered:
            self.log.warning("%s: changed cells %s", notebook, tampered)
        return nb, resources

    @staticmethod
    def unmatched(meta: Any, grade_id: Any, seen: set[str]) -> str:
        """Why nbgrader metadata that matches no released cell is tampering ('' when it is
        harmless: no id and no flag set, e.g. what nbgrader leaves on a de-duplicated cell)."""
        if not isinstance(meta, dict):
            return "nbgrader metadata that is not an object"
        if isinstance(grade_id, str) and grade_id in seen:
            return "the id of another cell"
        if grade_id:
            return "unknown cell id"
        if any(meta.get(flag) for flag in NBGRADER_FLAGS):
            return "nbgrader metadata without an id"
        return ""

    @staticmethod
    def restore(cell: NotebookNode, grade_id: str, release: dict[str, Any]) -> list[str]:
        """Replace the cell's nbgrader metadata by the release's; what differed."""
        meta = cell.metadata["nbgrader"]
        changes = []
        if cell.cell_type != release["cell_type"]:
            changes.append("cell type")
        changes.extend(f for f in NBGRADER_FLAGS if bool(meta.get(f, False)) != release[f])
        if release["grade"]:
            try:
                points = float(meta.get("points", 0))
            except (TypeError, ValueError):
                points = math.nan
            if points != release["points"]:
                changes.append("points")
        if meta.get("checksum") != release["checksum"]:
            changes.append("checksum")
        cell.metadata["nbgrader"] = released_metadata(grade_id, release)
        locked = release["locked"] and not release["solution"]
        if (
            locked
            and cell.cell_type == release["cell_type"]
            and nbgrader_utils.compute_checksum(cell) != release["checksum"]
        ):
            changes.append("source of a locked cell")
        return changes
