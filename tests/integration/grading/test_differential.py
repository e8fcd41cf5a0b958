"""The differential test: honest notebooks graded by stock nbgrader and by the grader (the
judge's grading, the real sandbox pipeline) get the same score for every graded cell and in
total, except for the differences listed here, each with its reason (docs/grading.md, "The
judge" and "Writing tests for the judge").

Stock: ``nbgrader generate_assignment`` and ``nbgrader autograde`` as nbgrader's own commands,
run on this machine in a course directory of their own (tests/support/stock_nbgrader.py): one
run of each per course, for all its assignments and submissions. Ours: ``grading.release`` and
``grading.autograde`` in a ``GRADER_ROOT`` of this module's, each notebook run in a fresh
container of the course's image (``pls-notebook:latest``) with its test cells evaluated by the
judge. Both interrupt a cell after ``CELL_TIMEOUT`` seconds: nbgrader's ``Execute.timeout`` and
the grader's ``GRADER_CELL_TIMEOUT``. Stock nbgrader grades in the background (a course
directory per course, each in a thread of its own) while the grader grades here, so the module
costs about as long as the slowest of them.

The submissions, made from the instructors' source notebooks (tests/support/assignments.py):

- every problem set of python-101 (course.yml), answered in four ways (``KINDS``): all correct;
  partly wrong; crashing (an answer cell that raises before its definition, a function that
  raises when the test calls it, a cell that raises after a correct definition); looping (an
  answer cell that never ends before its definition, a function that never returns, a cell
  that never ends after a correct definition);
- nbgrader's own test notebooks (``NBGRADER_SOURCES``) as the source notebooks of one
  assignment, submitted by two learners (``NBGRADER_SUBMISSIONS``): one answers every notebook
  with its solutions, the other submits a few notebooks with the answers of nbgrader's own
  honest submissions (some of them wrong) and leaves the rest out. ``NOT_APPLICABLE`` says why
  the other notebooks nbgrader ships are not used (a test checks that each is in one of them).
"""

from __future__ import annotations

import json
import secrets
import shutil
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbgrader
import pytest

from courses.course_file import load_course
from grading.autograde import autograde
from grading.course_directory import prepare_course
from grading.release import release
from grading.sandbox import Sandbox
from grading.settings import Settings
from tests.support.assignments import (
    COURSES,
    CRASHES,
    NEVER_ENDS,
    NEVER_RETURNS,
    RAISES,
    WRONG,
    answer_cells,
    answered,
)
from tests.support.stock_nbgrader import Scores, StockCourse

pytestmark = [pytest.mark.docker, pytest.mark.slow]

CELL_TIMEOUT = 3  # seconds; timeout.ipynb's cell sleeps 5 s, so it must be less than that
PYTHON_101 = "python-101"
NBGRADER_COURSE = "nbgrader-tests"
NBGRADER_ASSIGNMENT = "nbgrader-tests"
NBGRADER_FILES = Path(nbgrader.__file__).parent / "tests"

# -- python-101: how each problem of a problem set is answered -----------------------------------

ANSWERS: dict[str, tuple[str | None, tuple[str, str]]] = {
    # how -> (the body of the answer's solution region, or None: the instructor's;
    #         top-level code (before, after) the answer in its cell)
    "right": (None, ("", "")),
    "wrong": (WRONG, ("", "")),
    "raises": (RAISES, ("", "")),
    "never-returns": (NEVER_RETURNS, ("", "")),
    "crashes-before": (None, (CRASHES, "")),
    "crashes-after": (None, ("", CRASHES)),
    "never-ends-before": (None, (NEVER_ENDS, "")),
    "never-ends-after": (None, ("", NEVER_ENDS)),
}
KINDS: dict[str, tuple[tuple[str, bool], ...]] = {
    # kind -> per problem, in order: how it is answered, and whether its test earns its points
    "correct": (("right", True), ("right", True), ("right", True)),
    "partly-wrong": (("right", True), ("wrong", False), ("right", True)),
    # A cell that crashes or is interrupted after its definition keeps the definition, and
    # nbgrader scores the test, not the answer cell.
    "crashing": (("crashes-before", False), ("raises", False), ("crashes-after", True)),
    "looping": (("never-ends-before", False), ("never-returns", False),
                ("never-ends-after", True)),
}

