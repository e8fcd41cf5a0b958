"""`make lint` holds the boundaries between the parts (pyproject.toml, [tool.importlinter]).

The contracts are checked on a copy of the repository's packages in which one import crosses
each kind of boundary: every such import must break its contract, and the unchanged copy must
keep them all (so the check is about the contracts, not about the copy).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
PACKAGES = ["lms", "hub", "grading", "tutor", "courses", "servicekit", "launcher", "ops"]
IMAGE_PACKAGES = {"pls_grading": "grading/image", "pls_tutor": "extensions/pls_tutor",
                  "pls_grading_status": "extensions/pls_grading_status"}

# module written into the copy -> (its import, the contract it must break)
VIOLATIONS = {
    "tutor/_crossing.py": ("import lms.courses.models", "Parts are independent"),
    "courses/_crossing.py": ("import grading.queue", "Shared code imports no part"),
    "servicekit/_crossing.py": ("import hub.config", "Shared code imports no part"),
    "pls_grading/_crossing.py": ("import grading.sandbox",
                                 "The learner image's packages import no part"),
    "lms/base/_crossing.py": ("import lms.gradebook.models", "LMS layers"),
    "launcher/_crossing.py": ("import hub.settings", "Parts are independent"),
    "ops/_crossing.py": ("import grading.settings", "Parts are independent"),
    "pls_grading_status/_crossing.py": ("import pls_tutor.relay", "Parts are independent"),
}


def copy_packages(into: Path) -> Path:
    """The repository's Python packages (sources only) and its pyproject.toml, under ``into``;
    the learner image's packages at the top level, as the venv finds them."""
    ignore = shutil.ignore_patterns("__pycache__", "node_modules", "*.ipynb", "static",
                                    "templates", "migrations", "lib", "style", "src")
    for name in PACKAGES:
        shutil.copytree(ROOT / name, into / name, ignore=ignore)
    for name, folder in IMAGE_PACKAGES.items():
        shutil.copytree(ROOT / folder / name, into / name, ignore=ignore)
    shutil.copy(ROOT / "pyproject.toml", into / "pyproject.toml")
    return into


def lint_imports(folder: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(folder)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo"], cwd=folder, env=env,
        capture_output=True, text=True, timeout=120, check=False,
    )


@pytest.fixture(scope="module")
def lint_report(tmp_path_factory) -> str:
    copy = copy_packages(tmp_path_factory.mktemp("clean"))
    result = lint_imports(copy)
    assert result.returncode == 0, f"the contracts do not hold on main:\n{result.stdout}"
    dirty = copy_packages(tmp_path_factory.mktemp("crossing"))
    for module, (statement, _) in VIOLATIONS.items():
        (dirty / module).write_text(f"{statement}\n")
    result = lint_imports(dirty)
    assert result.returncode != 0
    return result.stdout


@pytest.mark.parametrize("module", sorted(VIOLATIONS))
def test_an_import_across_a_boundary_breaks_its_contract(lint_report, module):
    statement, contract = VIOLATIONS[module]
    assert f"{contract} BROKEN" in lint_report
    importer = module.removesuffix(".py").replace("/", ".")
    assert importer in lint_report, f"{importer} ({statement}) is not reported"


def test_a_cycle_inside_a_part_breaks_the_acyclic_contract(tmp_path):
    copy = copy_packages(tmp_path)
    (copy / "hub" / "errors.py").write_text(
        (copy / "hub" / "errors.py").read_text() + "\nimport hub.spawners.docker  # noqa\n")
    result = lint_imports(copy)
    assert result.returncode != 0
    assert "No import cycles BROKEN" in result.stdout
    assert "No cycles are allowed in hub" in result.stdout


def test_make_lint_runs_the_import_contracts():
    makefile = (ROOT / "Makefile").read_text()
    lint_recipe = makefile.split("\nlint:", 1)[1].split("\n\n", 1)[0]
    assert "lint-imports" in lint_recipe
