"""Where a request belongs: placed by the ids and text it shows, checked against the course
files; the policy is the strictest of every place it shows, and a request placed nowhere gets
the strictest policy of the caller's courses (``Tutor.decide``, no hub, course.yml policies)."""

from __future__ import annotations

import asyncio

import pytest

from servicekit.errors import ServiceError
from servicekit.hub_auth import Caller
from tests.support.notebook_requests import about_cell, identity, lesson_cells, released_cells
from tests.support.second_course import ASSIGNMENT as DA1
from tests.support.second_course import courses_with_a_second_course
from tutor.ask import parse
from tutor.course_data import CourseLibrary
from tutor.limits import Limits
from tutor.placement import Shown
from tutor.policy import PolicySource
from tutor.settings import Settings
from tutor.tutoring import Tutor, shown_by

PS1, PS2, PS3 = "ps1-basics", "ps2-functions", "ps3-data-structures"


@pytest.fixture(scope="module")
def courses(tmp_path_factory):
    return courses_with_a_second_course(tmp_path_factory.mktemp("courses"))


@pytest.fixture(scope="module")
def library(courses):
    return CourseLibrary(courses)


@pytest.fixture(scope="module")
def tutor(courses, library, tmp_path_factory):
    settings = Settings.from_env({"STUDIO_VAR_DIR": str(tmp_path_factory.mktemp("var")),
                                  "STUDIO_COURSES_DIR": str(courses)})
    return Tutor(settings, None, library, PolicySource("", "", 30), None, None)


def learner(*courses: str) -> Caller:
    return Caller("grace", groups=frozenset(f"nbgrader-{c}" for c in courses))


def ids_of(assignment: str) -> Shown:
    found = identity(released_cells("python-101", assignment))
    return Shown(frozenset(found["cell_ids"]), frozenset(found["grade_ids"]))


def text_of(assignment: str) -> Shown:
    cells = released_cells("python-101", assignment)
    fields = about_cell(cells, 2)
    return Shown(text=f"{fields['cell_source']}\n{fields['context_markdown']}")


def decide(tutor, caller, shown, course="python-101", assignment=None):
    return asyncio.run(tutor.decide(caller, course, assignment, shown))


# -- the index --------------------------------------------------------------------------------


@pytest.mark.parametrize("assignment", [PS1, PS2, PS3])
def test_a_notebooks_ids_place_it_in_its_assignment(library, assignment):
    assert library.get("python-101").places.places(ids_of(assignment)) == {
        ("assignment", assignment)}


@pytest.mark.parametrize("assignment", [PS1, PS2, PS3])
def test_the_text_of_an_answer_cell_places_it_in_its_assignment(library, assignment):
    assert library.get("python-101").places.places(text_of(assignment)) == {
        ("assignment", assignment)}


def test_a_lessons_cell_ids_place_it_in_the_lesson(library):
    cells = lesson_cells("python-101", "lessons/01-basics.ipynb")
    shown = Shown(frozenset(identity(cells)["cell_ids"]))
    assert library.get("python-101").places.places(shown) == {("lesson", "basics")}


def test_text_of_no_notebook_places_nothing(library):
    places = library.get("python-101").places
    assert places.places(Shown(text="What is a float, and why does 0.1 + 0.2 differ?")) == set()
    assert places.places(Shown(cell_ids=frozenset({"ps9-01", "a4b7c1"}))) == set()


def test_one_run_of_words_is_not_enough_to_place_a_request(library):
    one_run = "mapping each lower-cased word of text to"  # eight words of ps3's docstring
    assert library.get("python-101").places.places(Shown(text=one_run)) == set()
    two_runs = "mapping each lower-cased word of text to how"
    assert library.get("python-101").places.places(Shown(text=two_runs)) == {
        ("assignment", PS3)}


def test_a_solution_places_nothing_learners_copies_have_none(library):
    shown = Shown(text="    words = [w.strip(string.punctuation).lower() for w in text.split()]\n"
                       "    counts = {}\n    for word in words:\n"
                       "        counts[word] = counts.get(word, 0) + 1\n")
    assert library.get("python-101").places.places(shown) == set()


