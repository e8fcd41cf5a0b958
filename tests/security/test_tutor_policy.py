"""Each tutor policy holds whatever the request says: the tutor places a question by what its
notebook shows (ids and text, checked against the course files), never by the client's
``course`` or ``assignment`` alone.

Each problem set of the demo course has a policy: ps1 ``full``, ps2 ``hints-only``, ps3 ``off``.
A request about an answer cell of one of them, as the JupyterLab extension sends it, is asked
with the assignment omitted, wrong, of another course, with forged fields, and from a copy of
the notebook saved elsewhere. Every test checks what the learner got: for ``off`` the refusal
and its sentence (the model never hears of it); for ``hints-only`` a reply without code, after
the notice saying so, from a model told to write none; for ``full`` the model's code example.
The fake model behaves like a model that follows its instructions: a short code example when
the policy allows code, a hint in words when it does not.
"""

from __future__ import annotations

import pytest

from tests.support.assignments import solutions
from tests.support.notebook_requests import (
    about_cell,
    identity,
    index_of,
    released_cells,
    status_query,
)
from tests.support.second_course import ASSIGNMENT as DA1
from tests.support.second_course import ASSIGNMENT_CELLS as DA1_CELLS
from tests.support.second_course import LESSON_CELLS as DATA_LESSON_CELLS

pytestmark = [pytest.mark.slow]

COURSE = "python-101"
# policy -> (problem set, the answer cell asked about)
NOTEBOOKS = {
    "off": ("ps3-data-structures", "ps3-frequencies-answer"),
    "hints-only": ("ps2-functions", "ps2-clamp-answer"),
    "full": ("ps1-basics", "ps1-celsius-answer"),
}
POLICIES = list(NOTEBOOKS)
QUESTION = "How do I start on this one?"

CODE_EXAMPLE = "For example:\n\n```python\nprices = [3, 4]\ntotal = sum(prices)\n```\n"
WORDS_ONLY = "Which built-in adds up a list? Try it on two numbers first."
OBEYS = {  # what the system prompt allows (tutor/prompts.py) -> what the model writes
    "Policy for this assignment: full tutoring": CODE_EXAMPLE,
    "Policy for this assignment: hints only": WORDS_ONLY,
}
HINTS_ONLY_NOTICE = "For this assignment the tutor gives hints only, without code."


@pytest.fixture(autouse=True)
def a_model_that_follows_its_policy(fresh_fakes, fake_model):
    fake_model.obey.update(OBEYS)


def notebook(policy: str) -> list[dict]:
    return released_cells(COURSE, NOTEBOOKS[policy][0])


def chat(policy: str, **fields) -> dict:
    """A chat question about the answer cell of ``policy``'s problem set, as the extension
    sends it from the learner's copy (the notebook's ids, the cell, the markdown before it),
    with ``fields`` changed."""
    cells = notebook(policy)
    return {"mode": "chat", "course": COURSE, "question": QUESTION,
            **about_cell(cells, index_of(cells, NOTEBOOKS[policy][1])), **fields}


def stricter(a: str, b: str) -> str:
    return min(a, b, key=POLICIES.index)


def assert_got(asked, policy: str, fake_model, says: str | None = None) -> None:
    """The learner got what ``policy`` gives, and nothing more."""
    if policy == "off":
        assert asked.status == 403, asked.events
        assert asked.error["error"] == "tutor-off"
        assert asked.error["message"].startswith(says or "The tutor is off for ")
        assert fake_model.requests == []  # the model never heard of it
        return
    assert asked.status == 200, asked.error
    assert asked.last["type"] == "done", asked.events
    (request,) = fake_model.requests
    system = request["messages"][0]["content"]
    if policy == "hints-only":
        assert asked.notices == [HINTS_ONLY_NOTICE]
        assert "hints only. Do not write any code at all" in system
        assert asked.text == WORDS_ONLY and "```" not in asked.text
    else:
        assert HINTS_ONLY_NOTICE not in asked.notices
        assert asked.text == CODE_EXAMPLE


@pytest.mark.parametrize("policy", POLICIES)
def test_a_placed_question_gets_its_assignments_policy_when_it_names_it(
    policy_tutor, fake_model, policy
):
    asked = policy_tutor.ask("mallory", **chat(policy, assignment=NOTEBOOKS[policy][0]))
    assert_got(asked, policy, fake_model,
               "The tutor is off for “Problem set 3: Data structures”: your instructors")


@pytest.mark.parametrize("policy", POLICIES)
def test_the_policy_holds_with_the_assignment_omitted(policy_tutor, fake_model, policy):
    assert_got(policy_tutor.ask("mallory", **chat(policy, assignment=None)), policy,
               fake_model)


@pytest.mark.parametrize(("policy", "named"), [
    ("off", "ps1-basics"),                # naming a `full` problem set gives no more
    ("hints-only", "ps1-basics"),
    ("full", "ps2-functions"),            # naming a stricter one gives less, never more
])
def test_a_wrong_assignment_of_the_same_course_gets_the_stricter_policy(
    policy_tutor, fake_model, policy, named
):
    named_policy = next(p for p, (name, _cell) in NOTEBOOKS.items() if name == named)
    asked = policy_tutor.ask("mallory", **chat(policy, assignment=named))
    assert_got(asked, stricter(policy, named_policy), fake_model)


@pytest.mark.parametrize("policy", POLICIES)
def test_naming_an_assignment_of_another_course_gives_no_more_than_the_notebook(
    policy_tutor, fake_model, policy
):
    """eve is in both courses: she asks in data-201, naming its ``full`` assignment, about a
    python-101 notebook."""
    asked = policy_tutor.ask("eve", **chat(policy, course="data-201", assignment=DA1))
    assert_got(asked, policy, fake_model)


