"""No solutions on the board before the deadline: does a post show a graded exercise's solution?

The solutions are the ``### BEGIN SOLUTION`` … ``### END SOLUTION`` regions of the code cells of
each assignment's nbgrader source notebooks in the course folder (``courses.solutions``), for
the course's assignments whose due date has not passed (or that have none). A post is compared
with them line by line, after normalising both sides:

- **caught**: different spacing and indentation, comments (``# ...``) added or removed, blank
  lines, renamed variables, functions and parameters (every name that is not a keyword, a
  built-in or an attribute after a dot is compared as one placeholder), quotes of either kind,
  the code in a fenced block, an indented block, inline code or pasted into the prose;
- **not caught**: a solution restructured (lines merged or split, loops turned into
  comprehensions, other built-ins or methods used), a solution described in words, lines too
  short to give anything away (fewer than :data:`MIN_TOKENS` tokens after normalising, e.g.
  ``return total``), and less than :data:`SHARE` of a region's comparable lines shown.

A region with no comparable line is never matched. The check is a prompt for an instructor's
review, not a proof: the instructors approve what was held wrongly.
"""

from __future__ import annotations

import builtins
import keyword
import math
import re
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from courses.solutions import assignment_solutions
from lms.courses.models import AssignmentPage, CoursePage
from lms.courses.selectors import live_assignments

MIN_TOKENS = 5
SHARE = 0.5  # of a region's comparable lines shown: a match
NAME = "ID"
_KEEP = frozenset(keyword.kwlist) | frozenset(keyword.softkwlist) | frozenset(dir(builtins))
_TOKEN = re.compile(
    r"""
      (?P<string>[rRbBuUfF]{0,2}(?:"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'))
    | (?P<comment>\#.*)
    | (?P<name>[^\W\d]\w*)
    | \d+(?:\.\d+)?
    | \*\*=?|//=?|==|!=|<=|>=|->|:=|<<=?|>>=?|[-+*/%&|^@]=
    | [^\w\s`]
    """,
    re.VERBOSE,
)


def normalised_line(line: str) -> tuple[str, ...]:
    """A line's tokens without comments, names as :data:`NAME` (keywords, built-ins and
    attributes kept), strings with one kind of quote."""
    tokens: list[str] = []
    for match in _TOKEN.finditer(line):
        text = match.group(0)
        if match.group("comment") is not None:
            break
        if match.group("string") is not None:
            text = text.replace("'", '"')
        elif (match.group("name") is not None and text not in _KEEP
              and not (tokens and tokens[-1] == ".")):
            text = NAME
        tokens.append(text)
    return tuple(tokens)


def _comparable(lines) -> set[tuple[str, ...]]:
    forms = (normalised_line(line) for line in lines)
    return {form for form in forms if len(form) >= MIN_TOKENS}


@dataclass(frozen=True)
class Match:
    assignment: AssignmentPage
    lines_shown: int


def matches(text: str, solutions) -> bool:
    """Whether ``text`` shows at least :data:`SHARE` of one solution region's comparable lines."""
    shown = _comparable(text.replace("`", "\n").splitlines())
    for solution in solutions:
        lines = _comparable(solution.lines)
        if lines and len(lines & shown) >= max(1, math.ceil(len(lines) * SHARE)):
            return True
    return False


def open_assignments(course: CoursePage, now=None) -> list[AssignmentPage]:
    """The course's live assignments whose due date has not passed, or that have none."""
    now = now or timezone.now()
    return [a for a in live_assignments(course).defer_streamfields()
            if a.due_at is None or a.due_at > now]


def matched_assignment(course: CoursePage, text: str) -> AssignmentPage | None:
    """The first open assignment of ``course`` one of whose solutions ``text`` shows, if any."""
    folder = Path(settings.STUDIO_COURSES_DIR) / course.slug
    for assignment in open_assignments(course):
        if matches(text, assignment_solutions(folder, assignment.nbgrader_name)):
            return assignment
    return None
