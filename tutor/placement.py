"""Where a question comes from: which assignment's (or lesson's) notebook of a course a request
shows, checked against the course's own files.

Everything a request says is the learner's word: the ``course`` and ``assignment`` fields, the
notebook's path, its ids, its text. None of it is taken as it is. What the tutor does is
compare what the request *shows* of its notebook with the notebooks of the course folder
(``tutor.course_data`` reads them: the nbgrader source notebooks of each assignment, the lesson
notebooks of ``course.yml``):

- **Ids.** The notebook's cell ids (nbformat's ``id``, which nbgrader's release and the hub's
  copies keep) and nbgrader grade ids (``metadata.nbgrader.grade_id``; the request's
  ``cell_id`` is one) that belong to one notebook of the course.
- **Text.** Runs of :data:`RUN_WORDS` words of the cell, the markdown before it and the question
  that appear in one notebook of the course only: its instructions, starter code and tests,
  never a solution region (learners' copies have none). :data:`MIN_RUNS` runs of one notebook
  place the request there; fewer could be a common phrase.

An id or a run found in several notebooks of a course tells nothing and is not used. Ids are
easy to copy from another notebook; text is what the learner asks about, so a request that
claims one assignment's ids while showing another's text shows both, and the stricter policy
applies (:meth:`tutor.tutoring.Tutor.decide` decides; this module only finds the places).
nbgrader's checksums are not used: every learner's copy carries them, so they prove no more
than the grade ids, and the released notebooks are the grader's files, not the tutor's.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

RUN_WORDS = 8
MIN_RUNS = 2
WORD = re.compile(r"\w+")

ASSIGNMENT = "assignment"
LESSON = "lesson"
PlaceKey = tuple[str, str]
"""``(ASSIGNMENT, name)`` or ``(LESSON, slug)``: one notebook folder or lesson of a course."""


@dataclass(frozen=True)
class Shown:
    """What a request shows of its notebook (all of it the client's word)."""

    cell_ids: frozenset[str] = frozenset()
    grade_ids: frozenset[str] = frozenset()
    text: str = ""
    """The cell, the markdown before it, the question: where its text runs are looked for."""

    @cached_property
    def runs(self) -> set[tuple[str, ...]]:
        """The text's runs, cut once for every course it is compared with."""
        return runs(self.text)


@dataclass(frozen=True)
class IndexedCell:
    """What the index keeps of one cell of a course notebook."""

    cell_id: str | None
    grade_id: str | None
    text: str
    """The source without solution regions."""


def runs(text: str) -> set[tuple[str, ...]]:
    """The runs of :data:`RUN_WORDS` words of ``text``, lower-cased (spacing and punctuation
    do not matter)."""
    words = WORD.findall(text.lower())
    return {tuple(words[i : i + RUN_WORDS]) for i in range(len(words) - RUN_WORDS + 1)}


def _id_key(cell_id: str) -> str:
    return f"id:{cell_id}"


def _grade_key(grade_id: str) -> str:
    return f"grade:{grade_id}"


class PlaceIndex:
    """The ids and text runs of a course's notebooks, each kept only if one place has it."""

    def __init__(self) -> None:
        self._ids: dict[str, set[PlaceKey]] = {}
        self._runs: dict[tuple[str, ...], PlaceKey | None] = {}
        """A run -> its place; None when several places have it."""

    def add(self, place: PlaceKey, cells: Iterable[IndexedCell]) -> None:
        for cell in cells:
            keys = [_id_key(cell.cell_id)] if cell.cell_id else []
            keys += [_grade_key(cell.grade_id)] if cell.grade_id else []
            for key in keys:
                self._ids.setdefault(key, set()).add(place)
            for run in runs(cell.text):
                if self._runs.setdefault(run, place) != place:
                    self._runs[run] = None

    def places(self, shown: Shown) -> set[PlaceKey]:
        """The places ``shown`` belongs to by its ids or its text."""
        found: set[PlaceKey] = set()
        keys = [*map(_id_key, shown.cell_ids), *map(_grade_key, shown.grade_ids)]
        for key in keys:
            places = self._ids.get(key, ())
            if len(places) == 1:
                found |= places
        counted = Counter(place for run in shown.runs
                          if (place := self._runs.get(run)) is not None)
        found |= {place for place, count in counted.items() if count >= MIN_RUNS}
        return found
