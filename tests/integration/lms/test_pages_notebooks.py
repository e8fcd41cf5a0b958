"""Notebook blocks: a course notebook renders read-only into the page; a path that leaves the
course folder or a broken file shows a clear message instead of failing the page."""

from __future__ import annotations

import json
import os

import nbformat
import pytest

from lms.base import notebooks
from lms.base.notebooks import (
    NOT_AVAILABLE,
    NOT_RENDERABLE,
    render_course_notebook,
    render_notebook_cells,
)
from tests.support.lms_factories import LessonFactory


@pytest.fixture
def course_dir(settings, tmp_path):
    settings.STUDIO_COURSES_DIR = tmp_path / "courses"
    folder = tmp_path / "courses" / "python-101"
    (folder / "lessons").mkdir(parents=True)
    return folder


def write(path, *cells, **metadata):
    path.parent.mkdir(parents=True, exist_ok=True)
    notebook = nbformat.v4.new_notebook(cells=list(cells), metadata=metadata)
    nbformat.write(notebook, path)
    return path


def test_renders_markdown_code_and_outputs_without_scripts_or_styles(course_dir):
    write(
        course_dir / "lessons" / "loops.ipynb",
        nbformat.v4.new_markdown_cell("# Loops\n\nRepeat with `for`."),
        nbformat.v4.new_code_cell(
            "for i in range(3):\n    print(i)",
            execution_count=1,
            outputs=[nbformat.v4.new_output("stream", name="stdout", text="0\n1\n2\n")],
        ),
    )

    html = render_course_notebook("python-101", "lessons/loops.ipynb")

    assert "<h2>Loops</h2>" in html  # the page keeps the only <h1>
    assert '<span class="k">for</span>' in html  # highlighted by Pygments, styled locally
    assert "0\n1\n2" in html
    assert "<script" not in html and "<style" not in html and "<link" not in html


def test_scripts_in_stored_outputs_and_markdown_never_reach_the_page(course_dir):
    write(
        course_dir / "lessons" / "evil.ipynb",
        nbformat.v4.new_markdown_cell(
            'Hi <script>alert("md")</script><img src="https://tracker.example/x.png" alt="t">'
            '<a href="javascript:alert(1)" onclick="alert(2)">link</a>'
        ),
        nbformat.v4.new_code_cell(
            "show()",
            execution_count=1,
            outputs=[
                nbformat.v4.new_output(
                    "display_data",
                    data={
                        "application/javascript": "alert('js')",
                        "text/html": "<style>body{display:none}</style><b>bold</b>"
                        "<iframe src='https://example.org'></iframe>",
                        "text/plain": "shown",
                    },
                )
            ],
        ),
        widgets={"application/vnd.jupyter.widget-state+json": {"state": {}}},
    )

    html = render_course_notebook("python-101", "lessons/evil.ipynb")

    assert "<b>bold</b>" in html and "link" in html
    for forbidden in ("<script", "alert(", "<style", "display:none", "<iframe", "onclick"):
        assert forbidden not in html
    assert "javascript:" not in html
    assert "tracker.example" not in html  # images only as inline data


def test_paths_that_leave_the_course_folder_are_refused(course_dir, tmp_path):
    write(tmp_path / "courses" / "other-course" / "secret.ipynb")
    write(tmp_path / "outside.ipynb")
    (course_dir / "lessons" / "link.ipynb").symlink_to(tmp_path / "outside.ipynb")

    for path in (
        "../other-course/secret.ipynb",
        "lessons/../../other-course/secret.ipynb",
        str(tmp_path / "outside.ipynb"),
        "/etc/passwd",
        "lessons/link.ipynb",
        "",
    ):
        html = render_course_notebook("python-101", path)
        assert NOT_AVAILABLE in html, path
        assert 'role="status"' in html

    assert NOT_AVAILABLE in render_course_notebook("..", "outside.ipynb")