# -- nbgrader's own test notebooks ---------------------------------------------------------------

NBGRADER_SOURCES = (  # apps/files/<name>.ipynb, the source notebooks of one assignment
    "test", "test-hidden-tests", "autotest-simple", "autotest-hidden", "autotest-hashed",
    "autotest-multi", "timeout", "open_relative_file", "validating-environment-variable",
    "validation-zero-points", "submitted-unchanged",
)
NBGRADER_FILES_NEEDED = ("autotests.yml", "data.txt")  # beside the notebooks in the source
NBGRADER_SUBMISSIONS: dict[str, dict[str, str] | None] = {
    # learner -> the notebooks they submit: name -> the apps/files notebook whose answer
    # cells they typed into it (None: every notebook, answered with its own solutions)
    "solutions": None,
    "nbgrader-answers": {  # nbgrader's own honest submissions; the other notebooks missing
        "autotest-multi": "autotest-multi-changed",  # some answers wrong
        "autotest-hidden": "autotest-hidden-changed-wrong",
        "submitted-unchanged": "submitted-changed",
    },
}
NBGRADER_DESERVED: dict[str, dict[str, dict[str, float]]] = {
    # learner -> notebook -> grade id -> what stock nbgrader gives that cell (a check that the
    # notebooks are graded as their authors meant); missing: 0 for every cell
    "solutions": {
        "test": {  # the manually graded answers (Parts C and D) get no automatic points
            "correct_squares": 1, "squares_invalid_input": 1, "correct_sum_of_squares": 0.5,
            "sum_of_squares_uses_squares": 0.5, "sum_of_squares_equation": 0,
            "sum_of_squares_application": 0,
        },
        "test-hidden-tests": {  # its answers pass the visible tests and fail hidden ones
            "correct_squares": 0, "squares_invalid_input": 1, "correct_sum_of_squares": 0,
            "sum_of_squares_uses_squares": 0.5,
        },
        "autotest-simple": {"test_simple": 1},  # nbgrader's AUTOTEST directives, expanded
        "autotest-hidden": {"test_hidden": 1},  # at release from autotests.yml
        "autotest-hashed": {"test_hashed": 1},
        "autotest-multi": {"test_multi": 1, "cell-f2803ba7c42d03ab": 1,
                           "cell-693350420ec62f1b": 1, "cell-13479eb0e5fff152": 1},
        "timeout": {"correct_squares": 0},  # the function sleeps 5 s: past the time limit
        "open_relative_file": {"open_file": 10},  # the test reads data.txt beside it
        "validating-environment-variable": {  # fails where NBGRADER_EXECUTION is set
            "cell-bfbdf1784663b6b6": 0},
        "validation-zero-points": {"correct_squares": 0},  # a test worth 0 points
        "submitted-unchanged": {  # its "solution" is the stub: only the test that prints
            "foo": 1, "bar": 0, "baz": 0, "quux": 0},
    },
    "nbgrader-answers": {
        "autotest-multi": {"test_multi": 1, "cell-f2803ba7c42d03ab": 1,
                           "cell-693350420ec62f1b": 0, "cell-13479eb0e5fff152": 1},
        "autotest-hidden": {"test_hidden": 0},
        "submitted-unchanged": {"foo": 1, "bar": 1, "baz": 0, "quux": 0},
    },
}
NOT_APPLICABLE: dict[str, str] = {
    # nbgrader's other test notebooks (<folder>/files/<name>.ipynb) and why they are not graded
    "apps/autotest-simple-changed": "its answers are autotest-simple's solutions (graded)",
    "apps/autotest-hashed-changed": "its answers are autotest-hashed's solutions (graded)",
    "apps/autotest-hidden-changed-right": "its answers are autotest-hidden's solutions (graded)",
    "apps/autotest-simple-unchanged": "autotest-simple as released (made here by the release)",
    "apps/autotest-hashed-unchanged": "autotest-hashed as released (made here by the release)",
    "apps/autotest-hidden-unchanged": "autotest-hidden as released (made here by the release)",
    "apps/autotest-multi-unchanged": "autotest-multi as released (made here by the release)",
    "apps/submitted-cheat-attempt": "tampered test cells: not honest (the adversarial tests')",
    "apps/submitted-cheat-attempt-alternative": "tampered test cells: not honest",
    "apps/submitted-grade-cell-changed": "an edited test cell: not honest",
    "apps/submitted-locked-cell-changed": "an edited locked cell: not honest",
    "apps/infinite-loop": "no graded cells (nbgrader's own Execute timeout test)",
    "apps/infinite-loop-with-output": "no graded cells (nbgrader's own Execute timeout test)",
    "apps/side-effects": "no graded cells",
    "apps/test-no-metadata": "no nbgrader metadata: no graded cells",
    "apps/test-no-metadata-autotest": "no nbgrader metadata: no graded cells",
    "apps/test-v0": "metadata schema 0: needs `nbgrader update` first; release refuses it",
    "apps/test-v0-invalid": "metadata schema 0, and invalid",
    "apps/test-v1": "metadata schema 1: needs `nbgrader update` first; release refuses it",
    "apps/test-v2": "metadata schema 2: needs `nbgrader update` first; release refuses it",
    "apps/test-with-output": "test's cells with saved outputs, which the release clears",
    "apps/too-new": "a metadata schema newer than nbgrader's: refused by both",
    "preprocessors/test": "apps/test with its tests written with nose, which neither this "
                          "Python (3.11) nor the image has",
    "preprocessors/test_taskcell": "its tests import nose (as preprocessors/test)",
    "preprocessors/submitted-unchanged": "the same as apps/submitted-unchanged (graded)",
    "preprocessors/submitted-changed": "the same answers as apps/submitted-changed (graded)",
    "preprocessors/submitted-grade-cell-changed": "an edited test cell: not honest",
    "preprocessors/submitted-locked-cell-changed": "an edited locked cell: not honest",
    "preprocessors/submitted-answer-cell-type-changed": "a changed cell type: not honest",
    "preprocessors/submitted-grade-cell-type-changed": "a changed cell type: not honest",
    "preprocessors/bad-markdown-cell-1": "a graded markdown cell that is no answer: refused",
    "preprocessors/bad-markdown-cell-2": "an answer cell without a grade id: refused",
    "preprocessors/blank-grade-id": "a blank grade id: refused",
    "preprocessors/blank-points": "a test cell without points: refused",
    "preprocessors/duplicate-grade-ids": "two cells with one grade id: refused",
    "preprocessors/cell-type-changed": "no graded cells (nbgrader's cell type check)",
    "preprocessors/no-cell-type": "no graded cells (nbgrader's cell type check)",
    "preprocessors/manually-graded-code-cell": "only a manually graded cell: no automatic score",
    "preprocessors/header": "no graded cells",
    "preprocessors/infinite-recursion": "no graded cells",
    "preprocessors/long-output": "no graded cells",
    "preprocessors/warning-pattern": "no graded cells (and torch, which the image lacks)",
}


