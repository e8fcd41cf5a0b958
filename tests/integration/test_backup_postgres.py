"""``python -m ops`` on a studio whose LMS is on PostgreSQL (``DATABASE_URL``, as in
production): ``pg_dump``'s custom format restored with ``pg_restore`` into an empty database,
refused into one with tables unless forced. Databases of the test's own on the tests'
PostgreSQL (``DATABASE_URL``'s server, as the LMS's tests)."""

from __future__ import annotations

import json
import os
import secrets
import tarfile
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

import ops.stacks
from ops.cli import main
from ops.items import libpq_url

SERVER = libpq_url(os.environ.get("DATABASE_URL", "postgres://studio:studio@127.0.0.1:5432/studio"))


def database_url(name: str) -> str:
    return urlunsplit(urlsplit(SERVER)._replace(path=f"/{name}"))


@pytest.fixture
def databases() -> Iterator[tuple[str, str]]:
    """Two new databases of this test's own: the studio's and a fresh studio's."""
    names = [f"studio_backup_{which}_{secrets.token_hex(3)}" for which in ("a", "b")]
    with psycopg.connect(database_url("postgres"), autocommit=True) as admin:
        for name in names:
            admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield database_url(names[0]), database_url(names[1])
    finally:
        with psycopg.connect(database_url("postgres"), autocommit=True) as admin:
            for name in names:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_an_lms_on_postgresql_is_dumped_and_restored_into_an_empty_database(
        databases, tmp_path, monkeypatch, capsys):
    studio, fresh = databases
    with psycopg.connect(studio) as connection:
        connection.execute("CREATE TABLE django_migrations (id serial, app text, name text)")
        connection.execute("CREATE TABLE gradebook_grade (learner text, score numeric)")
        connection.execute("INSERT INTO django_migrations (app, name) VALUES "
                           "('gradebook', '0007_latest')")
        connection.execute("INSERT INTO gradebook_grade VALUES ('learner1', 6.5)")
    monkeypatch.setattr(ops.stacks, "docker_engine_answers", lambda: False)
    monkeypatch.setenv("STUDIO_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("STUDIO_COURSES_DIR", str(tmp_path / "courses"))
    monkeypatch.setenv("DATABASE_URL", studio)
    archive = tmp_path / "backup.tar.gz"
    assert main(["backup", str(archive)]) == 0, capsys.readouterr().err
    with tarfile.open(archive) as opened:
        manifest = json.load(opened.extractfile("manifest.json"))
    (lms,) = [item for item in manifest["items"] if item["name"] == "lms-database"]
    assert (lms["kind"], lms["schema"]) == (
        "postgres", {"django_migrations": {"gradebook": "0007_latest"}})

    monkeypatch.setenv("STUDIO_VAR_DIR", str(tmp_path / "fresh"))
    monkeypatch.setenv("DATABASE_URL", fresh)
    assert main(["restore", str(archive)]) == 0, capsys.readouterr().err
    with psycopg.connect(fresh) as connection:
        grades = connection.execute("SELECT learner, score FROM gradebook_grade").fetchall()
    assert [(learner, float(score)) for learner, score in grades] == [("learner1", 6.5)]
    capsys.readouterr()

    assert main(["restore", str(archive)]) == 1
    said = capsys.readouterr().err
    assert "has tables" in said and "--force" in said
    assert main(["restore", str(archive), "--force"]) == 0
    with psycopg.connect(fresh) as connection:
        assert connection.execute("SELECT count(*) FROM gradebook_grade").fetchone() == (1,)
