"""The tutor without a key: labelled offline, explains common exceptions, gives the
instructors' hints; its LMS never answers, so course.yml decides the policies."""

from __future__ import annotations

import pytest

from tests.support.notebook_requests import lesson_of, notebook_of, status_query
from tests.support.python_errors import MISTAKES, error_output

pytestmark = [pytest.mark.slow]

HINT = {"mode": "hint", "assignment": "ps1-basics", "cell_id": "ps1-initials-answer",
        "cell_source": "def initials(full_name):\n    raise NotImplementedError()",
        "context_markdown": "## Problem 2 — Initials\n\nWrite `initials(full_name)` ..."}


def test_status_says_offline_and_names_no_model(offline_tutor):
    status = offline_tutor.call("grace", "GET", "status?course=python-101&assignment=ps1-basics"
                                + status_query(notebook_of("ps1-basics"))).json()
    assert status["offline"] is True and status["model"] is None
    assert status["policy"] == "full"  # course.yml's, the LMS being unreachable
    assert status["message"].startswith("Offline mode")


@pytest.mark.parametrize("mistake", MISTAKES, ids=[m.ename for m in MISTAKES])
def test_every_listed_exception_is_explained_offline(offline_tutor, mistake):
    asked = offline_tutor.ask("grace", mode="explain", assignment="ps1-basics",
                              cell_source=mistake.source, error=error_output(mistake.source),
                              **notebook_of("ps1-basics"))
    assert asked.status == 200, asked.error
    assert asked.notices[0].startswith("Offline mode: no AI model is configured")
    assert asked.text.startswith(f"**{mistake.ename}**")
    assert mistake.says in asked.text
    assert asked.last == {"type": "done", "exchange_id": asked.last["exchange_id"],
                          "offline": True, "refused": False}


def test_hints_are_the_instructors_one_at_a_time_nearest_first(offline_tutor):
    first = offline_tutor.ask("rosalind", **HINT)
    assert first.text.startswith("**Hint 1 of 4** (from your instructors)")
    assert "For initials, split the name into words" in first.text  # course.yml's, nearest
    second = offline_tutor.ask("rosalind", **HINT)
    assert second.text.startswith("**Hint 2 of 4**")
    assert first.text != second.text


def test_an_offline_chat_says_what_it_can_do_and_lists_the_hints(offline_tutor):
    asked = offline_tutor.ask("grace", mode="chat", assignment="ps2-functions",
                              question="How do I start?", **notebook_of("ps2-functions"))
    assert "cannot answer free questions" in asked.text
    assert "clamp has three cases" in asked.text  # ps2's hints from course.yml
    assert asked.last["offline"] is True


def test_course_yml_turns_the_tutor_off_when_the_lms_cannot_say(offline_tutor):
    asked = offline_tutor.ask("grace", mode="explain", assignment="ps3-data-structures",
                              cell_source="x", error=error_output("x = y"),
                              **notebook_of("ps3-data-structures"))
    assert (asked.status, asked.error["error"]) == (403, "tutor-off")
    assert "Problem set 3: Data structures" in asked.error["message"]


def test_offline_exchanges_are_logged_as_offline(offline_tutor):
    offline_tutor.ask("alan", mode="explain", assignment=None, cell_source="1/0",
                      error=error_output("1/0"), **lesson_of("lessons/01-basics.ipynb"))
    (logged,) = offline_tutor.call("alan", "GET",
                                   "history?course=python-101").json()["exchanges"]
    assert logged["offline"] is True and logged["error_type"] == "ZeroDivisionError"
    assert logged["reply"].startswith("**ZeroDivisionError**")
