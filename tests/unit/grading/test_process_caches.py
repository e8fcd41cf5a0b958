"""A grader process keeps nbgrader's gradebook engines, the feedback templates and fragments,
the course file and the cell schema between submissions (grading.process_caches): the same
results, without rebuilding them each time."""

from __future__ import annotations

import copy
import re

import jinja2
import jsonschema
import mistune
import nbformat
import nbgrader.nbgraderformat.common
import pygments
import pytest
import sqlalchemy
from nbconvert.exporters import HTMLExporter
from nbgrader.api import Gradebook
from nbgrader.nbgraderformat import MetadataValidator

import grading.course_directory  # shares the engines and the rest, as every grader process does
import grading.process_caches
from courses.course_file import CourseFileError
from grading.process_caches import (
    FEEDBACK_FRAGMENTS,
    TEMPLATE_BYTECODE,
    CheckedSchemas,
    CourseFiles,
    FeedbackHTMLExporter,
)


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


def test_a_sqlite_gradebook_keeps_its_connection_between_opens_and_sees_other_writers(tmp_path):
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with Gradebook(url, "python-101") as first:
        first.update_or_create_student("ada", first_name="Ada")
        engine = first.engine
    connects: list[object] = []
    sqlalchemy.event.listen(engine, "connect", lambda *args: connects.append(args[0]))
    with Gradebook(url, "python-101") as gb:
        assert gb.find_student("ada").first_name == "Ada"
    assert connects == []  # the pooled connection was kept by close(), not opened again
    writer = sqlalchemy.create_engine(url)  # another process's writes (a second worker)
    with writer.begin() as connection:
        connection.exec_driver_sql("UPDATE student SET first_name = 'Ada L.' WHERE id = 'ada'")
    writer.dispose()
    with Gradebook(url, "python-101") as gb:  # no transaction was left open on the kept one
        assert gb.find_student("ada").first_name == "Ada L."


def test_a_postgresql_gradebook_engine_still_closes_its_connections_on_close():
    engine = grading.process_caches.shared_engine("postgresql://nobody@127.0.0.1:1/none")
    assert "dispose" not in vars(engine)  # Engine.dispose itself: nothing held between gradings


def test_opening_a_gradebook_checks_its_tables_in_one_query_and_creates_missing_ones(tmp_path):
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with Gradebook(url, "python-101") as first:  # a new database: every table is created
        first.update_or_create_student("ada", first_name="Ada")
        engine = first.engine
    statements: list[str] = []
    sqlalchemy.event.listen(
        engine, "before_cursor_execute", lambda *args: statements.append(args[2])
    )
    with Gradebook(url, "python-101") as gb:
        assert gb.find_student("ada").first_name == "Ada"
    assert not [s for s in statements if "PRAGMA" in s and "table_info" in s]  # none per table
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE comment")
    with Gradebook(url, "python-101") as gb:  # a missing table is created again, as before
        assert "comment" in sqlalchemy.inspect(gb.engine).get_table_names()


def test_the_course_file_is_parsed_once_per_version(course_copy, edit_course_yml, monkeypatch):
    courses = CourseFiles()
    parsed: list[str] = []
    load = grading.process_caches.load_course
    monkeypatch.setattr(grading.process_caches, "load_course",
                        lambda f: parsed.append(str(f)) or load(f))
    first = courses.load(course_copy)
    assert courses.load(course_copy) is first and len(parsed) == 1
    edit_course_yml(course_copy, lambda data: data.update(image="other:latest"))
    assert courses.load(course_copy).image == "other:latest" and len(parsed) == 2
    (course_copy / "course.yml").unlink()
    with pytest.raises(CourseFileError):
        courses.load(course_copy)


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


def learner_notebook(answer: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["language_info"] = {"name": "python", "pygments_lexer": "ipython3"}
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Problem 1\n\nWrite `f`, with **care**: $x^2$."),
        nbformat.v4.new_code_cell(answer),
        nbformat.v4.new_code_cell("assert f(2) == 4", metadata={"magics_language": "python"}),
        nbformat.v4.new_markdown_cell("An image: ![plot](attachment:plot.png)",
                                      attachments={"plot.png": {"image/png": "iVBORw0KGgo="}}),
    ]
    return nb


def test_feedback_pages_reuse_the_shared_cells_html_and_are_the_same(monkeypatch):
    FEEDBACK_FRAGMENTS.clear()
    highlighted: list[str] = []
    rendered: list[str] = []
    highlight, render = pygments.highlight, mistune.Markdown.__call__
    monkeypatch.setattr(pygments, "highlight",
                        lambda code, *a: highlighted.append(code) or highlight(code, *a))
    monkeypatch.setattr(mistune.Markdown, "__call__",
                        lambda self, text: rendered.append(text) or render(self, text))
    pages = []
    for answer in ("def f(x):\n    return x * x", "def f(x):\n    return x ** 2"):
        highlighted.clear()
        rendered.clear()
        nb = learner_notebook(answer)
        ours, _ = FeedbackHTMLExporter().from_notebook_node(copy.deepcopy(nb))
        pages.append((highlighted[:], rendered[:]))
        stock, _ = HTMLExporter().from_notebook_node(copy.deepcopy(nb))
        assert normalized(ours) == normalized(stock)
    (first_code, first_markdown), (second_code, second_markdown) = pages
    assert first_code == ["def f(x):\n    return x * x", "assert f(2) == 4"]
    assert second_code == ["def f(x):\n    return x ** 2"]  # only the learner's own cell
    assert len(first_markdown) == 2 and second_markdown == []


def test_feedback_fragments_are_kept_apart_by_what_they_are_made_from():
    FEEDBACK_FRAGMENTS.clear()
    nb = learner_notebook("x = 1")
    python, _ = FeedbackHTMLExporter().from_notebook_node(copy.deepcopy(nb))
    nb.metadata["language_info"] = {"name": "text", "pygments_lexer": "text"}
    nb.cells[3].attachments = {"plot.png": {"image/png": "AAAA"}}
    text, _ = FeedbackHTMLExporter().from_notebook_node(copy.deepcopy(nb))
    stock, _ = HTMLExporter().from_notebook_node(copy.deepcopy(nb))
    assert normalized(text) == normalized(stock) != normalized(python)
    assert "AAAA" in text


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
