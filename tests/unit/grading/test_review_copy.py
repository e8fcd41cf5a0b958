"""What a peer reviewer may be shown of a submission (``grading.selectors.review_copy``): the
submitted notebooks without hidden tests (``courses.solutions.without_hidden_tests``), only the
released notebooks of the folder, and the per-test results only when asked and allowed. The
HTTP side (who may ask) is in tests/integration/grading/test_service_api.py."""

from __future__ import annotations

import datetime as dt
import json

from courses.solutions import outside_hidden_tests, without_hidden_tests
from grading.selectors import review_copy, shows_test_results
from grading.store import Submission, SubmissionStatus

HIDDEN = "assert double(1) == 2\n### BEGIN HIDDEN TESTS\nassert double(21) == 42  # secret\n" \
         "### END HIDDEN TESTS\n"


def notebook(*sources: str) -> dict:
    return {"cells": [{"cell_type": "code", "source": s, "metadata": {},
                       "outputs": [{"output_type": "stream", "name": "stdout",
                                    "text": "secret ran"}], "execution_count": 1}
                      for s in sources],
            "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def test_hidden_tests_are_removed_with_their_markers_and_the_cells_outputs():
    cleaned = without_hidden_tests(notebook("def double(x):\n    return 2 * x\n", HIDDEN))
    kept, tested = cleaned["cells"]
    assert tested["source"] == "assert double(1) == 2"
    assert "secret" not in json.dumps(tested)
    assert kept["outputs"]  # a cell without hidden tests keeps its outputs


def test_an_unclosed_hidden_region_hides_the_rest_of_the_cell():
    assert outside_hidden_tests("a\n## BEGIN HIDDEN TESTS\nb\nc") == "a"


def test_a_list_source_is_read_too():
    cleaned = without_hidden_tests(notebook(HIDDEN.splitlines(keepends=True)))  # type: ignore[arg-type]
    assert "secret" not in json.dumps(cleaned)


def submitted(grader_db, tmp_path, files: dict[str, str], **fields) -> Submission:
    folder = tmp_path / "files"
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    row = Submission(
        id="a" * 32, course="python-101", assignment="ps1-basics", learner="grace",
        submitted_at=dt.datetime(2030, 1, 1, tzinfo=dt.UTC), status=SubmissionStatus.GRADED,
        files_path=str(folder), message="", feedback_released=False,
        breakdown=[{"id": "test_double", "notebook": "ps1-basics", "score": 1.0,
                    "max_score": 2.0, "graded_by": "instructor"}],
    )
    for name, value in fields.items():
        setattr(row, name, value)
    with grader_db.transaction() as session:
        session.add(row)
    return row


def test_the_review_copy_has_the_released_notebooks_without_hidden_tests(
    grader_db, tmp_path, release_row
):
    release_row("ps1-basics")
    row = submitted(grader_db, tmp_path, {"ps1-basics.ipynb": json.dumps(notebook(HIDDEN)),
                                          "notes.txt": "private", "other.ipynb": "{}"})
    copy = review_copy(grader_db, row, with_tests=False)
    (only,) = copy["notebooks"]
    assert only["name"] == "ps1-basics.ipynb" and only["problem"] == ""
    assert "secret" not in json.dumps(copy)
    assert copy["tests"] is None
    assert copy["submission"] == {"id": row.id, "learner": "grace",
                                  "submitted_at": "2030-01-01T00:00:00+00:00",
                                  "status": "graded"}


def test_per_test_results_are_ids_and_points_only_when_asked(grader_db, tmp_path, release_row):
    release_row("ps1-basics")
    row = submitted(grader_db, tmp_path, {"ps1-basics.ipynb": json.dumps(notebook("x = 1"))})
    assert review_copy(grader_db, row, with_tests=True)["tests"] == [
        {"id": "test_double", "notebook": "ps1-basics", "score": 1.0, "max_score": 2.0}]


def test_a_missing_or_broken_notebook_is_named_with_a_problem(grader_db, tmp_path, release_row):
    release_row("ps1-basics")
    row = submitted(grader_db, tmp_path, {"ps1-basics.ipynb": "{not json"})
    (only,) = review_copy(grader_db, row, with_tests=False)["notebooks"]
    assert (only["notebook"], only["problem"]) == (None, "not a readable notebook")
    (tmp_path / "files" / "ps1-basics.ipynb").unlink()
    (only,) = review_copy(grader_db, row, with_tests=False)["notebooks"]
    assert only["problem"] == "not submitted"


def test_course_yml_decides_whether_reviewers_see_test_results(python101_dir, course_copy,
                                                               edit_course_yml):
    assert shows_test_results(python101_dir, "ps2-functions") is True
    assert shows_test_results(python101_dir, "ps1-basics") is False  # no peer review
    edit_course_yml(course_copy, lambda d: d["assignments"][1]["peer_review"].update(
        show_test_results=False))
    assert shows_test_results(course_copy, "ps2-functions") is False
    (course_copy / "course.yml").write_text("slug: [broken\n")
    assert shows_test_results(course_copy, "ps2-functions") is False
