"""The solution-leak guard against the demo course's real solution regions."""

from __future__ import annotations

import json

import pytest

from courses.solutions import outside_solutions, solution_regions
from tests.unit.tutor.conftest import COURSES
from tutor.guard import SolutionIndex, region


def stream(index: SolutionIndex, reply: str, size: int, learner_code: str = ""):
    """Feed ``reply`` in pieces of ``size``; the text shown and the guard."""
    guard = index.guard(learner_code)
    shown = "".join(guard.feed(reply[i : i + size]) for i in range(0, len(reply), size))
    shown += guard.finish()
    return shown, guard


def source_cells(course: str, assignment: str) -> dict[str, str]:
    path = COURSES / course / "source" / assignment / f"{assignment}.ipynb"
    cells = json.loads(path.read_text())["cells"]
    return {
        c["metadata"]["nbgrader"]["grade_id"]: "".join(c["source"])
        for c in cells if c["metadata"].get("nbgrader", {}).get("solution")
    }


ALL_ANSWER_CELLS = [
    (assignment, cell_id, source)
    for assignment in ("ps1-basics", "ps2-functions", "ps3-data-structures")
    for cell_id, source in source_cells("python-101", assignment).items()
]


def test_every_solution_region_of_the_course_is_known(solutions):
    cells = {(r.assignment, r.cell_id) for r in solutions.regions}
    assert cells == {(a, c) for a, c, _source in ALL_ANSWER_CELLS}
    assert len(solutions.regions) == 10  # ps2-collatz-answer holds two functions


@pytest.mark.parametrize("size", [1, 3, 7, 40, 10_000])
@pytest.mark.parametrize(("assignment", "cell_id", "source"), ALL_ANSWER_CELLS,
                         ids=[c for _a, c, _s in ALL_ANSWER_CELLS])
def test_a_reply_holding_a_whole_answer_cell_is_cut_in_any_chunking(
    solutions, assignment, cell_id, source, size
):
    mine = next(r for r in solutions.regions if (r.assignment, r.cell_id) == (assignment, cell_id))
    reply = f"Sure! Here is the complete answer:\n\n```python\n{source}\n```\nGood luck!"
    shown, guard = stream(solutions, reply, size)
    assert guard.leak is not None  # (perhaps first as another cell's: lines can be alike)
    for leaked in {guard.leak.region, mine}:
        compared = [line.text for line in leaked.lines]
        assert sum(line in shown for line in compared) < leaked.needed, shown


@pytest.mark.parametrize("size", [1, 2, 5, 9])
def test_a_solution_line_split_across_chunks_is_never_shown_past_its_first_word(solutions, size):
    reply = "Try this:\n    return celsius * 9 / 5 + 32\nand run the tests."
    shown, guard = stream(solutions, reply, size)
    assert guard.leak is not None and guard.leak.region.cell_id == "ps1-celsius-answer"
    before = "Try this:\n    "
    assert shown.startswith(before) and "return ".startswith(shown[len(before):]), shown


def test_renamed_variables_and_other_spacing_still_leak(solutions):
    assert solutions.leak_in("def f(c):\n    return c*9/5+32") is not None
    assert solutions.leak_in("`for w in name.split():` then `out += w[0].upper()`") is not None


def test_quotes_of_either_kind_are_the_same_string(solutions):
    reply = ("if s < 0 or s > 100:\n    raise ValueError('score must be between 0 and 100')\n"
             "if s >= 90:\n    return 'A'")
    assert solutions.leak_in(reply).region.cell_id == "ps1-grade-answer"


def test_a_long_region_leaks_only_when_half_its_lines_are_shown(solutions):
    two_lines = "Compare from the top: `if score >= 90:` gives an A, `elif score >= 80:` a B ..."
    assert solutions.leak_in(two_lines) is None
    three = two_lines + " and `elif score >= 70:` a C."
    assert solutions.leak_in(three).region.cell_id == "ps1-grade-answer"


def test_teaching_in_words_passes_untouched(solutions):
    replies = [
        "Multiply the temperature by nine fifths first, then add 32. What does 0 °C give?",
        "Your function prints the result but does not return it: `print` only shows a value.",
        "Split the name into words (look up the string method `split`), then take the first "
        "letter of each word. What does `'ada lovelace'.split()` give you?",
        "Here is a loop over a different list:\n```python\nfor fruit in ['apple', 'pear']:\n"
        "    print(fruit.upper())\n```",
        "Your test failed: `assert celsius_to_fahrenheit(100) == 212` expects 212.",
    ]
    for reply in replies:
        for size in (1, 4, 1000):
            shown, guard = stream(solutions, reply, size)
            assert guard.leak is None, reply
            assert shown == reply


def test_the_learners_own_lines_do_not_count(solutions):
    mine = "def celsius_to_fahrenheit(celsius):\n    return celsius * 9 / 5 + 32\n"
    reply = "Your line `return celsius * 9 / 5 + 32` is right; the test fails for another reason."
    shown, guard = stream(solutions, reply, 5, learner_code=mine)
    assert guard.leak is None and shown == reply
    assert solutions.leak_in(reply) is not None  # for anyone who had not written it


def test_lines_too_short_to_give_anything_away_are_not_compared():
    index = SolutionIndex([region("a", "c", ["else:", "    return result", "pass"], code=True)])
    assert not index
    assert index.leak_in("else:\n    return result") is None


def test_a_written_answer_region_is_compared_word_for_word():
    index = SolutionIndex([region("a", "why", [
        "Lists are mutable, so the function changes the caller's list in place."], code=False)])
    assert index.leak_in("> lists are mutable, so the function changes the caller's list "
                         "in place.") is not None
    assert index.leak_in("Think about whether lists can be changed after creation.") is None


def test_prose_passes_at_once_even_when_a_chunk_ends_mid_word(solutions):
    guard = solutions.guard()
    assert guard.feed("Look at the boundaries of ") == "Look at the boundaries of "
    assert guard.feed("each ban") == "each ban"
    assert guard.feed("d.") == "d."
    assert guard.finish() == ""


def test_the_start_of_a_solution_line_is_held_until_it_is_decided(solutions):
    guard = solutions.guard()
    assert guard.feed("Then write for word in") == "Then write "
    assert guard.feed(" the list, print it.") == "for word in the list, print it."


def test_a_string_cut_by_the_chunk_keeps_its_line_held(solutions):
    guard = solutions.guard()
    assert guard.feed('First:\n    raise ValueError("score must be') == "First:\n    "
    assert guard.feed(' positive")\n') == 'raise ValueError("score must be positive")\n'


def test_nothing_more_is_released_once_a_region_leaked(solutions):
    guard = solutions.guard()
    guard.feed("return celsius * 9 / 5 + 32\n")
    assert guard.leak is not None
    assert guard.feed("more text") == ""
    assert guard.finish() == ""


def test_solution_markers_are_nbgraders():
    source = "def f():\n    ### BEGIN SOLUTION\n    return 1 + 2 + 3\n    ### END SOLUTION\n"
    assert solution_regions(source) == [["    return 1 + 2 + 3"]]
    assert solution_regions("no markers here") == []


def test_outside_solutions_keeps_the_rest_and_puts_a_placeholder_where_a_region_was():
    source = "def f(x):\n    ### BEGIN SOLUTION\n    return x * 2\n    ### END SOLUTION\nprint(f)"

    assert outside_solutions(source) == "def f(x):\nprint(f)"
    assert outside_solutions(source, "    raise NotImplementedError()\n") == (
        "def f(x):\n    raise NotImplementedError()\nprint(f)"
    )