def test_missing_and_non_notebook_files_are_not_available(course_dir):
    (course_dir / "course.yml").write_text("slug: python-101\n")

    assert NOT_AVAILABLE in render_course_notebook("python-101", "lessons/missing.ipynb")
    assert NOT_AVAILABLE in render_course_notebook("python-101", "course.yml")


@pytest.mark.parametrize(
    "content",
    ["{not json", '{"cells": "nope"}', '{"nbformat": 4, "nbformat_minor": 5, "cells": [{}]}', ""],
)
def test_malformed_notebook_gives_a_clear_message(course_dir, content):
    (course_dir / "lessons" / "broken.ipynb").write_text(content)

    html = render_course_notebook("python-101", "lessons/broken.ipynb")

    assert NOT_RENDERABLE in html


def test_an_edited_notebook_is_rendered_again(course_dir):
    path = write(course_dir / "lessons" / "a.ipynb", nbformat.v4.new_markdown_cell("first"))
    assert "first" in render_course_notebook("python-101", "lessons/a.ipynb")

    write(path, nbformat.v4.new_markdown_cell("second"))
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))

    html = render_course_notebook("python-101", "lessons/a.ipynb")
    assert "second" in html and "first" not in html


def test_a_notebook_as_jupyterlab_saves_it_renders_cell_by_cell():
    """A learner's submission comes from the grader as the file JupyterLab saved: sources and
    outputs as lists of lines (nbformat's disk format), which the cells render from as well."""
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("## Clamp\nWrite `clamp`."),
        nbformat.v4.new_code_cell(
            "def clamp(value, low=0, high=100):\n    return max(low, min(value, high))\n",
            execution_count=1,
            outputs=[nbformat.v4.new_output("stream", name="stdout", text="one\ntwo\n")],
        ),
    ])
    on_disk = json.loads(nbformat.writes(notebook))
    assert isinstance(on_disk["cells"][1]["source"], list)

    cells = render_notebook_cells(on_disk)

    assert len(cells) == 2
    assert "Clamp" in cells[0] and NOT_RENDERABLE not in cells[0]
    assert "clamp" in cells[1] and "two" in cells[1]


@pytest.mark.django_db
def test_lesson_page_with_a_broken_notebook_still_renders(client, course, course_dir):
    (course_dir / "lessons" / "broken.ipynb").write_text("{not json")
    lesson = LessonFactory(
        parent=course,
        slug="broken",
        body=[
            ("notebook", {"path": "lessons/broken.ipynb"}),
            ("notebook", {"path": "../../etc/passwd.ipynb"}),
        ],
    )

    response = client.get(lesson.url)

    html = response.content.decode()
    assert response.status_code == 200
    assert NOT_RENDERABLE in html
    assert NOT_AVAILABLE in html


def test_a_notebook_another_process_rendered_is_not_rendered_again(course_dir, monkeypatch):
    write(course_dir / "lessons" / "shared.ipynb", nbformat.v4.new_markdown_cell("# Shared"))
    first = render_course_notebook("python-101", "lessons/shared.ipynb")
    notebooks._render.cache_clear()  # another process: nothing in its memory

    def render_again(filename):
        raise AssertionError(f"{filename} rendered again")

    monkeypatch.setattr(notebooks, "_render_now", render_again)
    assert render_course_notebook("python-101", "lessons/shared.ipynb") == first


def test_a_notebook_is_rendered_again_by_another_renderer(course_dir, monkeypatch):
    write(course_dir / "lessons" / "shared.ipynb", nbformat.v4.new_markdown_cell("# Shared"))
    render_course_notebook("python-101", "lessons/shared.ipynb")
    notebooks._render.cache_clear()
    monkeypatch.setattr(notebooks, "_renderer", lambda: "an upgraded allow-list")
    monkeypatch.setattr(notebooks, "_render_now", lambda filename: "<p>rendered anew</p>")

    assert render_course_notebook("python-101", "lessons/shared.ipynb") == "<p>rendered anew</p>"
