"""The shared course.yml reader: every malformed file is refused with file, field and problem."""

from __future__ import annotations

import pytest

from courses.course_file import CourseFileError, load_course


def test_demo_course_reads_with_lessons_and_assignments(python101_dir):
    course = load_course(python101_dir)
    assert course.slug == "python-101"
    assert len(course.lessons) >= 4
    assert [a.name for a in course.assignments] == [
        "ps1-basics",
        "ps2-functions",
        "ps3-data-structures",
    ]
    assert all(a.points > 0 and a.due and a.release for a in course.assignments)
    assert {a.tutor for a in course.assignments} == {"full", "hints-only", "off"}


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        (lambda d: d.pop("title"), "title", "is required"),
        (lambda d: d.update(slug="Python 101"), "slug", "lower-case"),
        (lambda d: d.update(enrollment="maybe"), "enrollment", "must be one of open, closed"),
        (lambda d: d.update(lessons="basics"), "lessons", "must be a list"),
        (lambda d: d.pop("assignments"), "assignments", "is required"),
        (
            lambda d: d["lessons"][0].update(notebook="../../etc/passwd.ipynb"),
            "lessons[0].notebook",
            "outside the course folder",
        ),
        (
            lambda d: d["lessons"][1].update(notebook="lessons/missing.ipynb"),
            "lessons[1].notebook",
            "is not a notebook",
        ),
        (lambda d: d["lessons"].append(dict(d["lessons"][0])), "lessons", "appears twice"),
        (
            lambda d: d["assignments"][0].update(name="nope"),
            "assignments[0].name",
            "no notebooks in source/nope/",
        ),
        (lambda d: d["assignments"][0].update(points=999), "assignments[0].points", "add up to"),
        (
            lambda d: d["assignments"][1].update(due="next tuesday"),
            "assignments[1].due",
            "ISO 8601",
        ),
        (
            lambda d: d["assignments"][1].update(due="2027-01-31T23:59:00"),
            "assignments[1].due",
            "time zone",
        ),
        (
            lambda d: d["assignments"][0].update(due="2026-01-01T00:00:00+00:00"),
            "assignments[0].due",
            "after the release",
        ),
        (
            lambda d: d["assignments"][0].update(late_policy={"mode": "accept", "cutoff_days": -1}),
            "assignments[0].late_policy.cutoff_days",
            "0 or more",
        ),
        (lambda d: d["lessons"][0].update(slug="gradebook"), "lessons[0].slug", "is taken"),
        (lambda d: d["assignments"][0].update(name="Tutor"), "assignments[0].name", "is taken"),
        (
            lambda d: d["assignments"][2].update(tutor="always"),
            "assignments[2].tutor",
            "must be one of off, hints-only, full",
        ),
    ],
)
def test_malformed_course_file_names_file_field_and_problem(
    course_copy, change, field, problem, edit_course_yml
):
    edit_course_yml(course_copy, change)
    with pytest.raises(CourseFileError) as error:
        load_course(course_copy)
    assert error.value.path == str(course_copy / "course.yml")
    assert error.value.field_name == field
    assert problem in error.value.problem
    assert str(course_copy / "course.yml") in str(error.value)


def test_yaml_syntax_error_is_reported_for_the_file(course_copy):
    (course_copy / "course.yml").write_text("slug: [unclosed\n")
    with pytest.raises(CourseFileError, match="not valid YAML") as error:
        load_course(course_copy)
    assert error.value.field_name == "(file)"


def test_missing_course_file_is_reported(tmp_path):
    with pytest.raises(CourseFileError, match="not found"):
        load_course(tmp_path)


def test_broken_assignment_notebook_is_reported(course_copy):
    (course_copy / "source" / "ps2-functions" / "ps2-functions.ipynb").write_text("{not json")
    with pytest.raises(CourseFileError, match=r"ps2-functions\.ipynb is not a valid notebook"):
        load_course(course_copy)


def test_bare_off_in_yaml_means_tutor_off(course_copy, edit_course_yml):
    edit_course_yml(course_copy, lambda d: d["assignments"][0].update(tutor=False))
    assert load_course(course_copy).assignments[0].tutor == "off"
