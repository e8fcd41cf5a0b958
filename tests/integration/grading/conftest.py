"""Fixtures of the grading tests that autograde through the real sandbox (a Docker engine): the
course's image, a ``GRADER_ROOT`` of the module's own and a warm sandbox. What they grade with
is in ``tests/support/autograding.py``."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from grading.sandbox import Sandbox
from tests.support.autograding import new_sandbox

ROOT = Path(__file__).resolve().parents[3]
IMAGE = "pls-notebook:latest"


@pytest.fixture(scope="module")
def grading_image() -> str:
    """The course's image, built from this tree (a no-op when up to date), with the runner."""
    built = subprocess.run([str(ROOT / ".ci" / "provision"), "docker", "images"], cwd=ROOT,
                           capture_output=True, text=True, timeout=3600, check=False)
    assert built.returncode == 0, f"provisioning failed:\n{built.stdout}\n{built.stderr}"
    probe = subprocess.run(["docker", "run", "--rm", "--network", "none", IMAGE, "python", "-c",
                            "import pls_grading.execute"],
                           capture_output=True, text=True, timeout=120, check=False)
    assert probe.returncode == 0, f"{IMAGE} has no pls_grading: {probe.stderr}"
    return IMAGE


@pytest.fixture(scope="module")
def grader_root(tmp_path_factory) -> Iterator[Path]:
    """A GRADER_ROOT of this module's own; STUDIO_COURSES_DIR is the repo's courses/."""
    root = tmp_path_factory.mktemp("grader")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("STUDIO_VAR_DIR", str(root / "var"))
        patch.setenv("GRADER_ROOT", str(root))
        patch.setenv("STUDIO_COURSES_DIR", str(ROOT / "courses"))
        yield root


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    """The module's sandbox, with a warm pool of one: each notebook still runs in a fresh
    container, started while the previous submission was graded. (Cold starts are the tests'
    that make a sandbox of their own.)"""
    box = new_sandbox(pool_size=1)
    yield box
    box.close()
