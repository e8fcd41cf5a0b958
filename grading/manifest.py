"""The manifest of a release: each released notebook's nbgrader cells as learners received them.

Written by ``grading.release`` into ``manifests/<assignment>.json`` of the course directory
(read back with ``Course.manifest``). It is the reference the tamper check compares a
submission with (``grading.preprocessors.flag_tampering``): nbgrader's gradebook keeps the cells
*with* the hidden tests, so only the release can tell a learner's edit from the hidden tests
being put back. It also gives an assignment's points when nothing could be graded.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import nbformat
from nbformat import NotebookNode

from grading.course_directory import Course

NBGRADER_FLAGS = ("grade", "solution", "locked", "task")
NBGRADER_SCHEMA_VERSION = 3  # the cell metadata schema nbgrader 0.9 writes and validates


def build_manifest(course: Course, assignment: str, released_at: dt.datetime) -> dict[str, Any]:
    """Each released notebook's nbgrader cells as learners received them."""
    notebooks: dict[str, dict[str, Any]] = {}
    for path in sorted(course.path("release", assignment).glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        cells = {}
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader")
            if meta and meta.get("grade_id"):
                cells[meta["grade_id"]] = {
                    "cell_type": cell.cell_type,
                    **{flag: bool(meta.get(flag, False)) for flag in NBGRADER_FLAGS},
                    "points": float(meta.get("points", 0)) if meta.get("grade") else None,
                    "checksum": meta.get("checksum"),
                }
        notebooks[path.stem] = cells
    return {"released_at": released_at.isoformat(), "notebooks": notebooks}


def released_metadata(grade_id: str, release: dict[str, Any]) -> NotebookNode:
    """A cell's nbgrader metadata as generate_assignment wrote it (schema version 3)."""
    meta: dict[str, Any] = {
        "grade_id": grade_id,
        "cell_type": release["cell_type"],
        "schema_version": NBGRADER_SCHEMA_VERSION,
        **{flag: release[flag] for flag in NBGRADER_FLAGS},
    }
    if release["grade"]:
        meta["points"] = release["points"]
    if release["checksum"] is not None:
        meta["checksum"] = release["checksum"]
    return nbformat.from_dict(meta)


def manifest_points(manifest: dict[str, Any]) -> float:
    return sum(
        cell["points"] or 0.0
        for cells in manifest["notebooks"].values()
        for cell in cells.values()
        if cell["grade"]
    )
