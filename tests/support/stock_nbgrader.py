"""Stock nbgrader as an instructor runs it: its own commands (``nbgrader generate_assignment``,
``nbgrader autograde``) in a course directory of its own on this machine, each notebook run by
nbgrader's ``Execute`` in a kernel beside it (no sandbox, no judge). The reference the grader is
compared with: the differential test (tests/integration/grading/test_differential.py) and the
grading benchmark (tests/benchmarks/bench_grading.py).

Each command is a process of its own with only ``PATH`` and ``HOME`` in its environment, so
nothing of the test's process (the grader's settings, its patches of nbgrader's gradebook in
``grading.process_caches``) reaches it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.support.studio import ROOT

VENV_BIN = ROOT / ".venv" / "bin"
NBGRADER = VENV_BIN / "nbgrader"
COURSE_ID = "stock"


@dataclass(frozen=True)
class Scores:
    """One submission's scores as a gradebook has them: per graded cell (``notebook/grade
    id`` -> points) and in total (points, most points)."""

    cells: dict[str, float]
    total: tuple[float, float]


class StockCourse:
    """An nbgrader course directory at ``root``, configured in its ``nbgrader_config.json``
    (course root, course id, nbgrader's ``Execute.timeout``: seconds a cell may run before
    it is interrupted and fails)."""

    def __init__(self, root: Path, cell_timeout: int) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        config = {"CourseDirectory": {"root": str(root), "course_id": COURSE_ID},
                  "Execute": {"timeout": cell_timeout}}
        (root / "nbgrader_config.json").write_text(json.dumps(config))

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.root / 'gradebook.db'}"

    def add_source(self, assignment: str, folder: Path) -> None:
        """The instructor's notebooks (and files) of ``assignment``, from ``folder``."""
        shutil.copytree(folder, self.root / "source" / assignment)

    def nbgrader(self, *arguments: str) -> subprocess.CompletedProcess:
        """Run ``nbgrader <arguments>`` in the course directory; it must succeed."""
        run = subprocess.run(
            [str(NBGRADER), *arguments], cwd=self.root, capture_output=True, text=True,
            timeout=3600, check=False,
            env={"PATH": f"{VENV_BIN}:/usr/bin:/bin", "HOME": str(self.root)},
        )
        assert run.returncode == 0, f"nbgrader {' '.join(arguments)}:\n{run.stderr[-5000:]}"
        return run

    def generate(self, assignment: str = "*") -> None:
        """``nbgrader generate_assignment`` (a glob: one run for every assignment)."""
        self.nbgrader("generate_assignment", assignment, "--force")

    def released(self, assignment: str) -> Path:
        return self.root / "release" / assignment

    def submitted(self, learner: str, assignment: str) -> Path:
        """Where ``nbgrader collect`` would put a learner's submission (not created)."""
        return self.root / "submitted" / learner / assignment

    def autograde(self, assignment: str = "*") -> None:
        """``nbgrader autograde`` of every submission (a glob: one run for every
        assignment), sequentially, as stock nbgrader does."""
        self.nbgrader("autograde", assignment, "--force")

    def scores(self, assignment: str, learner: str) -> Scores:
        return gradebook_scores(self.db_url, COURSE_ID, assignment, learner)


def gradebook_scores(db_url: str, course_id: str, assignment: str, learner: str) -> Scores:
    """What nbgrader's gradebook at ``db_url`` holds of one learner's submission."""
    from nbgrader.api import Gradebook  # deferred: importing nbgrader costs seconds

    with Gradebook(db_url, course_id) as gb:
        submission = gb.find_submission(assignment, learner)
        cells = {f"{notebook.name}/{grade.name}": float(grade.score)
                 for notebook in submission.notebooks for grade in notebook.grades}
        return Scores(cells, (float(submission.score), float(submission.max_score)))
