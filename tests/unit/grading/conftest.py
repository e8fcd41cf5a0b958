"""The grader's unit tests: its settings, a SQLite database in a temporary folder, tar builders.

No hub, no LMS, no Docker: nbgrader's side (``grading.release``) is replaced by fakes
that write plain files, and the LMS by a small local HTTP server or a recording fake.
"""

from __future__ import annotations

import datetime as dt
import io
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from grading.settings import Settings
from grading.store import Database, Release

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def grader_env(tmp_path) -> dict[str, str]:
    """The environment of a grader whose state lives under ``tmp_path``."""
    return {
        "STUDIO_VAR_DIR": str(tmp_path / "var"),
        "STUDIO_COURSES_DIR": str(REPO / "courses"),
        "GRADER_LEASE_SECONDS": "30",
        "GRADER_MAX_ATTEMPTS": "3",
        "GRADER_POLL_SECONDS": "0.05",
        "GRADER_MAX_SUBMISSION_BYTES": "100000",
        "GRADER_MAX_SUBMISSION_FILES": "10",
    }


@pytest.fixture
def grader_settings(grader_env) -> Settings:
    return Settings.from_env(grader_env)


@pytest.fixture
def grader_db(grader_settings):
    db = Database(grader_settings.db_url)
    yield db
    db.dispose()


@pytest.fixture
def release_row(grader_db) -> Callable[..., Release]:
    """``release_row(assignment="ps1-basics", due_at=None, mode="accept", ...)``: a released
    assignment of python-101, written straight to the database."""

    def add(
        assignment: str = "ps1-basics",
        due_at: dt.datetime | None = None,
        mode: str = "accept",
        percent_per_day: float = 0.0,
        cutoff_days: int = 0,
        feedback_auto: bool = True,
    ) -> Release:
        with grader_db.transaction() as session:
            row = Release(
                course="python-101",
                assignment=assignment,
                released_at=dt.datetime.now(dt.UTC),
                due_at=due_at,
                late_policy={"mode": mode, "percent_per_day": percent_per_day,
                             "cutoff_days": cutoff_days},
                notebooks=[f"{assignment}.ipynb"],
                feedback_auto=feedback_auto,
            )
            session.add(row)
        return row

    return add


def _tar(members: list[tuple[tarfile.TarInfo, bytes | None]], gzip: bool = True) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz" if gzip else "w") as archive:
        for info, data in members:
            archive.addfile(info, io.BytesIO(data) if data is not None else None)
    return buffer.getvalue()


@pytest.fixture
def tar_of() -> Callable[..., bytes]:
    """``tar_of({"ps1-basics.ipynb": b"..."})``: a gzipped tar of those files; ``links``
    ``{name: target}`` adds symlinks, ``hardlinks`` hard links, ``gzip=False`` a plain tar."""

    def build(
        files: dict[str, bytes],
        links: dict[str, str] | None = None,
        hardlinks: dict[str, str] | None = None,
        gzip: bool = True,
    ) -> bytes:
        members: list[tuple[tarfile.TarInfo, bytes | None]] = []
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            members.append((info, data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            members.append((info, None))
        for name, target in (hardlinks or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.LNKTYPE
            info.linkname = target
            members.append((info, None))
        return _tar(members, gzip)

    return build


NOTEBOOK = b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'


@pytest.fixture
def notebook_bytes() -> bytes:
    return NOTEBOOK


class FakeCourseOps:
    """Stands in for ``grading.release``: "releases" by writing the student version's
    files where nbgrader would, and records every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Path, str]] = []

    def release(self, course_dir: Path, assignment: str) -> dict:
        self.calls.append(("release", course_dir, assignment))
        folder = self.released_files(course_dir, assignment)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{assignment}.ipynb").write_bytes(NOTEBOOK)
        return {"assignment": assignment}

    def unrelease(self, course_dir: Path, assignment: str) -> None:
        self.calls.append(("unrelease", course_dir, assignment))
        for path in self.released_files(course_dir, assignment).glob("*"):
            path.unlink()

    def released_files(self, course_dir: Path, assignment: str) -> Path:
        return course_dir / "release" / assignment


@pytest.fixture
def course_ops() -> FakeCourseOps:
    return FakeCourseOps()
