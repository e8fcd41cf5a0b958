"""The body of ``POST ask``: read, checked and trimmed to what the model may be sent.

:func:`parse` turns the JSON body into an :class:`AskRequest` or raises :class:`BadRequest`
with a sentence for the person (docs/tutor.md lists the fields). :func:`trim` fits it into
``TUTOR_MAX_INPUT_CHARS``: the traceback is shortened first, keeping its end (where the error
is), then the markdown before the cell from its start (the nearest text is kept), then the cell
(its start kept), then the question; each field keeps a floor before the next is touched. The
notice it returns says what was left out, for the learner.

Tracebacks arrive with the terminal colours Jupyter puts in them; they are removed before
anything is counted or shown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from courses.naming import is_assignment_name, is_course_slug
from servicekit.errors import ServiceError

MODES = ("explain", "hint", "chat")
MAX_BODY_BYTES = 256 * 1024
ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-Z\\-_]")
FIELDS = {"mode", "course", "assignment", "notebook", "cell_id", "cell_source", "error",
          "context_markdown", "question", "cell_ids", "grade_ids"}
MAX_IDS = 1000  # per list: far more cells than a notebook has
MAX_ID_CHARS = 200
FLOORS = {"traceback": 1500, "context_markdown": 500, "cell_source": 2000, "question": 1000}
TRIM_ORDER = ("traceback", "context_markdown", "cell_source", "question")
WHAT = {
    "traceback": "the traceback (its end was kept)",
    "context_markdown": "the text before the cell (the part nearest the cell was kept)",
    "cell_source": "the cell (its start was kept)",
    "question": "your question (its start was kept)",
}


class BadRequest(ServiceError):
    """400 ``invalid``: the body is not a request the tutor can answer; the sentence says why."""

    def __init__(self, message: str) -> None:
        super().__init__(400, "invalid", message)


@dataclass(frozen=True)
class ErrorOutput:
    ename: str
    evalue: str
    traceback: str
    """The traceback's lines joined, without terminal colours."""


@dataclass(frozen=True)
class AskRequest:
    mode: str
    course: str
    assignment: str | None = None
    notebook: str = ""
    cell_id: str | None = None
    cell_source: str = ""
    error: ErrorOutput | None = None
    context_markdown: str = ""
    question: str | None = None
    cell_ids: tuple[str, ...] = ()
    """The notebook's cell ids (nbformat's ``id``): what ``tutor.placement`` checks."""
    grade_ids: tuple[str, ...] = ()
    """The notebook's nbgrader grade ids."""

    @property
    def error_type(self) -> str | None:
        return self.error.ename if self.error else None

    def size(self) -> int:
        error = self.error
        return (len(self.cell_source) + len(self.context_markdown) + len(self.question or "")
                + (len(error.ename) + len(error.evalue) + len(error.traceback) if error else 0))


def strip_colours(text: str) -> str:
    return ANSI.sub("", text)


def _text(body: dict[str, Any], name: str, required: bool = False) -> str | None:
    value = body.get(name)
    if value is None or value == "":
        if required:
            raise BadRequest(f"'{name}' is required.")
        return None
    if not isinstance(value, str):
        raise BadRequest(f"'{name}' must be text.")
    return value


def _error(value: Any) -> ErrorOutput | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise BadRequest("'error' must be an object with 'ename', 'evalue' and 'traceback'.")
    ename, evalue = value.get("ename"), value.get("evalue", "")
    traceback = value.get("traceback") or []
    if not isinstance(ename, str) or not ename.strip() or not isinstance(evalue, str):
        raise BadRequest("'error' needs 'ename' (the exception's name) and 'evalue' (text).")
    if isinstance(traceback, str):
        traceback = [traceback]
    if not isinstance(traceback, list) or not all(isinstance(t, str) for t in traceback):
        raise BadRequest("'error.traceback' must be a list of text lines.")
    return ErrorOutput(
        ename=strip_colours(ename).strip()[:100],
        evalue=strip_colours(evalue),
        traceback=strip_colours("\n".join(traceback)),
    )