def test_an_assignment_of_another_course_is_no_assignment_of_this_one(policy_tutor,
                                                                     fake_model):
    not_here = policy_tutor.ask("mallory", **chat("off", assignment=DA1))
    assert (not_here.status, not_here.error["error"]) == (404, "not-found")
    not_theirs = policy_tutor.ask("mallory", **chat("off", course="data-201", assignment=DA1))
    assert (not_theirs.status, not_theirs.error["error"]) == (403, "forbidden")
    assert fake_model.requests == []


@pytest.mark.parametrize("policy", POLICIES)
def test_forged_course_assignment_and_cell_ids_do_not_lift_the_policy(
    policy_tutor, fake_model, policy
):
    """Every field the client controls claims ps1 (``full``): the assignment, the answer
    cell's id, the notebook's cell and grade ids. Only what the learner asks about, the cell
    and the markdown before it, is the notebook's own."""
    ps1 = released_cells(COURSE, "ps1-basics")
    forged = chat(policy, assignment="ps1-basics", cell_id="ps1-celsius-answer",
                  notebook="python-101/ps1-basics/ps1-basics.ipynb", **identity(ps1))
    assert_got(policy_tutor.ask("mallory", **forged), policy, fake_model)


@pytest.mark.parametrize("policy", POLICIES)
def test_a_forged_course_with_that_courses_ids_does_not_lift_the_policy(
    policy_tutor, fake_model, policy
):
    """eve claims data-201's ``full`` assignment by its course, name, ids and answer cell,
    and asks about a python-101 problem's cell and text."""
    forged = chat(policy, course="data-201", assignment=DA1, cell_id="da1-average-answer",
                  notebook="data-201/da1-tables/da1-tables.ipynb", **identity(DA1_CELLS))
    assert_got(policy_tutor.ask("eve", **forged), policy, fake_model)


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize(("learner", "course", "path"), [
    ("mallory", COURSE, "python-101/my-copy.ipynb"),
    ("eve", "data-201", "data-201/my-copy.ipynb"),
])
def test_a_notebook_copied_outside_its_folder_keeps_its_policy(
    policy_tutor, fake_model, policy, learner, course, path
):
    """Saved outside ``<course>/<assignment>/``, the extension names no assignment (and the
    course of the folder it is in); the notebook's ids and text still place it."""
    asked = policy_tutor.ask(learner, **chat(policy, course=course, assignment=None,
                                             notebook=path))
    assert_got(asked, policy, fake_model)
    query = f"status?course={course}" + status_query(identity(notebook(policy)))
    assert policy_tutor.call(learner, "GET", query).json()["policy"] == policy


@pytest.mark.parametrize(("learner", "course", "policy"), [
    ("mallory", COURSE, "off"),         # python-101 has an `off` problem set
    ("eve", "data-201", "off"),         # ... and eve is in python-101 too
    ("dana", "data-201", "full"),       # data-201 has nothing stricter than `full`
])
def test_a_question_placed_nowhere_gets_the_strictest_policy_of_the_callers_courses(
    policy_tutor, fake_model, learner, course, policy
):
    scratch = {"mode": "chat", "course": course, "assignment": None, "question": QUESTION,
               "notebook": f"{course}/Untitled.ipynb", "cell_source": "x = 1",
               "cell_ids": ["7f3c9e2a-0b1d-4c5e-9a8f-1b2c3d4e5f60"], "grade_ids": []}
    asked = policy_tutor.ask(learner, **scratch)
    assert_got(asked, policy, fake_model,
               "The tutor cannot tell which assignment this notebook belongs to, and it is "
               "off for “Problem set 3: Data structures”")


def test_a_name_alone_places_no_question(policy_tutor, fake_model):
    """The extension's old request from a notebook it placed by its path alone: no ids."""
    asked = policy_tutor.ask("mallory", mode="chat", assignment="ps1-basics",
                             question=QUESTION, cell_source="x = 1")
    assert_got(asked, "off", fake_model, "The tutor cannot tell which assignment")


def test_a_lesson_of_another_course_is_placed_there(policy_tutor, fake_model):
    asked = policy_tutor.ask("eve", mode="chat", course="data-201", question=QUESTION,
                             **identity(DATA_LESSON_CELLS))
    assert_got(asked, "full", fake_model)


def test_the_exchange_is_logged_where_the_tutor_placed_it(policy_tutor, fake_model):
    asked = policy_tutor.ask("eve", **chat("hints-only", course="data-201", assignment=DA1))
    assert asked.last["type"] == "done", asked.error
    (logged, *_older) = policy_tutor.call("eve", "GET",
                                          "history?course=python-101").json()["exchanges"]
    assert (logged["id"], logged["course"], logged["assignment"]) == (
        asked.last["exchange_id"], "python-101", "ps2-functions")


def test_a_reply_is_guarded_against_the_solutions_of_all_the_callers_courses(
    policy_tutor, fake_model
):
    """eve asks in data-201, from its lesson, for python-101's ps1 solution; the model obeys."""
    solution = solutions(COURSE, "ps1-basics")["ps1-initials-answer"]
    fake_model.obey.clear()
    fake_model.obey["print initials"] = f"Sure:\n```python\n{solution}\n```\n"
    asked = policy_tutor.ask("eve", mode="chat", course="data-201",
                             question="Please print initials from python-101.",
                             **identity(DATA_LESSON_CELLS))
    assert asked.last["refused"] is True
    assert ".split()" not in asked.text and "word[0]" not in asked.text
