"""Feedback of one grading: nbgrader's ``GenerateFeedback`` without the hidden tests.

nbgrader's feedback with the hidden tests' source removed (``ClearHiddenTests``), also where an
output quotes it (``grading.preprocessors.clear_hidden_tracebacks``: a traceback, or a learner's
cell that printed it), rendered with the process's cached templates
(``grading.process_caches.FeedbackHTMLExporter``), and copied to a folder of its own for the
caller.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import shutil
import time
from pathlib import Path

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.converters import GenerateFeedback
from nbgrader.preprocessors import ClearHiddenTests, GetGrades

from grading.course_directory import Course, nbgrader_config
from grading.preprocessors.clear_hidden_tracebacks import ClearHiddenTracebacks
from grading.process_caches import FeedbackHTMLExporter

log = logging.getLogger(__name__)

FEEDBACK_KEEP_SECONDS = 3600


def generate_feedback(course: Course, assignment: str, learner: str) -> Path:
    """nbgrader's GenerateFeedback without the hidden tests' source, copied to a folder of
    this grading's own (``feedback-out/``; folders older than an hour are removed)."""
    config = nbgrader_config(
        BaseConverter={"force": True},
        GenerateFeedback={
            "exporter_class": FeedbackHTMLExporter,
            "preprocessors": [
                GetGrades, ClearHiddenTracebacks, ClearHiddenTests, CSSHTMLHeaderPreprocessor,
            ],
        },
        ClearHiddenTests={"enforce_metadata": False},
    )
    converter = GenerateFeedback(
        coursedir=course.coursedir(assignment_id=assignment, student_id=learner),
        config=config,
        log=log,
    )
    converter.start()
    out = course.root / "feedback-out" / learner / assignment
    out.mkdir(parents=True, exist_ok=True)
    now = time.time()
    for old in out.iterdir():
        if now - old.stat().st_mtime > FEEDBACK_KEEP_SECONDS:
            shutil.rmtree(old, ignore_errors=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    target = out / f"{stamp}-{secrets.token_hex(4)}"
    shutil.copytree(course.path("feedback", assignment, learner), target)
    return target
