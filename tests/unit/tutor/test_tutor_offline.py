"""Offline mode: common Python exceptions explained from the traceback and the cell, and the
instructors' hints given one at a time."""

from __future__ import annotations

import json
import re

import pytest

from tests.support.python_errors import MISTAKES, error_output
from tests.support.studio import ROOT
from tutor.ask import parse
from tutor.offline import EXPLAINERS, explain, hint, ranked_hints

COURSES = ROOT / "courses"

REQUIRED = [
    "NameError", "TypeError", "ValueError", "IndexError", "KeyError", "AttributeError",
    "ZeroDivisionError", "ImportError", "ModuleNotFoundError", "SyntaxError",
    "IndentationError", "RecursionError", "AssertionError", "FileNotFoundError",
    "UnboundLocalError", "StopIteration", "OverflowError", "MemoryError", "KeyboardInterrupt",
    "NotImplementedError", "TabError", "UnicodeDecodeError", "RuntimeError",
]


def explained(source: str) -> str:
    output = error_output(source)
    request = parse({"mode": "explain", "course": "python-101", "cell_source": source,
                     "error": output})
    assert request.error is not None
    return explain(request.error, source)


def test_at_least_twenty_common_exceptions_have_their_own_explanation():
    assert set(REQUIRED) <= set(EXPLAINERS)
    assert len(EXPLAINERS) >= 20
    assert set(REQUIRED) <= {m.ename for m in MISTAKES}


@pytest.mark.parametrize("mistake", MISTAKES, ids=[m.ename for m in MISTAKES])
def test_each_exception_is_explained_in_plain_language_from_its_traceback(mistake):
    output = error_output(mistake.source)
    assert output["ename"] == mistake.ename
    text = explained(mistake.source)
    assert text.startswith(f"**{mistake.ename}**")
    assert "no explanation for" not in text  # its own, not the generic guide
    assert "**What it means.**" in text and "**What to check**" in text
    assert mistake.says in text, text
    assert "\x1b[" not in text  # the terminal colours are gone


def test_the_failing_line_is_shown_from_the_traceback_arrow():
    text = explained("prices = {'tea': 2}\ntotal = prices['tea']\ntotal += prices['cake']")
    assert "line 3 of the cell" in text
    assert "total += prices['cake']" in text


def test_the_line_of_a_syntax_error_comes_from_the_frame_header():
    text = explained("x = 1\nif x == 1\n    print(x)")
    assert "line 2 of the cell" in text and "if x == 1" in text


def test_the_innermost_frame_in_the_cell_is_where_it_happened():
    text = explained("def half(n):\n    return n / 0\n\nhalf(4)")
    assert "line 2 of the cell" in text and "return n / 0" in text


def test_a_name_error_suggests_a_similar_name_from_the_cell():
    text = explained("greeting = 'hi'\nprint(greting)")
    assert "Did you mean `greeting`?" in text


def test_an_exception_without_its_own_explanation_gets_a_guide_to_tracebacks():
    request = parse({"mode": "explain", "course": "python-101", "error": {
        "ename": "BrokenWidgetError", "evalue": "the widget broke", "traceback": []}})
    text = explain(request.error, "")
    assert text.startswith("**BrokenWidgetError**: `the widget broke`")
    assert "last line of the traceback" in text


def test_hints_come_one_at_a_time_and_start_over():
    hints = ["First think.", "Then try.", "Then test."]
    assert hint(hints, 0).startswith("**Hint 1 of 3** (from your instructors)\n\nFirst think.")
    assert "Then try." in hint(hints, 1)
    assert "First think." in hint(hints, 3)
    assert "Ask for a hint again" in hint(hints, 0)


def test_without_hints_the_learner_is_told_how_to_help_themselves():
    assert "have not written hints" in hint([], 0)


def test_the_cells_own_hints_come_first_then_the_nearest_assignment_hints(python101):
    ps1 = python101.assignments["ps1-basics"]
    ranked = ranked_hints(("Read the docstring.",), ps1.hints,
                          "def initials(full_name):\n    raise NotImplementedError()",
                          "## Problem 2 — Initials\nWrite initials(full_name) ...")
    assert ranked[0] == "Read the docstring."
    assert ranked[1].startswith("For initials")
    assert set(ranked[1:]) == set(ps1.hints)


# Each answer cell of python-101 -> the start of the course.yml hint written for it.
HINT_FOR_CELL = {
    "ps1-celsius-answer": "For the temperature conversion",
    "ps1-initials-answer": "For initials",
    "ps1-grade-answer": ("In letter_grade", "Watch the boundaries"),
    "ps2-clamp-answer": "clamp has three cases",
    "ps2-greeting-answer": "make_greeting must return",
    "ps2-collatz-answer": "Let collatz_steps call",
    "ps3-frequencies-answer": "In word_frequencies",
    "ps3-common-answer": "Sets are made for common_elements",
    "ps3-invert-answer": "For invert_dict",
}


def released_answer_cells(assignment: str) -> list[tuple[str, str, str]]:
    """(grade id, the cell as the learner gets it, the markdown before it as the panel sends
    it: every markdown cell before, joined by blank lines) for each answer cell."""
    notebook = json.loads(next((COURSES / "python-101" / "source" / assignment)
                               .glob("*.ipynb")).read_text())
    markdown, found = [], []
    for cell in notebook["cells"]:
        source = "".join(cell["source"])
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell["cell_type"] == "markdown":
            markdown.append(source)
        elif meta.get("solution"):
            released = re.sub(r"### BEGIN SOLUTION\n.*?### END SOLUTION",
                              "# YOUR CODE HERE\n    raise NotImplementedError()", source,
                              flags=re.DOTALL)
            found.append((meta["grade_id"], released, "\n\n".join(markdown)))
    return found


def test_the_first_offline_hint_is_the_one_about_the_cells_own_exercise(python101):
    """In a real notebook the markdown before an answer cell holds the problem set's
    introduction and the earlier problems too: the first hint is still about this cell's
    exercise (the cell's own words count first, then its exercise's text)."""
    first_hints = {}
    for assignment in ("ps1-basics", "ps2-functions", "ps3-data-structures"):
        hints = python101.assignments[assignment].hints
        for grade_id, source, markdown in released_answer_cells(assignment):
            first_hints[grade_id] = ranked_hints((), hints, source, markdown)[0]
    assert set(first_hints) == set(HINT_FOR_CELL)
    wrong = {grade_id: hint[:40] for grade_id, hint in first_hints.items()
             if not hint.startswith(HINT_FOR_CELL[grade_id])}
    assert wrong == {}
