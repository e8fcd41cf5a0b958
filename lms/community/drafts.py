"""A new thread drafted by the tutor panel's "Ask the class" (``courses.naming.board_draft_path``):
what the draft page prefills from its query, and why it left something out.

The query is the learner's browser's word, from a link anybody can make: every field is capped,
stripped of control characters and checked against the course before it prefills anything, and
nothing is posted from it: the learner reads the draft, edits it and sends the board's own form
(``views.new_thread``, ``services.create_thread``, which check everything again). A page that is
not a live lesson or assignment of the course, a cell id that is no notebook cell id, a cell
number that is no number: each is dropped with a sentence on the page, never an error.

The panel sends no code of the learner's: the error, and its traceback without the notebook's
cell lines (``extensions/pls_tutor/src/askclass.ts``). What arrives is shown as it came, escaped,
and in the body inside a code fence longer than any run of backticks in it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from lms.courses.models import CoursePage

from . import selectors

MAX_TITLE = 200  # Thread.title
MAX_NOTEBOOK = 200
MAX_CELL_ID = 64  # nbformat's cell id: 1 to 64 of letters, digits, '-' and '_'
MAX_ERROR = 500
MAX_TRACEBACK = 4000
MAX_CELL_NUMBER = 10_000
CELL_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
NUMBER = re.compile(r"[0-9]{1,5}")
# Control characters but tab and newline: none of them belongs in a title or a traceback.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
# ANSI escape sequences (colours in a traceback), should any arrive: the panel strips them too.
ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")


@dataclass
class Draft:
    """A new thread as the draft page prefills it."""

    title: str = ""
    anchor: object = None
    """The lesson or assignment page of the course the thread is about, or None."""
    cell: str = ""
    cell_number: int | None = None
    notebook: str = ""
    error: str = ""
    traceback: str = ""
    dropped: list[str] = field(default_factory=list)
    """A sentence for each thing of the query the draft left out."""

    @property
    def about(self) -> str:
        """"<notebook> · cell N" (either part may be missing)."""
        parts = [self.notebook] if self.notebook else []
        if self.cell_number is not None:
            parts.append(f"cell {self.cell_number}")
        return " · ".join(parts)

    @property
    def body(self) -> str:
        """The opening post prefilled: where, the error and its traceback in a code fence; the
        learner writes what they tried below it."""
        lines = []
        if self.about:
            lines += [f"In {self.about}:", ""]
        detail = self.traceback
        if self.error and self.traceback.splitlines()[-1:] != [self.error]:
            # IPython's traceback ends with the error line already; another one would repeat it
            detail = "\n".join(part for part in (self.traceback, self.error) if part)
        if detail:
            fence = "`" * max(3, _longest_backtick_run(detail) + 1)
            lines += [f"{fence}text", detail, fence, ""]
        lines += ["What I tried: "]
        return "\n".join(lines)


def _longest_backtick_run(text: str) -> int:
    return max((len(run) for run in re.findall(r"`+", text)), default=0)


def _text(value: str, limit: int, *, keep_end: bool = False, one_line: bool = False) -> str:
    value = ANSI.sub("", value.replace("\r\n", "\n"))
    value = CONTROL.sub("", value)
    if one_line:
        value = " ".join(value.split())
    value = value.strip()
    if len(value) > limit:
        value = "…" + value[-(limit - 1):] if keep_end else value[: limit - 1] + "…"
    return value


def draft_from(query: Mapping[str, str], course: CoursePage) -> Draft:
    """The draft of a new question on ``course``'s board from the page's query (``title``,
    ``about``: a page slug, ``cell``: a cell id, ``n``: the cell's number, ``notebook``,
    ``error``, ``traceback``)."""
    draft = Draft(
        title=_text(query.get("title", ""), MAX_TITLE, one_line=True),
        notebook=_text(query.get("notebook", ""), MAX_NOTEBOOK, one_line=True),
        error=_text(query.get("error", ""), MAX_ERROR),
        traceback=_text(query.get("traceback", ""), MAX_TRACEBACK, keep_end=True),
    )
    about = query.get("about", "")
    if about:
        draft.anchor = selectors.anchor_of(course, about[:255])
        if draft.anchor is None:
            draft.dropped.append(
                "The draft named a page that is not a lesson or assignment of this course, so "
                "it is about the course in general; choose the page below if you like."
            )
    cell = query.get("cell", "")
    if cell:
        if CELL_ID.fullmatch(cell):
            draft.cell = cell
        else:
            draft.dropped.append("The draft's cell id is not a notebook cell id; it is left out.")
    number = query.get("n", "")
    if number:
        if NUMBER.fullmatch(number) and 1 <= int(number) <= MAX_CELL_NUMBER:
            draft.cell_number = int(number)
        else:
            draft.dropped.append("The draft's cell number is not a number; it is left out.")
    return draft
