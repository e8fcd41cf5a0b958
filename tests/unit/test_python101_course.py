"""The Python 101 demo course: course.yml loads, the lessons run, the assignments grade.

The assignment tests drive nbgrader through its Python API (``NbGraderAPI``) in a throw-away
course root, so there is no CLI start-up per step: generate each assignment's release copy, then
autograde the instructor's source notebook and the untouched release copy as two students'
submissions, and read the scores back from nbgrader's gradebook.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from courses.course_file import AssignmentSpec, CourseSpec, load_course

REPO_ROOT = Path(__file__).resolve().parents[2]
COURSE_DIR = REPO_ROOT / "courses" / "python-101"
LESSON_NOTEBOOKS = sorted((COURSE_DIR / "lessons").glob("*.ipynb"))
ASSIGNMENT_NAMES = sorted(p.name for p in (COURSE_DIR / "source").iterdir() if p.is_dir())
SOLUTION_STUDENT = "solution-student"
EMPTY_STUDENT = "empty-student"
CELL_TIMEOUT_SECONDS = 30

pytestmark = [
    # nbgrader 0.9's gradebook trips SQLAlchemy's autoflush warnings while it saves grades.
    pytest.mark.filterwarnings("ignore:Object of type .* not in session"),
]


@pytest.fixture(scope="module")
def course() -> CourseSpec:
    return load_course(COURSE_DIR)


def assignment_spec(course: CourseSpec, name: str) -> AssignmentSpec:
    return next(a for a in course.assignments if a.name == name)


def notebook_cells(path: Path) -> list:
    return nbformat.read(path, as_version=4).cells


def nbgrader_meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


# -- course.yml --------------------------------------------------------------------------


def test_course_file_loads(course: CourseSpec) -> None:
    assert course.slug == "python-101"
    assert course.title == "Python 101"
    assert course.summary and course.syllabus
    assert course.enrollment == "open"
    assert course.image == "pls-notebook:latest"
    assert course.profile == "learner"
    assert course.instructors == ("instructor",)

    assert len(course.lessons) >= 4
    assert [course.lesson_path(lesson) for lesson in course.lessons] == LESSON_NOTEBOOKS

    assert len(course.assignments) == 3
    assert sorted(a.name for a in course.assignments) == ASSIGNMENT_NAMES
    for spec in course.assignments:
        notebooks = [course.assignment_source_dir(spec) / nb for nb in spec.notebooks]
        graded = sum(
            nbgrader_meta(cell).get("points", 0)
            for path in notebooks
            for cell in notebook_cells(path)
            if nbgrader_meta(cell).get("grade")
        )
        assert spec.points == graded == 10, spec.name
        assert spec.release is not None and spec.due is not None and spec.due.year == 2027
        assert 2 <= len(spec.hints) <= 4, spec.name

    policies = {a.name: (a.late_policy.mode, a.tutor) for a in course.assignments}
    assert policies == {
        "ps1-basics": ("penalty", "full"),
        "ps2-functions": ("accept", "hints-only"),
        "ps3-data-structures": ("reject", "off"),
    }


# -- lessons -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", LESSON_NOTEBOOKS, ids=lambda p: p.stem)
def test_lesson_notebooks_are_clean_nbformat4_for_python3(path: Path) -> None:
    nb = nbformat.read(path, as_version=nbformat.NO_CONVERT)
    nbformat.validate(nb)
    assert nb.nbformat == 4
    assert nb.metadata.kernelspec.name == "python3"
    code_cells = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert len(code_cells) >= 5
    assert all(cell.outputs == [] and cell.execution_count is None for cell in code_cells)
    markdown = "\n".join(cell.source for cell in nb.cells if cell.cell_type == "markdown")
    assert "Try it" in markdown


@pytest.mark.parametrize("path", LESSON_NOTEBOOKS, ids=lambda p: p.stem)
def test_lesson_notebooks_run_without_errors(path: Path, tmp_path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        kernel_name="python3",
        timeout=CELL_TIMEOUT_SECONDS,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    try:
        client.execute()
    except CellExecutionError as error:
        pytest.fail(f"{path.name} raised while running:\n{error}")
    code_cells = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert all(cell.execution_count is not None for cell in code_cells)
    errors = [out for cell in code_cells for out in cell.outputs if out.output_type == "error"]
    assert errors == []


# -- assignments -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ASSIGNMENT_NAMES)
def test_assignment_source_uses_nbgrader_answer_and_test_cells(name: str) -> None:
    prefix = name.split("-")[0] + "-"
    for path in sorted((COURSE_DIR / "source" / name).glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        assert nb.metadata.kernelspec.name == "python3"
        cells = nb.cells
        graded = [(i, cell) for i, cell in enumerate(cells) if nbgrader_meta(cell)]
        grade_ids = [nbgrader_meta(cell)["grade_id"] for _, cell in graded]
        assert len(grade_ids) == len(set(grade_ids)), "grade_ids must be unique"
        assert all(gid.startswith(prefix) for gid in grade_ids)

        answers = [(i, c) for i, c in graded if nbgrader_meta(c).get("solution")]
        assert 3 <= len(answers) <= 4
        for i, answer in answers:
            meta = nbgrader_meta(answer)
            assert answer.cell_type == "code"
            assert (meta["grade"], meta["locked"], meta["task"]) == (False, False, False)
            assert meta["schema_version"] == 3
            assert answer.source.count("### BEGIN SOLUTION") >= 1
            assert answer.source.count("### BEGIN SOLUTION") == answer.source.count(
                "### END SOLUTION"
            )
            assert cells[i - 1].cell_type == "markdown", "explain the problem above the answer"

            tests = cells[i + 1]
            test_meta = nbgrader_meta(tests)
            assert tests.cell_type == "code" and test_meta.get("grade") is True
            assert (test_meta["solution"], test_meta["locked"]) == (False, True)
            assert test_meta["points"] > 0
            visible, _, rest = tests.source.partition("### BEGIN HIDDEN TESTS")
            hidden, end_marker, _ = rest.partition("### END HIDDEN TESTS")
            assert end_marker, f"{test_meta['grade_id']} has no hidden tests"
            assert re.search(r"^assert ", visible, re.MULTILINE), "needs visible asserts"
            assert re.search(r"^assert ", hidden, re.MULTILINE), "needs hidden asserts"


def _alembic_head() -> str:
    """The gradebook schema revision, found in-process.

    ``nbgrader.api.Gradebook`` calls ``get_alembic_version()`` when it creates a database, which
    runs the ``alembic`` console script by bare name: it fails when the environment's bin/ is not
    on PATH, and costs a Python start-up plus an nbgrader import (~5 s) when it is.
    """
    import nbgrader
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(Path(nbgrader.__file__).parent / "alembic")).get_current_head()


@pytest.fixture(scope="module")
def grader(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """An ``NbGraderAPI`` on a scratch course root holding a copy of the course's source/."""
    import nbgrader.api
    from nbgrader.apps.api import NbGraderAPI
    from traitlets.config import Config

    root = tmp_path_factory.mktemp("nbgrader-course")
    shutil.copytree(COURSE_DIR / "source", root / "source")
    config = Config()
    config.CourseDirectory.root = str(root)
    config.CourseDirectory.course_id = "python-101"
    config.CourseDirectory.db_url = f"sqlite:///{root / 'gradebook.db'}"
    config.Exchange.root = str(root / "exchange")  # never the default /srv/nbgrader/exchange
    config.ExecutePreprocessor.timeout = CELL_TIMEOUT_SECONDS
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(nbgrader.api, "get_alembic_version", _alembic_head)
        yield NbGraderAPI(config=config)