@dataclass(frozen=True)
class Difference:
    """A cell the judge scores differently from stock nbgrader, by design."""

    cell: str  # notebook/grade id
    stock: float
    ours: float
    why: str


USES_SQUARES = (
    "the test checks that sum_of_squares calls squares by deleting the learner's squares "
    "(`del squares`) and calling sum_of_squares: a judged test's names are its own and it "
    "cannot change the learner's, so `del` fails (NameError) and the test earns nothing; such "
    "a test needs `grading: in-kernel`"
)
NBGRADER_DIFFERENCES = {
    "solutions": (
        Difference("test/sum_of_squares_uses_squares", 0.5, 0, USES_SQUARES),
        Difference("test-hidden-tests/sum_of_squares_uses_squares", 0.5, 0, USES_SQUARES),
    ),
}


@dataclass(frozen=True)
class Case:
    """One learner's submission of one assignment."""

    course: str
    assignment: str
    learner: str
    instead: Mapping[str, str] = field(default_factory=dict)
    around: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    notebooks: Mapping[str, Path] | None = None
    """The notebooks submitted: name -> the notebook whose answer cells the learner typed into
    it (None: every notebook, with the instructor's solutions)."""
    deserved: Mapping[str, float] = field(default_factory=dict)
    """notebook/grade id -> the points stock nbgrader gives that cell."""
    differences: tuple[Difference, ...] = ()

    @property
    def id(self) -> str:
        return f"{self.assignment}/{self.learner}"


