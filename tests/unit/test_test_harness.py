"""The test suite's own harness (tests/support, tests/conftest.py): what keeps its parts apart
when two pytest-xdist workers run them side by side, and the migrated LMS template's key."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import lms_databases, studio

ROOT = Path(__file__).resolve().parents[2]


def listing(*rows: tuple[str, str, str]) -> subprocess.CompletedProcess:
    """``docker container ls`` as ``under_prefix`` asks for it: name, user label, role label."""
    out = "".join(f"{name}\t{user}\t{role}\n" for name, user, role in rows)
    return subprocess.CompletedProcess([], 0, stdout=out, stderr="")


def test_a_studio_owns_its_learners_containers_not_those_of_prefixes_that_begin_like_its_own(
    monkeypatch,
):
    monkeypatch.setattr(studio, "docker", lambda *args, **kwargs: listing(
        ("pls-e2e-learner1", "learner1", ""),
        ("pls-e2e-e2e-2dlearner", "e2e-learner", ""),  # dockerspawner escapes "-" as "-2d"
        ("pls-e2e-ai-learner1", "learner1", ""),  # the AI studio's, prefix pls-e2e-ai
        ("pls-e2e-gw1-learner1", "learner1", ""),  # worker gw1's studio
        ("pls-e2e-grading-0a1b2c", "", "grading"),  # the studio's grader's sandbox
        ("pls-e2e-floor-1", "", ""),  # something else's, unlabelled
    ))
    assert studio.under_prefix("container", "pls-e2e") == {
        "pls-e2e-learner1", "pls-e2e-e2e-2dlearner"}
    assert studio.under_prefix("container", "pls-e2e", grader=True) == {
        "pls-e2e-learner1", "pls-e2e-e2e-2dlearner", "pls-e2e-grading-0a1b2c"}


def test_a_studio_without_a_grader_leaves_other_tests_sandboxes_alone(monkeypatch):
    monkeypatch.setattr(studio, "docker", lambda *args, **kwargs: listing(
        ("pls-test-learner2", "learner2", ""),
        ("pls-test-grading-3f2a1c-9d8e7f6a5b4c", "", "grading"),  # the autograde tests'
    ))
    assert studio.under_prefix("container", "pls-test") == {"pls-test-learner2"}


@pytest.mark.parametrize(("worker", "prefix", "lms_port"), [
    (None, "pls-test", 18000), ("gw0", "pls-test", 18000), ("gw1", "pls-test-gw1", 19000),
    ("gw2", "pls-test-gw2", 20000),
])
def test_each_xdist_worker_gives_a_studio_names_and_ports_of_its_own(
    monkeypatch, worker, prefix, lms_port
):
    if worker is None:
        monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    else:
        monkeypatch.setenv("PYTEST_XDIST_WORKER", worker)
    assert studio.for_this_worker("pls-test", studio.PREFERRED_PORTS) == (
        prefix, {name: port - 18000 + lms_port for name, port in studio.PREFERRED_PORTS.items()})


def test_the_lms_template_is_named_anew_when_a_migration_changes(tmp_path, monkeypatch):
    migrations = tmp_path / "lms" / "courses" / "migrations"
    migrations.mkdir(parents=True)
    (tmp_path / "lms" / "settings").mkdir()
    (tmp_path / "lms" / "settings" / "base.py").write_text("DEBUG = False\n")
    (migrations / "0001_initial.py").write_text("operations = []\n")
    monkeypatch.setattr(lms_databases, "ROOT", tmp_path)
    first = lms_databases.schema_key()
    assert lms_databases.schema_key() == first
    (migrations / "0001_initial.py").write_text("operations = ['changed']\n")
    edited = lms_databases.schema_key()
    (migrations / "0002_more.py").write_text("operations = []\n")
    added = lms_databases.schema_key()
    (tmp_path / "lms" / "settings" / "base.py").write_text("DEBUG = True\n")
    assert len({first, edited, added, lms_databases.schema_key()}) == 4


def test_a_modules_tests_run_in_one_xdist_worker_under_their_group(tmp_path):
    """Two modules under ``-n 2 --dist loadgroup``: each module's tests all in one worker, their
    nodeids carrying the module's group (what pytest-xdist's scheduler reads)."""
    modules = ["tests/unit/test_launcher.py", "tests/unit/test_compose_file.py"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    ran = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:django",  # faster
         "-n", "2", "--dist", "loadgroup", "-v", "--basetemp", str(tmp_path / "run"), *modules],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    passed = re.findall(r"^\[(gw\d)\] .*PASSED (\S+)\s*$", ran.stdout, re.MULTILINE)
    assert passed, ran.stdout[-3000:]
    for module in modules:
        mine = [(worker, nodeid) for worker, nodeid in passed if nodeid.startswith(module)]
        assert len(mine) > 1, (module, ran.stdout[-3000:])
        assert len({worker for worker, _ in mine}) == 1, mine
        assert all(nodeid.endswith(f"@{module}") for _, nodeid in mine), mine
