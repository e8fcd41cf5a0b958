"""Read and validate ``courses/<slug>/course.yml``: the one definition of its schema.

The LMS, the hub, the grader and the tutor never import one another; the course folder is what
they share, and every one of them reads it through this module. So it depends on nothing but the
standard library, PyYAML and the naming conventions (``courses.naming``), and it validates
everything up front: a malformed file raises :class:`CourseFileError` naming the file, the field
and the problem, before any caller writes anything.

Strict: every mapping of the file (the course, each lesson, each assignment, its late_policy)
may hold only the keys below, which are the fields of the dataclass it becomes (:func:`file_keys`).
Any other key is refused with its path and the nearest known key, so a typo cannot silently drop a
setting: ``assignments[0].due_at: unknown key; did you mean due?``; with nothing close, the
message lists the keys allowed there.

Schema (``?`` marks optional keys; paths are relative to the course folder)::

    slug: python-101              # lower-case letters, digits and dashes
    title: Python 101
    summary: One paragraph.
    syllabus?: Markdown text      # rendered on the course page
    enrollment?: open | closed    # default: open (learners may enroll themselves)
    image?: pls-notebook:latest   # learner notebook image; default: the studio's (HUB_IMAGE)
    grading?: judge | in-kernel   # default: judge (tests run outside the learner's process;
                                  # in-kernel: beside the learner's code, which can cheat)
    profile?: learner             # resource profile name; default: learner
    instructors?: [username, ...]
    lessons:                      # lesson slugs and assignment names: not gradebook,
      - slug: basics              # learners or tutor (the LMS's own course pages)
        title: Python basics
        summary?: text
        notebook: lessons/01-basics.ipynb
    assignments:
      - name: ps1-basics          # nbgrader assignment id: source/<name>/ holds its notebooks
        title: Problem set 1
        summary?: text
        points?: 10               # default: the sum of the notebooks' nbgrader points
        release?: 2026-09-01T09:00:00+00:00
        due?: 2027-01-31T23:59:00+00:00
        late_policy?: {mode: reject | accept | penalty, percent_per_day?: 10, cutoff_days?: 3}
        tutor?: off | hints-only | full   # default: hints-only
        hints?: [text, ...]       # instructor-written hints the offline tutor can give
        peer_review?:             # learners review one another's submissions (lms.review)
          enabled?: true          # default: true once the mapping is there
          reviews_per_submission?: 2      # 1 to 10; default 2
          opens?: after_due | after_submit  # default after_due: reviewing starts at the due
                                  # date; after_submit: as soon as the reviewer has submitted
          anonymity?: both | reviewers | none  # default both: neither side sees the other's
                                  # name; reviewers: authors do not see their reviewers' names
          deadline?: 2027-02-07T23:59:00+00:00  # after the due date
          show_test_results?: false       # reviewers see the autograder's per-test results
          counts_towards_grade?: false
          weight?: 0.1            # share of the assignment's grade (0 < weight <= 1); required
                                  # when counts_towards_grade, refused otherwise
          rubric:                 # at least one criterion, each with at least two levels
            - criterion: Readability
              description?: text
              levels: [{label: Clear, points: 2}, {label: Muddled, points: 0}]
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from courses.naming import (
    ASSIGNMENT_NAME_PATTERN,
    ASSIGNMENT_NAME_RULE,
    COURSE_SLUG_PATTERN,
    COURSE_SLUG_RULE,
)

COURSE_FILE_NAME = "course.yml"
DEFAULT_PROFILE = "learner"
# Paths under courses/<slug>/ that the LMS serves itself, before Wagtail's page tree
# (lms/courses/urls.py, lms/gradebook/urls.py, lms/tutor/urls.py, lms/review/urls.py,
# lms/groups/urls.py): a lesson or an assignment page of that slug could never be reached.
RESERVED_PAGE_SLUGS = ("board", "gradebook", "groups", "learners", "reviews", "tutor")
ENROLLMENT_MODES = ("open", "closed")
LATE_MODES = ("reject", "accept", "penalty")
TUTOR_POLICIES = ("off", "hints-only", "full")  # the strictest first (the tutor relies on it)
# How test cells are evaluated (grading/image/pls_grading/judge.py, docs/grading.md): by the judge,
# a process the learner's code never reaches, or in the learner's kernel beside their code.
GRADING_MODES = ("judge", "in-kernel")
# When a learner may start reviewing (lms.review): from the assignment's due date, or as soon as
# they have submitted themselves.
REVIEW_OPENS = ("after_due", "after_submit")
# Who sees whose name in a peer review: ``both`` neither side, ``reviewers`` the author does not
# see the reviewer's name (the reviewer sees the author's), ``none`` both names shown.
REVIEW_ANONYMITY = ("both", "reviewers", "none")
MAX_REVIEWS_PER_SUBMISSION = 10


# Field metadata of a spec field the reader works out itself rather than reading a key of that name.
_IS_A_KEY = "course_yml_key"
_NOT_A_KEY = {_IS_A_KEY: False}


def file_keys(spec: type) -> tuple[str, ...]:
    """The keys course.yml may hold in the mapping that becomes ``spec`` (a spec dataclass below):
    its fields, in order, less those marked ``_NOT_A_KEY``. The one list of a level's keys: the
    reader reads nothing else and refuses anything else."""
    return tuple(f.name for f in fields(spec) if f.metadata.get(_IS_A_KEY, True))


def unknown_key_problem(key: str, known: tuple[str, ...]) -> str:
    """The sentence for a key that is not one of ``known``: the nearest known key, else them all."""
    nearest = difflib.get_close_matches(key.lower(), known, n=1)
    if nearest:
        return f"unknown key; did you mean {nearest[0]}?"
    return f"unknown key; the keys here are {', '.join(known)}"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class CourseFileError(ValueError):
    """A course.yml that cannot be used, with the file, the field and the problem."""

    def __init__(self, path: Path | str, field_name: str, problem: str) -> None:
        self.path = str(path)
        self.field_name = field_name
        self.problem = problem
        super().__init__(f"{self.path}: {field_name}: {problem}")


@dataclass(frozen=True)
class LatePolicy:
    """What happens to a submission after the due date.

    ``reject``: not accepted. ``accept``: accepted and flagged late, full credit.
    ``penalty``: accepted until ``cutoff_days`` after the due date (0: no cutoff), losing
    ``percent_per_day``
    of the score for each started day.
    """

    mode: str = "reject"
    percent_per_day: float = 0.0
    cutoff_days: int = 0


@dataclass(frozen=True)
class LessonSpec:
    slug: str
    title: str
    notebook: str
    summary: str = ""


@dataclass(frozen=True)
class RubricLevel:
    """One level of a rubric criterion: what a reviewer may pick, worth ``points``."""

    label: str
    points: float


@dataclass(frozen=True)
class RubricCriterion:
    criterion: str
    levels: tuple[RubricLevel, ...]
    description: str = ""

    @property
    def max_points(self) -> float:
        return max(level.points for level in self.levels)


@dataclass(frozen=True)
class PeerReview:
    """An assignment's peer review (``peer_review`` in course.yml; :data:`REVIEW_OPENS`,
    :data:`REVIEW_ANONYMITY`). ``rubric`` is empty only when it is not enabled."""

    enabled: bool = False
    reviews_per_submission: int = 2
    opens: str = "after_due"
    anonymity: str = "both"
    deadline: dt.datetime | None = None
    show_test_results: bool = False
    counts_towards_grade: bool = False
    weight: float = 0.0
    rubric: tuple[RubricCriterion, ...] = ()

    @property
    def max_points(self) -> float:
        return sum(c.max_points for c in self.rubric)

    def as_json(self) -> dict[str, Any]:
        """The settings as JSON (the LMS keeps them with the assignment); :meth:`from_json`
        reads them back."""
        return {
            "enabled": self.enabled,
            "reviews_per_submission": self.reviews_per_submission,
            "opens": self.opens,
            "anonymity": self.anonymity,
            "deadline": self.deadline.isoformat() if self.deadline else None,
            "show_test_results": self.show_test_results,
            "counts_towards_grade": self.counts_towards_grade,
            "weight": self.weight,
            "rubric": [
                {"criterion": c.criterion, "description": c.description,
                 "levels": [{"label": lv.label, "points": lv.points} for lv in c.levels]}
                for c in self.rubric
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> PeerReview:
        """What :meth:`as_json` wrote (validated when course.yml was read); ``{}``: off."""
        if not data:
            return cls()
        deadline = data.get("deadline")
        return cls(
            enabled=bool(data.get("enabled")),
            reviews_per_submission=int(data.get("reviews_per_submission", 2)),
            opens=str(data.get("opens", "after_due")),
            anonymity=str(data.get("anonymity", "both")),
            deadline=dt.datetime.fromisoformat(deadline) if deadline else None,
            show_test_results=bool(data.get("show_test_results")),
            counts_towards_grade=bool(data.get("counts_towards_grade")),
            weight=float(data.get("weight", 0.0)),
            rubric=tuple(
                RubricCriterion(
                    criterion=str(c["criterion"]),
                    description=str(c.get("description", "")),
                    levels=tuple(RubricLevel(str(lv["label"]), float(lv["points"]))
                                 for lv in c["levels"]),
                )
                for c in data.get("rubric", [])
            ),
        )


@dataclass(frozen=True)
class AssignmentSpec:
    name: str
    title: str
    points: float
    notebooks: tuple[str, ...] = field(metadata=_NOT_A_KEY)  # the files in source/<name>/
    summary: str = ""
    release: dt.datetime | None = None
    due: dt.datetime | None = None
    late_policy: LatePolicy = field(default_factory=LatePolicy)
    tutor: str = "hints-only"
    hints: tuple[str, ...] = ()
    peer_review: PeerReview = field(default_factory=PeerReview)


@dataclass(frozen=True)
class CourseSpec:
    root: Path = field(metadata=_NOT_A_KEY)  # the course folder
    slug: str
    title: str
    summary: str
    syllabus: str = ""
    enrollment: str = "open"
    image: str = ""  # empty: the studio's default image
    grading: str = "judge"
    profile: str = DEFAULT_PROFILE
    instructors: tuple[str, ...] = ()
    lessons: tuple[LessonSpec, ...] = ()
    assignments: tuple[AssignmentSpec, ...] = ()

    def lesson_path(self, lesson: LessonSpec) -> Path:
        return self.root / lesson.notebook

    def assignment_source_dir(self, assignment: AssignmentSpec) -> Path:
        return self.root / "source" / assignment.name


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing a key that appears twice in one mapping: PyYAML keeps the
    last one silently, so a second ``due:`` further down would quietly win over the first."""

    def construct_mapping(self, node, deep=False):
        seen: set = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key {key!r} appears twice in one mapping", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _UniqueKeyLoader.construct_mapping
)