def problems_of(notebook: Path) -> tuple[list[tuple[str, float]], list[str]]:
    """The test cells (grade id, points) and the answer cells (grade id) of a source
    notebook, in order: python-101's problem N is its N-th answer and N-th test."""
    tests, answers = [], []
    for cell in json.loads(notebook.read_text())["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution"):
            tests.append((meta["grade_id"], float(meta["points"])))
        elif meta.get("solution"):
            answers.append(meta["grade_id"])
    return tests, answers


def python_101_cases() -> list[Case]:
    course = load_course(COURSES / PYTHON_101)
    cases = []
    for assignment in course.assignments:
        name = assignment.name
        source = course.assignment_source_dir(assignment) / f"{name}.ipynb"
        tests, answers = problems_of(source)
        assert len(tests) == len(answers) == 3, name  # three problems, as KINDS has them
        for kind, problems in KINDS.items():
            instead, around, deserved = {}, {}, {}
            for answer, (test, points), (how, earns) in zip(answers, tests, problems,
                                                            strict=True):
                body, (before, after) = ANSWERS[how]
                if body is not None:
                    instead[answer] = body
                if before or after:
                    around[answer] = (before, after)
                deserved[f"{name}/{test}"] = points if earns else 0.0
            cases.append(Case(PYTHON_101, name, kind, instead, around, deserved=deserved))
    return cases


def nbgrader_cases() -> list[Case]:
    cases = []
    for learner, submitted in NBGRADER_SUBMISSIONS.items():
        deserved = {}
        for notebook in NBGRADER_SOURCES:
            points = NBGRADER_DESERVED[learner].get(notebook)
            if points is None:  # not submitted: no points
                points = dict.fromkeys(NBGRADER_DESERVED["solutions"][notebook], 0)
            deserved.update({f"{notebook}/{cell}": float(p) for cell, p in points.items()})
        notebooks = None if submitted is None else {
            name: NBGRADER_FILES / "apps" / "files" / f"{answers}.ipynb"
            for name, answers in submitted.items()}
        cases.append(Case(NBGRADER_COURSE, NBGRADER_ASSIGNMENT, learner, notebooks=notebooks,
                          deserved=deserved, differences=NBGRADER_DIFFERENCES.get(learner, ())))
    return cases


CASES = [*python_101_cases(), *nbgrader_cases()]


# -- the two graders -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def courses_dir(tmp_path_factory) -> Path:
    """python-101 (the repository's) and a course of nbgrader's own test notebooks."""
    folder = tmp_path_factory.mktemp("courses")
    (folder / PYTHON_101).symlink_to(COURSES / PYTHON_101)
    course = folder / NBGRADER_COURSE
    source = course / "source" / NBGRADER_ASSIGNMENT
    source.mkdir(parents=True)
    for name in NBGRADER_SOURCES:
        shutil.copy(NBGRADER_FILES / "apps" / "files" / f"{name}.ipynb", source)
    for name in NBGRADER_FILES_NEEDED:
        shutil.copy(NBGRADER_FILES / "apps" / "files" / name, source)
    (course / "course.yml").write_text(
        f"slug: {NBGRADER_COURSE}\ntitle: nbgrader's test notebooks\nsummary: For the "
        f"differential test.\nimage: pls-notebook:latest\nlessons: []\nassignments:\n"
        f"  - name: {NBGRADER_ASSIGNMENT}\n    title: nbgrader's test notebooks\n"
    )
    return folder


def submission(case: Case, released: Path, courses_dir: Path, folder: Path) -> Path:
    """The case's submission: the released files, each notebook answered (a notebook the
    case does not submit left out)."""
    shutil.copytree(released, folder)
    source = courses_dir / case.course / "source" / case.assignment
    for path in sorted(folder.glob("*.ipynb")):
        if case.notebooks is None:
            answers = answer_cells(source / path.name)
        elif path.stem in case.notebooks:
            answers = answer_cells(case.notebooks[path.stem])
        else:
            path.unlink()
            continue
        notebook = answered(json.loads(path.read_text()), instead=case.instead,
                            around=case.around, answers=answers)
        path.write_text(json.dumps(notebook))
    return folder


