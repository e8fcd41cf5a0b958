"""A grader process keeps nbgrader's gradebook engines and the feedback templates between
submissions (grading.process_caches): the same results, without rebuilding them each time."""

from __future__ import annotations

import copy
import re

import jinja2
import jsonschema
import nbformat
import nbgrader.nbgraderformat.common
import pytest
from nbconvert.exporters import HTMLExporter
from nbgrader.api import Gradebook
from nbgrader.nbgraderformat import MetadataValidator

import grading.nbgrader_course  # noqa: F401  (shares the engines, as every grader process does)
from grading.process_caches import TEMPLATE_BYTECODE, CheckedSchemas, FeedbackHTMLExporter


def test_gradebooks_of_one_database_share_an_engine_that_outlives_close(tmp_path):
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with Gradebook(url, "python-101") as first:
        first.update_or_create_student("ada", first_name="Ada")
        engine = first.engine
    with Gradebook(url, "python-101") as second:
        assert second.engine is engine  # its compiled statements are kept
        assert second.find_student("ada").first_name == "Ada"
    with Gradebook(f"sqlite:///{tmp_path / 'other.db'}", "python-101") as other:
        assert other.engine is not engine


def notebook() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Feedback"), nbformat.v4.new_code_cell("1 + 1")]
    return nb


def test_feedback_exporters_compile_the_templates_once_and_render_the_same_page(monkeypatch):
    TEMPLATE_BYTECODE.clear()
    compiled: list[str | None] = []
    compile_template = jinja2.Environment.compile

    def counting(self, source, name=None, filename=None, raw=False, defer_init=False):
        compiled.append(name)
        return compile_template(self, source, name, filename, raw, defer_init)

    monkeypatch.setattr(jinja2.Environment, "compile", counting)
    nb = notebook()
    first, _ = FeedbackHTMLExporter().from_notebook_node(copy.deepcopy(nb))
    assert compiled  # nbconvert's HTML templates, compiled by the first exporter
    compiled.clear()
    second, _ = FeedbackHTMLExporter().from_notebook_node(copy.deepcopy(nb))
    assert compiled == []  # a new exporter (a new environment) finds them compiled
    plain, _ = HTMLExporter().from_notebook_node(copy.deepcopy(nb))
    assert second == first
    assert normalized(second) == normalized(plain)


def normalized(page: str) -> str:
    """The page without the ids nbconvert makes fresh for each rendering."""
    return re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "", page)



def graded_cell(**nbgrader) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell("assert True")
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True, "points": 2,
                                 "grade_id": "t1", "schema_version": 3, **nbgrader}
    return cell


def test_cell_metadata_is_checked_as_before_with_the_schema_checked_once(monkeypatch):
    schemas = CheckedSchemas()
    monkeypatch.setattr(nbgrader.nbgraderformat.common, "jsonschema", schemas)
    validators = [MetadataValidator(), MetadataValidator()]  # each loads nbgrader's schema
    checked: list[dict] = []
    cls = jsonschema.validators.validator_for(validators[0].schema)
    real_check = cls.check_schema
    monkeypatch.setattr(cls, "check_schema",
                        lambda schema: checked.append(schema) or real_check(schema))
    for validator in validators:
        for _ in range(3):
            validator.validate_cell(graded_cell())
    assert len(checked) == 1
    bad = graded_cell(points="two")
    with pytest.raises(jsonschema.ValidationError) as ours:
        validators[0].validate_cell(bad)
    with pytest.raises(jsonschema.ValidationError) as stock:
        jsonschema.validate(bad.metadata["nbgrader"], validators[0].schema)
    assert ours.value.message == stock.value.message == "'two' is not of type 'number'"


def test_nbgraders_validators_use_the_checked_schemas():
    assert isinstance(nbgrader.nbgraderformat.common.jsonschema, CheckedSchemas)