def test_text_shared_by_several_notebooks_places_nothing(library):
    shared = ("**How it works.** Replace `raise NotImplementedError()` in each answer cell with "
              "your code, keeping the function names and parameters exactly as given.")
    assert library.get("python-101").places.places(Shown(text=shared)) == set()  # ps2's, ps3's


# -- the decision -----------------------------------------------------------------------------


@pytest.mark.parametrize(("assignment", "policy"),
                         [(PS1, "full"), (PS2, "hints-only"), (PS3, "off")])
def test_a_placed_request_gets_its_assignments_policy_with_or_without_the_name(
    tutor, assignment, policy
):
    unnamed = decide(tutor, learner("python-101"), ids_of(assignment))
    named = decide(tutor, learner("python-101"), ids_of(assignment), assignment=assignment)
    assert (unnamed.policy, unnamed.assignment.name) == (policy, assignment)
    assert (named.policy, named.assignment.name) == (policy, assignment)


@pytest.mark.parametrize(("shown", "named", "policy"),
                         [(PS3, PS1, "off"), (PS2, PS1, "hints-only"), (PS1, PS2, "hints-only"),
                          (PS1, PS3, "off")])
def test_a_wrong_name_gets_the_stricter_of_it_and_the_notebook(tutor, shown, named, policy):
    decision = decide(tutor, learner("python-101"), ids_of(shown), assignment=named)
    assert decision.policy == policy


def test_ids_of_one_assignment_and_text_of_another_get_the_stricter(tutor):
    forged = Shown(ids_of(PS1).cell_ids, ids_of(PS1).grade_ids, text_of(PS3).text)
    decision = decide(tutor, learner("python-101"), forged, assignment=PS1)
    assert (decision.policy, decision.assignment.name) == ("off", PS3)
    assert decision.message.startswith("The tutor is off for “Problem set 3: Data structures”")


def test_a_name_alone_places_nothing(tutor):
    decision = decide(tutor, learner("python-101"), Shown(text="Why?"), assignment=PS1)
    assert (decision.policy, decision.assignment) == ("off", None)
    assert decision.message.startswith(
        "The tutor cannot tell which assignment this notebook belongs to, and it is off for "
        "“Problem set 3: Data structures”")


def test_a_request_placed_nowhere_gets_the_strictest_policy_of_all_the_callers_courses(tutor):
    only_data = decide(tutor, learner("data-201"), Shown(), course="data-201")
    assert only_data.policy == "full"  # data-201 has nothing stricter, nor the default
    both = decide(tutor, learner("data-201", "python-101"), Shown(), course="data-201")
    assert both.policy == "off"
    assert "“Problem set 3: Data structures” (python-101)" in both.message


def test_a_lesson_is_placed_and_gets_the_default_policy(tutor):
    cells = lesson_cells("python-101", "lessons/03-functions.ipynb")
    decision = decide(tutor, learner("python-101"),
                      Shown(frozenset(identity(cells)["cell_ids"])))
    assert (decision.policy, decision.assignment) == ("full", None)
    assert [(place.course, place.title) for place in decision.places] == [
        ("python-101", "“Functions”")]


def test_a_notebook_of_another_of_the_callers_courses_gets_that_courses_policy(tutor):
    caller = learner("data-201", "python-101")
    decision = decide(tutor, caller, ids_of(PS3), course="data-201", assignment=DA1)
    assert (decision.policy, decision.course, decision.assignment.name) == (
        "off", "python-101", PS3)
    hints_only = decide(tutor, caller, ids_of(PS2), course="data-201", assignment=DA1)
    assert (hints_only.policy, hints_only.course) == ("hints-only", "python-101")


def test_a_notebook_of_a_course_the_caller_is_not_in_places_nothing(tutor):
    decision = decide(tutor, learner("data-201"), ids_of(PS1), course="data-201")
    assert decision.places == ()


