"""The shared course.yml reader: every malformed file is refused with file, field and problem."""

from __future__ import annotations

import re

import pytest

from courses import course_file
from courses.course_file import (
    AssignmentSpec,
    CourseFileError,
    CourseSpec,
    LatePolicy,
    LessonSpec,
    PeerReview,
    RubricCriterion,
    RubricLevel,
    file_keys,
    load_course,
)

SPECS = (CourseSpec, LessonSpec, AssignmentSpec, LatePolicy, PeerReview, RubricCriterion,
         RubricLevel)


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


def test_a_key_given_twice_is_refused_with_its_line(course_copy):
    text = (course_copy / "course.yml").read_text()
    (course_copy / "course.yml").write_text(text + "enrollment: closed\nenrollment: open\n")
    with pytest.raises(CourseFileError, match="not valid YAML") as error:
        load_course(course_copy)
    assert "the key 'enrollment' appears twice in one mapping" in error.value.problem
    assert "line" in error.value.problem


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


def rename(mapping: dict, old: str, new: str) -> None:
    mapping[new] = mapping.pop(old)


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        # misspelt: the nearest key of that level
        (lambda d: d.update(enrolment="closed"), "enrolment", "did you mean enrollment?"),
        (lambda d: rename(d, "summary", "Summary"), "Summary", "did you mean summary?"),
        (
            lambda d: rename(d["lessons"][1], "notebook", "notebok"),
            "lessons[1].notebok",
            "did you mean notebook?",
        ),
        (
            lambda d: rename(d["assignments"][0], "due", "due_at"),
            "assignments[0].due_at",
            "did you mean due?",
        ),
        (
            lambda d: rename(d["assignments"][0]["late_policy"], "cutoff_days", "cutoff_day"),
            "assignments[0].late_policy.cutoff_day",
            "did you mean cutoff_days?",
        ),
        # nothing close: the known keys of that level
        (
            lambda d: d["lessons"][0].update(video="intro.mp4"),
            "lessons[0].video",
            "the keys here are slug, title, notebook, summary",
        ),
        (
            lambda d: d["assignments"][1].update(deadline="2027-02-28T23:59:00+00:00"),
            "assignments[1].deadline",
            "the keys here are name, title, points, summary, release, due, late_policy, tutor, "
            "hints, peer_review",
        ),
        (
            lambda d: d["assignments"][0]["late_policy"].update(grace=2),
            "assignments[0].late_policy.grace",
            "the keys here are mode, percent_per_day, cutoff_days",
        ),
    ],
)
def test_unknown_key_is_refused_with_its_path_and_the_nearest_or_the_known_keys(
    course_copy, edit_course_yml, change, field, problem
):
    edit_course_yml(course_copy, change)
    with pytest.raises(CourseFileError) as error:
        load_course(course_copy)
    assert str(error.value) == f"{course_copy / 'course.yml'}: {field}: unknown key; {problem}"


def test_every_key_a_level_allows_is_read(python101_dir, monkeypatch):
    """The allowed keys are the spec dataclasses' fields: a field the reader forgot to read would
    be a key accepted and ignored, the very thing strictness is for."""
    read: dict[type, set[str]] = {spec: set() for spec in SPECS}
    original_get = course_file._Fields.get

    def recording_get(self, key, default=None):
        read[self.spec].add(key)
        return original_get(self, key, default)

    monkeypatch.setattr(course_file._Fields, "get", recording_get)
    load_course(python101_dir)
    assert read == {spec: set(file_keys(spec)) for spec in SPECS}


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.__name__)
def test_schema_docstring_shows_every_allowed_key(spec):
    schema = course_file.__doc__.split("Schema", 1)[1]
    missing = [key for key in file_keys(spec) if not re.search(rf"\b{key}\??:", schema)]
    assert missing == []