def load_course(folder: Path | str) -> CourseSpec:
    """Parse and validate the course in ``folder`` (the folder holding course.yml)."""
    root = Path(folder).resolve()
    path = root / COURSE_FILE_NAME
    if not path.is_file():
        raise CourseFileError(path, "(file)", "not found")
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)  # noqa: S506
    except yaml.YAMLError as exc:
        raise CourseFileError(path, "(file)", f"not valid YAML: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise CourseFileError(path, "(file)", "not UTF-8 text") from exc
    return _Reader(path, root).course(data)


class _Fields(dict):
    """One mapping of course.yml whose keys have been checked against its spec's
    :func:`file_keys`; the reader reads it through :meth:`get`, which takes only those keys, so a
    field is read under the same name the check allows."""

    def __init__(self, data: dict, spec: type, known: tuple[str, ...]) -> None:
        super().__init__(data)
        self.spec = spec
        self.known = known

    def get(self, key: str, default: Any = None) -> Any:
        if key not in self.known:  # a bug in this module, not in the file
            raise KeyError(f"{key!r} is not a field of {self.spec.__name__}: declare it there")
        return super().get(key, default)


class _Reader:
    """Walks the parsed YAML, keeping the file path for error messages."""

    def __init__(self, path: Path, root: Path) -> None:
        self.path = path
        self.root = root

    def fail(self, field_name: str, problem: str) -> CourseFileError:
        return CourseFileError(self.path, field_name, problem)

    def fields_of(self, data: Any, where: str, spec: type, shape: str) -> _Fields:
        """``data`` as the mapping that becomes ``spec``: refused unless it is a mapping (``shape``
        says what it must be) whose every key is one of the spec's."""
        if not isinstance(data, dict):
            raise self.fail(where or "(file)", shape)
        known = file_keys(spec)
        for key in data:
            if key not in known:
                name = str(key)
                raise self.fail(self.qualified(where, name), unknown_key_problem(name, known))
        return _Fields(data, spec, known)

    def course(self, data: Any) -> CourseSpec:
        data = self.fields_of(data, "", CourseSpec, "must be a mapping of course fields")
        slug = self.slug(data, "slug")
        enrollment = self.choice(data, "enrollment", ENROLLMENT_MODES, "open")
        lessons = tuple(
            self.lesson(item, f"lessons[{i}]") for i, item in enumerate(self.items(data, "lessons"))
        )
        self.unique([lesson.slug for lesson in lessons], "lessons", "slug")
        assignments = tuple(
            self.assignment(item, f"assignments[{i}]")
            for i, item in enumerate(self.items(data, "assignments"))
        )
        self.unique([a.name for a in assignments], "assignments", "name")
        return CourseSpec(
            root=self.root,
            slug=slug,
            title=self.text(data, "title"),
            summary=self.text(data, "summary"),
            syllabus=self.text(data, "syllabus", required=False),
            enrollment=enrollment,
            image=self.text(data, "image", required=False),
            grading=self.choice(data, "grading", GRADING_MODES, "judge"),
            profile=self.text(data, "profile", required=False) or DEFAULT_PROFILE,
            instructors=tuple(self.strings(data, "instructors", "instructors")),
            lessons=lessons,
            assignments=assignments,
        )

    def lesson(self, data: Any, where: str) -> LessonSpec:
        data = self.fields_of(data, where, LessonSpec, "must be a mapping")
        slug = self.slug(data, "slug", where)
        self.not_reserved(slug, f"{where}.slug")
        notebook = self.text(data, "notebook", where)
        self.notebook_file(notebook, f"{where}.notebook")
        return LessonSpec(
            slug=slug,
            title=self.text(data, "title", where),
            notebook=notebook,
            summary=self.text(data, "summary", where, required=False),
        )

    def assignment(self, data: Any, where: str) -> AssignmentSpec:
        data = self.fields_of(data, where, AssignmentSpec, "must be a mapping")
        name = self.text(data, "name", where)
        if not ASSIGNMENT_NAME_PATTERN.match(name):
            raise self.fail(f"{where}.name", f"{name!r} must be {ASSIGNMENT_NAME_RULE}")
        self.not_reserved(name.lower(), f"{where}.name")
        source = self.root / "source" / name
        notebooks = sorted(p for p in source.glob("*.ipynb")) if source.is_dir() else []
        if not notebooks:
            raise self.fail(f"{where}.name", f"no notebooks in source/{name}/")
        graded_points = sum(self.notebook_points(nb, f"{where}.name") for nb in notebooks)
        points = data.get("points", graded_points)
        if not _is_number(points) or points <= 0:
            raise self.fail(f"{where}.points", "must be a positive number")
        if abs(points - graded_points) > 1e-9:
            raise self.fail(
                f"{where}.points",
                f"says {points} but the notebooks' graded cells add up to {graded_points}",
            )
        release = self.datetime(data, "release", where)
        due = self.datetime(data, "due", where)
        if release and due and due <= release:
            raise self.fail(f"{where}.due", "must be after the release date")
        return AssignmentSpec(
            name=name,
            title=self.text(data, "title", where),
            summary=self.text(data, "summary", where, required=False),
            points=float(points),
            notebooks=tuple(p.name for p in notebooks),
            release=release,
            due=due,
            late_policy=self.late_policy(data.get("late_policy"), f"{where}.late_policy"),
            tutor=self.choice(data, "tutor", TUTOR_POLICIES, "hints-only", where),
            hints=tuple(self.strings(data, "hints", f"{where}.hints")),
            peer_review=self.peer_review(data.get("peer_review"), f"{where}.peer_review", due),
        )

    def peer_review(self, data: Any, where: str, due: dt.datetime | None) -> PeerReview:
        if data is None:
            return PeerReview()
        data = self.fields_of(data, where, PeerReview, "must be a mapping of review settings")
        enabled = self.flag(data, "enabled", where, default=True)
        count = data.get("reviews_per_submission", 2)
        if (not isinstance(count, int) or isinstance(count, bool)
                or not 1 <= count <= MAX_REVIEWS_PER_SUBMISSION):
            raise self.fail(f"{where}.reviews_per_submission",
                            f"must be a whole number from 1 to {MAX_REVIEWS_PER_SUBMISSION}")
        opens = self.choice(data, "opens", REVIEW_OPENS, "after_due", where)
        if opens == "after_due" and due is None and enabled:
            raise self.fail(f"{where}.opens", "after_due needs the assignment's due date: set "
                            "due, or open reviewing after_submit")
        deadline = self.datetime(data, "deadline", where)
        if deadline and due and deadline <= due:
            raise self.fail(f"{where}.deadline", "must be after the assignment's due date")
        counts = self.flag(data, "counts_towards_grade", where, default=False)
        weight = data.get("weight")
        if counts:
            if not _is_number(weight) or not 0 < weight <= 1:
                raise self.fail(f"{where}.weight", "must be a number above 0 and at most 1 "
                                "(the review's share of the assignment's grade)")
        elif weight is not None:
            raise self.fail(f"{where}.weight",
                            "is only allowed with counts_towards_grade: true")
        rubric = tuple(
            self.criterion(item, f"{where}.rubric[{i}]")
            for i, item in enumerate(data.get("rubric") or [])
        )
        if not isinstance(data.get("rubric") or [], list):
            raise self.fail(f"{where}.rubric", "must be a list of criteria")
        if enabled and not rubric:
            raise self.fail(f"{where}.rubric", "needs at least one criterion")
        self.unique([c.criterion for c in rubric], f"{where}.rubric", "criterion")
        return PeerReview(
            enabled=enabled,
            reviews_per_submission=count,
            opens=opens,
            anonymity=self.choice(data, "anonymity", REVIEW_ANONYMITY, "both", where),
            deadline=deadline,
            show_test_results=self.flag(data, "show_test_results", where, default=False),
            counts_towards_grade=counts,
            weight=float(weight) if counts else 0.0,
            rubric=rubric,
        )

    def criterion(self, data: Any, where: str) -> RubricCriterion:
        data = self.fields_of(data, where, RubricCriterion,
                              "must be a mapping with a criterion and its levels")
        levels_data = data.get("levels")
        if not isinstance(levels_data, list) or len(levels_data) < 2:
            raise self.fail(f"{where}.levels", "must be a list of at least two levels")
        levels = []
        for i, item in enumerate(levels_data):
            level = self.fields_of(item, f"{where}.levels[{i}]", RubricLevel,
                                   "must be a mapping with a label and points")
            points = level.get("points")
            if not _is_number(points) or points < 0:
                raise self.fail(f"{where}.levels[{i}].points", "must be a number, 0 or more")
            levels.append(RubricLevel(self.text(level, "label", f"{where}.levels[{i}]"),
                                      float(points)))
        self.unique([lv.label for lv in levels], f"{where}.levels", "label")
        return RubricCriterion(
            criterion=self.text(data, "criterion", where),
            description=self.text(data, "description", where, required=False),
            levels=tuple(levels),
        )

    def late_policy(self, data: Any, where: str) -> LatePolicy:
        if data is None:
            return LatePolicy()
        data = self.fields_of(data, where, LatePolicy, "must be a mapping with a 'mode'")
        mode = self.choice(data, "mode", LATE_MODES, "reject", where)
        percent = data.get("percent_per_day", 0)
        cutoff = data.get("cutoff_days", 0)
        if not _is_number(percent) or not 0 <= percent <= 100:
            raise self.fail(f"{where}.percent_per_day", "must be a number from 0 to 100")
        if not isinstance(cutoff, int) or isinstance(cutoff, bool) or cutoff < 0:
            raise self.fail(f"{where}.cutoff_days", "must be a whole number of days, 0 or more")
        return LatePolicy(mode=mode, percent_per_day=float(percent), cutoff_days=cutoff)

    # -- field helpers -------------------------------------------------------------------

    @staticmethod
    def qualified(where: str, key: str) -> str:
        return f"{where}.{key}" if where else key

    def text(self, data: dict, key: str, where: str = "", required: bool = True) -> str:
        value = data.get(key)
        name = self.qualified(where, key)
        if value is None or value == "":
            if required:
                raise self.fail(name, "is required")
            return ""
        if not isinstance(value, str):
            raise self.fail(name, f"must be text, not {type(value).__name__}")
        return value.strip()

    def flag(self, data: dict, key: str, where: str, default: bool) -> bool:
        value = data.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(self.qualified(where, key), "must be true or false")
        return value

    def not_reserved(self, slug: str, field_name: str) -> None:
        """Lesson slugs and assignment names become page slugs under the course's page."""
        if slug in RESERVED_PAGE_SLUGS:
            raise self.fail(field_name, f"{slug!r} is taken by the LMS's own course pages "
                            f"({', '.join(RESERVED_PAGE_SLUGS)}): choose another")

    def slug(self, data: dict, key: str, where: str = "") -> str:
        value = self.text(data, key, where)
        if not COURSE_SLUG_PATTERN.match(value):
            problem = f"{value!r} must be {COURSE_SLUG_RULE}"
            raise self.fail(self.qualified(where, key), problem)
        return value

    def choice(
        self, data: dict, key: str, allowed: tuple[str, ...], default: str, where: str = ""
    ) -> str:
        value = data.get(key, default)
        if value is False and "off" in allowed:  # YAML 1.1 reads a bare `off` as false
            value = "off"
        if value not in allowed:
            raise self.fail(self.qualified(where, key), f"must be one of {', '.join(allowed)}")
        return value

    def items(self, data: dict, key: str) -> list:
        value = data.get(key)
        if value is None:
            raise self.fail(key, "is required (an empty list is allowed)")
        if not isinstance(value, list):
            raise self.fail(key, "must be a list")
        return value

    def strings(self, data: dict, key: str, name: str) -> list[str]:
        value = data.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.fail(name, "must be a list of text")
        return [v.strip() for v in value]

    def unique(self, values: list[str], where: str, key: str) -> None:
        seen: set[str] = set()
        for value in values:
            if value in seen:
                raise self.fail(where, f"{key} {value!r} appears twice")
            seen.add(value)

    def datetime(self, data: dict, key: str, where: str) -> dt.datetime | None:
        value = data.get(key)
        name = self.qualified(where, key)
        if value is None:
            return None
        if isinstance(value, str):
            try:
                value = dt.datetime.fromisoformat(value)
            except ValueError as exc:
                raise self.fail(name, "must be an ISO 8601 date and time") from exc
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            raise self.fail(name, "needs a time and a time zone, e.g. 2027-01-31T23:59:00+00:00")
        if not isinstance(value, dt.datetime):
            raise self.fail(name, "must be an ISO 8601 date and time")
        if value.tzinfo is None:
            raise self.fail(name, "needs a time zone, e.g. +00:00")
        return value

    def notebook_file(self, relative: str, name: str) -> Path:
        candidate = (self.root / relative).resolve()
        if not candidate.is_relative_to(self.root):
            raise self.fail(name, f"{relative!r} points outside the course folder")
        if candidate.suffix != ".ipynb" or not candidate.is_file():
            raise self.fail(name, f"{relative!r} is not a notebook in the course folder")
        return candidate

    def notebook_points(self, notebook: Path, name: str) -> float:
        try:
            cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
            raise self.fail(name, f"{notebook.name} is not a valid notebook") from exc
        total = 0.0
        for cell in cells:
            grade = cell.get("metadata", {}).get("nbgrader", {})
            if grade.get("grade"):
                total += float(grade.get("points", 0))
        return total
