"""What the grader's preprocessors share: the record they keep in a notebook's metadata and the
error output they give a cell the grader failed.

The record, ``metadata.pls_grading`` of the autograded notebook: ``tampered`` (grade id -> what
``FlagTampering`` found changed), ``sandbox`` (the run's time and whether its container was
warm), ``execution_tampered`` (what the runner's guard found, per graded cell) and ``stopped``
(why the sandbox gave no result). ``grading.result`` reads it back for the learner's message.
"""

from __future__ import annotations

import nbformat
from nbformat import NotebookNode

METADATA_KEY = "pls_grading"


def error_output(ename: str, evalue: str) -> NotebookNode:
    return nbformat.v4.new_output(
        "error", ename=ename, evalue=evalue, traceback=[f"\x1b[0;31m{ename}\x1b[0m: {evalue}"]
    )