def submit(root: Path, student: str, name: str, notebooks: list[Path]) -> None:
    folder = root / "submitted" / student / name
    folder.mkdir(parents=True)
    for notebook in notebooks:
        shutil.copy(notebook, folder / notebook.name)


def gradebook_score(grader, name: str, student: str) -> tuple[float, float]:
    gradebook = grader.gradebook
    try:
        submission = gradebook.find_submission(name, student)
        return submission.score, submission.max_score
    finally:
        gradebook.close()


@pytest.mark.parametrize("name", ASSIGNMENT_NAMES)
def test_assignment_release_hides_solutions_and_autograde_gives_solution_full_empty_zero(
    name: str, course: CourseSpec, grader
) -> None:
    spec = assignment_spec(course, name)
    root = Path(grader.coursedir.root)

    result = grader.generate_assignment(name)
    assert result["success"], result.get("log")
    source = [root / "source" / name / nb for nb in spec.notebooks]
    release = [root / "release" / name / nb for nb in spec.notebooks]
    for path in release:
        text = path.read_text(encoding="utf-8")
        assert "BEGIN SOLUTION" not in text
        assert "END SOLUTION" not in text
        assert "BEGIN HIDDEN TESTS" not in text
        for cell in notebook_cells(path):
            if nbgrader_meta(cell).get("solution"):
                assert "raise NotImplementedError()" in cell.source
            if nbgrader_meta(cell).get("grade"):
                assert "assert " in cell.source, "the visible tests stay in the release"

    submit(root, SOLUTION_STUDENT, name, source)
    submit(root, EMPTY_STUDENT, name, release)
    for student in (SOLUTION_STUDENT, EMPTY_STUDENT):
        result = grader.autograde(name, student)
        assert result["success"], result.get("log")

    assert gradebook_score(grader, name, SOLUTION_STUDENT) == (spec.points, spec.points)
    assert gradebook_score(grader, name, EMPTY_STUDENT) == (0, spec.points)
