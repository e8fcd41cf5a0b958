"""``make backup`` and ``make restore`` (``python -m ops``) on real studios: a studio with real
state is backed up while it runs, the archive is restored into a fresh studio, and every grade,
submission, feedback page and learner file is found there identical.

Studio A (:func:`tests.support.studio.own_studio` with the grader, as ``make up`` runs it): the
instructor releases python-101's first assignment, learner1 fetches it, answers, submits, is
graded in a sandbox with feedback, and keeps a file of their own in their work volume. It is
backed up while it runs, then stopped (and its volumes removed, as own_studio does).

Studio B: another var dir and other Docker names; before its launcher starts, the archive is
restored into it (``before_start``). What was restored is compared with A's state row by row
and file by file (the LMS's gradebook, the grader's database, the grader's course directories,
learner1's volume), then B runs: learner1's server opens the restored volume, the LMS shows the
same grade, and the grader serves the same feedback page.
"""

from __future__ import annotations

import hashlib
import io
import sqlite3
import subprocess
import tarfile
from pathlib import Path

import pytest
from dockerspawner import DockerSpawner

from ops.items import Volume
from servicekit.state import (
    DEFAULT_LEARNER_IMAGE,
    grader_database,
    grader_root,
    lms_database,
    work_volume_prefix,
)
from tests.support.assignment_cycle import (
    ASSIGNMENT,
    COURSE,
    grader_api,
    lab,
    lms_grades,
    panel,
    read_notebook,
    release,
    wait_for_grades,
    write_notebook,
)
from tests.support.assignments import WRONG, answered
from tests.support.studio import PYTHON, ROOT, Studio, own_studio, studio_env

pytestmark = [pytest.mark.docker, pytest.mark.slow]

PREFIX_A, PREFIX_B = "pls-backup-a", "pls-backup-b"
PORTS_A = {"lms": 18900, "hub": 18901, "proxy_api": 18902, "hub_api": 18981, "grader": 18910,
           "formgrader": 18920}
PORTS_B = {name: port + 50 for name, port in PORTS_A.items()}
GRADER = {"GRADER_WORKERS": "1", "GRADER_CELL_TIMEOUT": "10", "GRADER_GRADEBOOK_SCAN_SECONDS": "1"}
LEARNER = "learner1"
NOTES = "my-notes.txt"
NOTES_TEXT = "what I learnt today: floats are not exact\n"


def ops(command: list[str], var_dir: Path, prefix: str) -> subprocess.CompletedProcess:
    """``python -m ops`` for the studio whose state is under ``var_dir`` and ``prefix``."""
    env = studio_env()
    env.update(STUDIO_VAR_DIR=str(var_dir), HUB_DOCKER_PREFIX=prefix)
    return subprocess.run([str(PYTHON), "-m", "ops", *command], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600, check=False)


def table_rows(database: Path, prefix: str) -> dict[str, list[tuple]]:
    """Every row of every table whose name begins with ``prefix``, in a stable order."""
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        tables = [row[0] for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE ?",
            (f"{prefix}%",))]
        return {table: sorted(connection.execute(f'SELECT * FROM "{table}"').fetchall(),  # noqa: S608
                              key=repr)
                for table in sorted(tables)}
    finally:
        connection.close()


def folder_files(folder: Path, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """``{relative path: sha256}`` of every file under ``folder`` but the names in ``skip``."""
    return {path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.rglob("*"))
            if path.is_file() and not path.name.startswith(skip)}


def volume_files(volume: str, scratch: Path) -> dict[str, str]:
    """``{path: sha256}`` of every file in a Docker volume, read as ``ops`` reads it."""
    archive = scratch / f"{volume}.tar"
    Volume(volume, volume, DEFAULT_LEARNER_IMAGE).dump(archive)
    with tarfile.open(archive) as opened:
        return {member.name.removeprefix("./"): hashlib.sha256(
                    opened.extractfile(member).read()).hexdigest()
                for member in opened if member.isfile()}


def work_volume(prefix: str, username: str) -> str:
    return f"{work_volume_prefix(prefix)}{DockerSpawner._escape(username)}"