def test_naming_an_assignment_the_course_does_not_have_is_404(tutor):
    with pytest.raises(ServiceError) as refused:
        decide(tutor, learner("data-201", "python-101"), ids_of(PS1), assignment=DA1)
    assert refused.value.status == 404


def test_a_hint_requests_answer_cell_id_places_it(tutor):
    request = parse({"mode": "hint", "course": "python-101", "cell_id": "ps2-clamp-answer"})
    decision = decide(tutor, learner("python-101"), shown_by(request))
    assert (decision.policy, decision.assignment.name) == ("hints-only", PS2)


def test_a_notebook_of_no_listed_assignment_is_placed_nowhere(tmp_path):
    """A draft's notebook in source/ that course.yml does not list has no policy: a request
    showing only it gets the strictest policy of the caller's courses, all of them read."""
    courses = courses_with_a_second_course(tmp_path)
    draft = courses / "data-201" / "source" / "da9-draft"
    draft.mkdir()
    (draft / "da9-draft.ipynb").write_text(
        '{"cells": [{"id": "da9-01", "cell_type": "markdown", "source": "# Draft",'
        ' "metadata": {}}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    settings = Settings.from_env({"STUDIO_VAR_DIR": str(tmp_path), "STUDIO_COURSES_DIR":
                                  str(courses)})
    tutor = Tutor(settings, None, CourseLibrary(courses), PolicySource("", "", 30), None, None)
    decision = decide(tutor, learner("data-201", "python-101"),
                      Shown(cell_ids=frozenset({"da9-01"})), course="data-201")
    assert (decision.policy, decision.places) == ("off", ())


# -- "Ask the class": where the panel's draft goes (GET status) -------------------------------


@pytest.fixture(scope="module")
def tutor_with_limits(courses, library, tmp_path_factory):
    settings = Settings.from_env({"STUDIO_VAR_DIR": str(tmp_path_factory.mktemp("var")),
                                  "STUDIO_COURSES_DIR": str(courses)})
    limits = Limits(10, 100, lambda learner, since: 0)
    return Tutor(settings, None, library, PolicySource("", "", 30), limits, None)


def status(tutor, caller, shown, course="python-101", assignment=None):
    return asyncio.run(tutor.status(caller, course, assignment, shown))


def test_status_says_where_to_ask_the_class_about_an_assignments_notebook(tutor_with_limits):
    answer = status(tutor_with_limits, learner("python-101"), ids_of(PS2))
    assert answer["ask_class"] == {
        "url": "http://127.0.0.1:8000/courses/python-101/board/ask/", "about": PS2}


def test_status_anchors_a_lessons_notebook_to_the_lesson_page(tutor_with_limits):
    cells = lesson_cells("python-101", "lessons/03-functions.ipynb")
    shown = Shown(frozenset(identity(cells)["cell_ids"]))
    answer = status(tutor_with_limits, learner("python-101"), shown)
    assert answer["ask_class"]["about"] == "functions"


def test_ask_the_class_goes_to_the_board_of_the_course_the_notebook_belongs_to(tutor_with_limits):
    both = learner("data-201", "python-101")
    answer = status(tutor_with_limits, both, ids_of(PS3), course="data-201")
    assert answer["ask_class"] == {
        "url": "http://127.0.0.1:8000/courses/python-101/board/ask/", "about": PS3}


def test_a_notebook_placed_nowhere_asks_the_class_of_its_course_about_nothing(tutor_with_limits):
    both = learner("data-201", "python-101")
    answer = status(tutor_with_limits, both, Shown(), course="data-201")
    assert answer["ask_class"] == {
        "url": "http://127.0.0.1:8000/courses/data-201/board/ask/", "about": None}


def test_a_notebook_showing_two_places_anchors_to_none(tutor_with_limits):
    shown = Shown(ids_of(PS1).cell_ids | ids_of(PS2).cell_ids)
    assert status(tutor_with_limits, learner("python-101"), shown)["ask_class"]["about"] is None
