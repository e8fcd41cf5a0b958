"""Fixtures shared by every test: one per real component, built once and reused."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def python101_dir() -> Path:
    """The real demo course folder (read-only: copy it with ``course_copy`` to change it)."""
    return REPO_ROOT / "courses" / "python-101"


@pytest.fixture
def course_copy(tmp_path, python101_dir) -> Path:
    """A writable copy of the demo course, for tests that break or edit it."""
    folder = tmp_path / "python-101"
    shutil.copytree(python101_dir, folder)
    return folder


@pytest.fixture
def edit_course_yml() -> Callable[[Path, Callable[[dict], object]], None]:
    """``edit(folder, change)``: load the folder's course.yml, apply ``change``, write it back."""

    def edit(folder: Path, change: Callable[[dict], object]) -> None:
        path = folder / "course.yml"
        data = yaml.safe_load(path.read_text())
        change(data)
        path.write_text(yaml.safe_dump(data, sort_keys=False))

    return edit
