"""Offline mode: common Python exceptions explained from the traceback and the cell, and the
instructors' hints given one at a time."""

from __future__ import annotations

import pytest

from hub.tutor.ask import parse
from hub.tutor.offline import EXPLAINERS, explain, hint, ranked_hints
from tests.support.python_errors import MISTAKES, error_output

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
