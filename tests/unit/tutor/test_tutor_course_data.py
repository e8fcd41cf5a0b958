"""What the tutor reads from a course folder: answer cells, hints, solution regions."""

from __future__ import annotations

import json
import os

from tutor.course_data import CourseLibrary, read_course


def notebook_of(folder, assignment="ps1-basics"):
    return folder / "source" / assignment / f"{assignment}.ipynb"


def test_answer_cells_and_course_yml_of_the_demo_course(python101):
    ps1 = python101.assignments["ps1-basics"]
    assert list(ps1.cells) == ["ps1-celsius-answer", "ps1-initials-answer", "ps1-grade-answer"]
    assert ps1.policy == "full" and len(ps1.hints) == 4
    assert python101.assignments["ps3-data-structures"].policy == "off"
    assert "ps1-celsius-tests" not in ps1.cells  # a test cell is not an answer cell


def test_a_cells_own_hints_come_from_its_metadata(course_copy):
    path = notebook_of(course_copy)
    notebook = json.loads(path.read_text())
    for cell in notebook["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == "ps1-celsius-answer":
            cell["metadata"]["pls_tutor"] = {"hints": ["Check 100 °C first.", ""]}
    path.write_text(json.dumps(notebook))
    cell = read_course(course_copy).assignments["ps1-basics"].cells["ps1-celsius-answer"]
    assert cell.hints == ("Check 100 °C first.",)


def test_a_broken_course_yml_keeps_the_solutions_guarded(course_copy):
    (course_copy / "course.yml").write_text("slug: [not, a, slug]\n")
    data = read_course(course_copy)
    assert data.assignments == {}
    assert len(data.solutions.regions) == 10
    assert data.solutions.leak_in("return celsius * 9 / 5 + 32") is not None


def test_a_changed_notebook_is_read_again(course_copy):
    library = CourseLibrary(course_copy.parent, check_seconds=0)
    assert library.get("python-101").solutions.leak_in("return celsius * 9 / 5 + 32")
    path = notebook_of(course_copy)
    path.write_text(path.read_text().replace("return celsius * 9 / 5 + 32",
                                             "return 32 + celsius * 1.8"))
    later = os.stat(path).st_mtime_ns + 1_000_000_000
    os.utime(path, ns=(later, later))
    data = library.get("python-101")
    assert data.solutions.leak_in("return celsius * 9 / 5 + 32") is None
    assert data.solutions.leak_in("return 32 + celsius * 1.8") is not None


def test_unknown_or_unsafe_course_names_are_no_course(tmp_path):
    library = CourseLibrary(tmp_path)
    assert library.get("nowhere") is None
    assert library.get("../etc") is None