def grade_stock(root: Path, courses_dir: Path, course: str) -> dict[str, Scores]:
    """The cases of ``course`` through stock nbgrader: one generate_assignment and one
    autograde for all of them."""
    cases = [case for case in CASES if case.course == course]
    stock = StockCourse(root, CELL_TIMEOUT)
    for assignment in sorted({case.assignment for case in cases}):
        stock.add_source(assignment, courses_dir / course / "source" / assignment)
    stock.generate()
    for case in cases:
        submission(case, stock.released(case.assignment), courses_dir,
                   stock.submitted(case.learner, case.assignment))
    stock.autograde()
    return {case.id: stock.scores(case.assignment, case.learner) for case in cases}


def grade_ours(root: Path, courses_dir: Path, folder: Path) -> dict[str, Scores]:
    """Every case through the grader: released, then autograded one by one in the sandbox
    (a warm pool of two: the next container starts while one grades)."""
    # GRADER_TIME_LIMIT bounds a whole notebook, which stock nbgrader does not: far above the
    # ~10 s the looping ones take.
    settings = Settings.from_env({
        "STUDIO_VAR_DIR": str(root / "var"), "GRADER_ROOT": str(root),
        "STUDIO_COURSES_DIR": str(courses_dir), "GRADER_CELL_TIMEOUT": str(CELL_TIMEOUT),
        "GRADER_TIME_LIMIT": "120", "GRADER_POOL_SIZE": "2",
        "GRADER_SANDBOX_PREFIX": f"pls-test-differential-{secrets.token_hex(3)}",
    })
    sandbox = Sandbox(**settings.sandbox)
    try:
        course_dirs = {}
        for course in sorted({c.course for c in CASES}):
            course_dirs[course] = settings.nbgrader_course_dir(course)
            prepare_course(course_dirs[course], settings.studio_course_dir(course))
        for course, assignment in sorted({(c.course, c.assignment) for c in CASES}):
            release(course_dirs[course], assignment)
        scores = {}
        for case in CASES:
            course_dir = course_dirs[case.course]
            files = submission(case, course_dir / "release" / case.assignment, courses_dir,
                               folder / case.course / case.assignment / case.learner)
            result = autograde(course_dir, case.assignment, case.learner, files,
                               sandbox=sandbox)
            assert result.status == "graded", (case.id, result.message)
            assert "tampered" not in result.flags, (case.id, result.message)
            scores[case.id] = Scores(
                {f"{row['notebook']}/{row['id']}": row["score"] for row in result.breakdown},
                (result.score, result.max_score),
            )
        return scores
    finally:
        sandbox.close()


@pytest.fixture(scope="module")
def graded(tmp_path_factory, courses_dir) -> dict[str, tuple[Scores, Scores]]:
    """case id -> (stock nbgrader's scores, the grader's). Stock nbgrader grades each course
    in a course directory of its own, in the background, while the grader grades here."""
    courses = sorted({case.course for case in CASES})
    with ThreadPoolExecutor(len(courses)) as background:
        stock_runs = [background.submit(grade_stock, tmp_path_factory.mktemp("stock"),
                                        courses_dir, course) for course in courses]
        ours = grade_ours(tmp_path_factory.mktemp("grader"), courses_dir,
                          tmp_path_factory.mktemp("submissions"))
        stock = {case_id: scores for run in stock_runs for case_id, scores in run.result().items()}
    return {case.id: (stock[case.id], ours[case.id]) for case in CASES}


# -- the tests -----------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_the_grader_scores_honest_notebooks_as_stock_nbgrader(case, graded):
    stock, ours = graded[case.id]
    assert stock.cells == case.deserved  # the submission is what the case says it is
    expected = dict(stock.cells)
    for difference in case.differences:
        assert stock.cells[difference.cell] == difference.stock, difference.why
        expected[difference.cell] = difference.ours
    assert ours.cells == expected
    shift = sum(d.ours - d.stock for d in case.differences)
    assert ours.total == (stock.total[0] + shift, stock.total[1])


def test_every_nbgrader_test_notebook_is_graded_or_has_a_reason():
    shipped = {f"{folder}/{path.stem}" for folder in ("apps", "preprocessors")
               for path in (NBGRADER_FILES / folder / "files").glob("*.ipynb")}
    used = {f"apps/{name}" for name in NBGRADER_SOURCES} | {
        f"apps/{answers}" for submitted in NBGRADER_SUBMISSIONS.values()
        for answers in (submitted or {}).values()}
    assert used <= shipped
    assert shipped - used == set(NOT_APPLICABLE)