def feedback_pages(studio: Studio) -> dict[str, dict[str, str]]:
    """learner1's feedback by submission, as the grader serves it to learner1 (a .tar.gz made
    on each request, so its gzip header's time differs): ``{path: sha256}`` of its files."""
    listed = grader_api(studio, LEARNER, "GET",
                        f"courses/{COURSE}/assignments/{ASSIGNMENT}/submissions")
    assert listed.status_code == 200, listed.text
    pages = {}
    for submission in listed.json()["submissions"]:
        path = (f"courses/{COURSE}/assignments/{ASSIGNMENT}/submissions/{submission['id']}"
                "/feedback")
        page = grader_api(studio, LEARNER, "GET", path)
        assert page.status_code == 200, page.text
        with tarfile.open(fileobj=io.BytesIO(page.content)) as archive:
            pages[str(submission["id"])] = {
                member.name: hashlib.sha256(archive.extractfile(member).read()).hexdigest()
                for member in archive if member.isfile()}
    return pages


def state_of(var_dir: Path) -> dict:
    """What must survive a backup in the var dir: the LMS's gradebook rows, the grader's
    database rows, the grader's files (submissions, exchange, feedback, course directories)."""
    return {
        "lms gradebook": table_rows(lms_database(var_dir), "gradebook_"),
        "grader database": table_rows(grader_database(var_dir), "grader_"),
        "grader files": folder_files(grader_root(var_dir), skip=("grader.sqlite",)),
    }


def test_a_studio_restored_from_its_backup_has_every_grade_submission_feedback_and_file(
        tmp_path_factory):
    scratch = tmp_path_factory.mktemp("backup")
    archive = scratch / "studio.tar.gz"

    # -- studio A: real state, backed up while it runs -----------------------------------------
    with own_studio(tmp_path_factory, PREFIX_A, PORTS_A, grader=True, **GRADER) as own_a:
        a = own_a.studio
        release(a)
        a.login(LEARNER)
        listed = panel(a, LEARNER)
        if [x["status"] for x in listed if x["assignment_id"] == ASSIGNMENT] == ["released"]:
            panel(a, LEARNER, "fetch")
        write_notebook(a, LEARNER, answered(read_notebook(a, LEARNER),
                                            instead={"ps1-grade-answer": WRONG}))
        panel(a, LEARNER, "submit")
        (graded,) = wait_for_grades(a, LEARNER, 1)
        assert graded["status"] == "graded", graded
        panel(a, LEARNER, "fetch_feedback")
        saved = lab(a, LEARNER, "PUT", f"api/contents/{NOTES}",
                    json={"type": "file", "format": "text", "content": NOTES_TEXT})
        assert saved.status_code in {200, 201}, saved.text
        grades_a = lms_grades(a, LEARNER)
        feedback_a = feedback_pages(a)
        assert any(name.endswith(".html") for files in feedback_a.values() for name in files), (
            "learner1's submission has a feedback page")

        made = ops(["backup", str(archive)], a.var_dir, own_a.prefix)
        assert made.returncode == 0, made.stdout + made.stderr
        verified = ops(["verify", str(archive)], a.var_dir, own_a.prefix)
        assert verified.returncode == 0, verified.stdout + verified.stderr
        volume_a = volume_files(work_volume(own_a.prefix, LEARNER), scratch)
        assert NOTES in volume_a
    # A's volume went with A (own_studio removes it): it was read while A ran
    state_a = state_of(a.var_dir) | {"learner volume": volume_a}
    assert state_a["lms gradebook"] and state_a["grader database"]["grader_submissions"]
    assert any("feedback" in path for path in state_a["grader files"])

    # -- studio B: fresh, the archive restored before it starts --------------------------------
    restored: dict = {}

    def restore_into(var_dir: Path, env: dict[str, str]) -> None:
        prefix = env["HUB_DOCKER_PREFIX"]
        done = ops(["restore", str(archive)], var_dir, prefix)
        assert done.returncode == 0, done.stdout + done.stderr
        restored["said"] = done.stdout
        restored["state"] = state_of(var_dir) | {
            "learner volume": volume_files(work_volume(prefix, LEARNER), scratch)}
        again = ops(["restore", str(archive)], var_dir, prefix)
        restored["again"] = (again.returncode, again.stderr)

    with own_studio(tmp_path_factory, PREFIX_B, PORTS_B, grader=True, before_start=restore_into,
                    **GRADER) as own_b:
        b = own_b.studio
        for key in state_a:
            assert restored["state"][key] == state_a[key], f"{key} differs after the restore"
        assert "learner-volume:learner1" in restored["said"]
        code, said = restored["again"]
        assert code == 1 and "not empty" in said and "--force" in said and "Traceback" not in said

        b.login(LEARNER)
        notes = lab(b, LEARNER, "GET", f"api/contents/{NOTES}")
        assert notes.status_code == 200, notes.text
        assert notes.json()["content"] == NOTES_TEXT
        assert lms_grades(b, LEARNER) == grades_a
        assert feedback_pages(b) == feedback_a
