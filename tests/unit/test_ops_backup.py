"""``python -m ops`` on ``make up``'s state without Docker: SQLite databases copied with the
online backup API, folders, the manifest's checksums, and a restore that refuses to overwrite.

The Docker volumes and a whole studio: ``tests/integration/test_backup_restore.py``.
"""

from __future__ import annotations

import io
import json
import sqlite3
import tarfile
from pathlib import Path

import pytest

import ops.stacks
from ops.cli import main
from servicekit.state import grader_database, grader_root, lms_database, lms_media


@pytest.fixture(autouse=True)
def no_docker(monkeypatch):
    """These tests are about files: no engine, so no learners' volumes."""
    monkeypatch.setattr(ops.stacks, "docker_engine_answers", lambda: False)


def make_database(path: Path, rows: list[tuple[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE django_migrations (id INTEGER PRIMARY KEY, app, name)")
        connection.executemany("INSERT INTO django_migrations (app, name) VALUES (?, ?)", rows)
    connection.close()


def rows(path: Path, table: str = "django_migrations") -> list[tuple]:
    with sqlite3.connect(path) as connection:
        found = connection.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()  # noqa: S608
    connection.close()
    return found


@pytest.fixture
def studio(tmp_path, monkeypatch) -> Path:
    """A stopped ``make up`` studio's var dir: the LMS's database and uploads, the grader's
    database and a submission, and course folders of its own."""
    var = tmp_path / "studio"
    make_database(lms_database(var), [("gradebook", "0001_initial"), ("gradebook", "0002_b")])
    grader_root(var).mkdir(parents=True)
    with sqlite3.connect(grader_database(var)) as connection:
        connection.execute("CREATE TABLE grader_schema_version (version_num)")
        connection.execute("INSERT INTO grader_schema_version VALUES ('0003')")
    connection.close()
    submission = grader_root(var) / "courses" / "python-101" / "submitted" / "learner1" / "ps1"
    submission.mkdir(parents=True)
    (submission / "ps1.ipynb").write_text('{"cells": []}')
    lms_media(var).mkdir()
    (lms_media(var) / "avatar.png").write_bytes(b"\x89PNG")
    courses = tmp_path / "courses"
    (courses / "python-101").mkdir(parents=True)
    (courses / "python-101" / "course.yml").write_text("slug: python-101\n")
    (courses / "course_file.py").write_text("# a module beside the course folders\n")
    use(monkeypatch, var, courses)
    return var


def use(monkeypatch, var: Path, courses: Path) -> None:
    """Run ``ops`` on the studio at ``var`` (and ``courses``), as the parts find it."""
    for name in ("DATABASE_URL", "HUB_DB_URL", "GRADER_DB_URL", "GRADER_ROOT", "TUTOR_DB_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("STUDIO_VAR_DIR", str(var))
    monkeypatch.setenv("STUDIO_COURSES_DIR", str(courses))


def backed_up(studio: Path, capsys) -> Path:
    archive = studio.parent / "backup.tar.gz"
    assert main(["backup", str(archive)]) == 0, capsys.readouterr().err
    capsys.readouterr()
    return archive


def manifest_of(archive: Path) -> dict:
    with tarfile.open(archive) as opened:
        return json.load(opened.extractfile("manifest.json"))


def test_a_backup_restored_into_a_fresh_studio_has_the_same_rows_and_files(
        studio, tmp_path, monkeypatch, capsys):
    archive = backed_up(studio, capsys)
    fresh = tmp_path / "fresh"
    use(monkeypatch, fresh, tmp_path / "fresh-courses")

    assert main(["restore", str(archive)]) == 0
    said = capsys.readouterr().out
    assert rows(lms_database(fresh)) == rows(lms_database(studio))
    assert rows(grader_database(fresh), "grader_schema_version") == [("0003",)]
    submitted = Path("courses/python-101/submitted/learner1/ps1/ps1.ipynb")
    assert (grader_root(fresh) / submitted).read_text() == '{"cells": []}'
    assert (lms_media(fresh) / "avatar.png").read_bytes() == b"\x89PNG"
    assert (tmp_path / "fresh-courses" / "python-101" / "course.yml").is_file()
    assert not (tmp_path / "fresh-courses" / "course_file.py").exists()  # code, not a course
    assert "lms-database" in said and str(lms_database(fresh)) in said
    assert "Restored" in said


def test_the_manifest_has_each_items_checksum_schema_revisions_and_versions(studio, capsys):
    manifest = manifest_of(backed_up(studio, capsys))
    items = {item["name"]: item for item in manifest["items"]}
    assert set(items) == {"lms-database", "grader-database", "lms-media", "grader-root",
                          "courses"}  # no hub, tutor or volumes in this studio
    assert all(len(item["sha256"]) == 64 and item["bytes"] > 0 for item in items.values())
    assert items["lms-database"]["schema"] == {"django_migrations": {"gradebook": "0002_b"}}
    assert items["grader-database"]["schema"] == {"grader_schema_version": ["0003"]}
    assert manifest["versions"]["sqlite"] == sqlite3.sqlite_version
    assert "nbgrader" in manifest["versions"]
    with tarfile.open(studio.parent / "backup.tar.gz") as opened, \
            tarfile.open(fileobj=opened.extractfile(items["grader-root"]["file"])) as folder:
        names = folder.getnames()
    assert "grader.sqlite" not in names  # the database is its own item, copied consistently


def test_a_running_studios_database_is_copied_with_what_is_committed(studio, capsys):
    writer = sqlite3.connect(lms_database(studio))
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("INSERT INTO django_migrations (app, name) VALUES ('lms', 'committed')")
    writer.commit()
    writer.execute("INSERT INTO django_migrations (app, name) VALUES ('lms', 'uncommitted')")
    try:
        manifest = manifest_of(backed_up(studio, capsys))
    finally:
        writer.rollback()
        writer.close()
    (lms,) = [item for item in manifest["items"] if item["name"] == "lms-database"]
    assert lms["schema"]["django_migrations"]["lms"] == "committed"


def test_a_restore_refuses_a_studio_that_is_not_empty_unless_forced(studio, capsys):
    archive = backed_up(studio, capsys)
    with sqlite3.connect(lms_database(studio)) as connection:
        connection.execute("DELETE FROM django_migrations")
    connection.close()

    assert main(["restore", str(archive)]) == 1
    said = capsys.readouterr().err
    assert "not empty" in said and str(lms_database(studio)) in said and "--force" in said
    assert rows(lms_database(studio)) == []  # untouched

    assert main(["restore", str(archive), "--force"]) == 0
    assert len(rows(lms_database(studio))) == 2


def test_a_damaged_archive_is_refused_before_anything_is_restored(
        studio, tmp_path, monkeypatch, capsys):
    archive = backed_up(studio, capsys)
    damaged = tmp_path / "damaged.tar.gz"
    with tarfile.open(archive) as source, tarfile.open(damaged, "w:gz") as target:
        for member in source:
            data = source.extractfile(member) if member.isfile() else None
            if member.name == "items/lms-database.sqlite3":
                content = data.read() + b"tampered"
                member.size = len(content)
                data = io.BytesIO(content)
            target.addfile(member, data)
    fresh = tmp_path / "fresh"
    use(monkeypatch, fresh, tmp_path / "fresh-courses")

    assert main(["verify", str(damaged)]) == 1
    assert "lms-database" in capsys.readouterr().err
    assert main(["restore", str(damaged)]) == 1
    said = capsys.readouterr().err
    assert "checksum" in said and "nothing was restored" in said
    assert not fresh.exists()


def test_errors_are_sentences_not_tracebacks(studio, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", "mysql://studio@db/lms")
    assert main(["backup", str(tmp_path / "x.tar.gz")]) == 1
    said = capsys.readouterr().err
    assert "DATABASE_URL" in said and "Traceback" not in said

    monkeypatch.delenv("DATABASE_URL")
    assert main(["restore", str(tmp_path / "missing.tar.gz")]) == 1
    assert "There is no archive at" in capsys.readouterr().err

    (tmp_path / "junk.tar.gz").write_bytes(b"not an archive")
    assert main(["verify", str(tmp_path / "junk.tar.gz")]) == 1
    assert "is not a studio backup" in capsys.readouterr().err


def test_make_backup_writes_a_timestamped_archive_under_var_backups(studio, capsys):
    assert main(["backup"]) == 0
    (archive,) = (studio / "backups").glob("studio-backup-*.tar.gz")
    assert archive.stat().st_mode & 0o077 == 0  # every account's data: the owner's alone
    assert f"Backup written: {archive}" in capsys.readouterr().out