def ids(value: Any, name: str) -> tuple[str, ...]:
    """A list of a notebook's ids (``cell_ids``, ``grade_ids``), checked."""
    if value is None:
        return ()
    if (not isinstance(value, list) or len(value) > MAX_IDS
            or not all(isinstance(v, str) and len(v) <= MAX_ID_CHARS for v in value)):
        raise BadRequest(f"'{name}' must be a list of at most {MAX_IDS} ids, each text of at "
                         f"most {MAX_ID_CHARS} characters.")
    return tuple(v for v in value if v)


def parse(body: Any) -> AskRequest:
    """The request in ``body`` (parsed JSON), checked; :class:`BadRequest` says what is wrong."""
    if not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object.")
    unknown = set(body) - FIELDS
    if unknown:
        raise BadRequest(f"Unknown fields: {', '.join(sorted(unknown))}.")
    mode = _text(body, "mode", required=True)
    if mode not in MODES:
        raise BadRequest(f"'mode' must be one of {', '.join(MODES)}.")
    course = _text(body, "course", required=True)
    if not is_course_slug(course):
        raise BadRequest("'course' must be a course slug, e.g. python-101.")
    assignment = _text(body, "assignment")
    if assignment is not None and not is_assignment_name(assignment):
        raise BadRequest("'assignment' must be an assignment's name, e.g. ps1-basics.")
    request = AskRequest(
        mode=mode,
        course=course,
        assignment=assignment,
        notebook=_text(body, "notebook") or "",
        cell_id=_text(body, "cell_id"),
        cell_source=_text(body, "cell_source") or "",
        error=_error(body.get("error")),
        context_markdown=_text(body, "context_markdown") or "",
        question=_text(body, "question"),
        cell_ids=ids(body.get("cell_ids"), "cell_ids"),
        grade_ids=ids(body.get("grade_ids"), "grade_ids"),
    )
    if mode == "explain" and request.error is None:
        raise BadRequest("'explain' needs the cell's 'error' (ename, evalue, traceback).")
    if mode == "hint" and request.cell_id is None:
        raise BadRequest("'hint' needs the 'cell_id' of an answer cell.")
    if mode == "chat" and not (request.question or "").strip():
        raise BadRequest("'chat' needs a 'question'.")
    return request


def _field(request: AskRequest, name: str) -> str:
    if name == "traceback":
        return request.error.traceback if request.error else ""
    return getattr(request, name) or ""


def _shortened(request: AskRequest, name: str, keep: int) -> AskRequest:
    value = _field(request, name)
    if name == "traceback":
        assert request.error is not None
        return replace(request, error=replace(request.error, traceback=value[-keep:] if keep
                                              else ""))
    if name == "context_markdown":
        return replace(request, context_markdown=value[-keep:] if keep else "")
    return replace(request, **{name: value[:keep]})


def trim(request: AskRequest, budget: int) -> tuple[AskRequest, str | None]:
    """``request`` within ``budget`` characters, and a notice saying what was left out."""
    over = request.size() - budget
    if over <= 0:
        return request, None
    cut: dict[str, tuple[int, int]] = {}
    for floors in (True, False):  # first down to each field's floor, then further if need be
        for name in TRIM_ORDER:
            if over <= 0:
                break
            length = len(_field(request, name))
            floor = min(FLOORS[name], length) if floors else 0
            keep = max(floor, length - over)
            if keep >= length:
                continue
            original = cut.get(name, (length, length))[0]
            request = _shortened(request, name, keep)
            cut[name] = (original, keep)
            over -= length - keep
    parts = [f"{WHAT[name]}: {kept:,} of {original:,} characters"
             for name, (original, kept) in cut.items()]
    notice = (f"Your request was longer than the tutor reads ({budget:,} characters), so it "
              f"saw less of {'; '.join(parts)}.")
    return request, notice
