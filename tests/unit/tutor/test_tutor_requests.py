"""The ``POST ask`` body: checked field by field, trimmed to the input budget with a notice."""

from __future__ import annotations

import pytest

from tutor.ask import BadRequest, parse, trim

BASE = {"course": "python-101", "assignment": "ps1-basics"}


def request(**fields):
    return parse({**BASE, **fields})


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ([], "JSON object"),
        ({"course": "python-101"}, "'mode' is required"),
        ({**BASE, "mode": "solve"}, "'mode' must be one of explain, hint, chat"),
        ({"mode": "chat", "course": "../etc", "question": "hi"}, "course slug"),
        ({**BASE, "mode": "explain"}, "'explain' needs the cell's 'error'"),
        ({**BASE, "mode": "hint"}, "'hint' needs the 'cell_id' of an answer cell"),
        ({**BASE, "mode": "chat", "question": "x", "cell_ids": "ps1-01"}, "'cell_ids' must be"),
        ({**BASE, "mode": "chat", "question": "x", "grade_ids": [3]}, "'grade_ids' must be"),
        ({**BASE, "mode": "chat", "question": "x", "cell_ids": ["c"] * 1001}, "at most 1000"),
        ({**BASE, "mode": "chat"}, "'chat' needs a 'question'"),
        ({**BASE, "mode": "chat", "question": "x", "secret": 1}, "Unknown fields: secret"),
        ({**BASE, "mode": "chat", "question": 3}, "'question' must be text"),
        ({**BASE, "mode": "explain", "error": {"evalue": "x"}}, "'ename'"),
    ],
)
def test_a_bad_request_says_what_is_wrong(body, says):
    with pytest.raises(BadRequest, match=says.replace("(", r"\(")):
        parse(body)


def test_terminal_colours_are_removed_from_the_traceback():
    parsed = request(mode="explain", error={
        "ename": "NameError", "evalue": "name 'x' is not defined",
        "traceback": ["\x1b[0;31mNameError\x1b[0m Traceback", "\x1b[1;32m----> 1\x1b[0m x"]})
    assert parsed.error.traceback == "NameError Traceback\n----> 1 x"


def test_a_request_within_the_budget_is_not_trimmed():
    parsed = request(mode="chat", question="why?", cell_source="x = 1")
    assert trim(parsed, 12_000) == (parsed, None)


def test_the_traceback_is_trimmed_first_keeping_its_end():
    frames = [f"frame {i}" for i in range(2000)] + ["ValueError: the real problem"]
    parsed = request(mode="explain", cell_source="x = int('a')", context_markdown="Intro " * 50,
                     error={"ename": "ValueError", "evalue": "bad", "traceback": frames})
    trimmed, notice = trim(parsed, 5000)
    assert trimmed.size() <= 5000
    assert trimmed.error.traceback.endswith("ValueError: the real problem")
    assert trimmed.context_markdown == parsed.context_markdown  # the traceback was enough
    assert trimmed.cell_source == "x = int('a')"
    assert "the traceback (its end was kept)" in notice
    assert "5,000 characters" in notice


def test_then_the_markdown_is_trimmed_from_its_start_and_the_nearest_text_kept():
    parsed = request(mode="chat", question="What is asked?", cell_source="pass",
                     context_markdown="old text " * 1000 + "The exercise right above the cell.")
    trimmed, notice = trim(parsed, 2000)
    assert trimmed.size() <= 2000
    assert trimmed.context_markdown.endswith("The exercise right above the cell.")
    assert trimmed.question == "What is asked?"
    assert "the text before the cell (the part nearest the cell was kept)" in notice


def test_every_field_gives_way_when_the_budget_demands_it():
    parsed = request(mode="explain", cell_source="c" * 9000, context_markdown="m" * 9000,
                     question="q" * 9000, error={"ename": "E", "evalue": "v",
                                                 "traceback": ["t" * 9000]})
    trimmed, notice = trim(parsed, 1000)
    assert trimmed.size() <= 1000
    for what in ("traceback", "text before the cell", "the cell", "your question"):
        assert what in notice
