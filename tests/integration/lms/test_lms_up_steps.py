"""``python -m lms.up``, the LMS's one start-up for ``make up`` and the image: which steps run is
decided by settings, and it ends as gunicorn on ``LMS_BIND`` with ``LMS_WORKERS`` workers."""

from __future__ import annotations

import os

import pytest
from django.core import management

from lms import up


@pytest.fixture
def commands(monkeypatch, settings, tmp_path):
    """The management commands ``prepare`` runs, recorded instead of run, with two course
    folders (and one folder that is not a course)."""
    ran: list[tuple] = []
    monkeypatch.setattr(management, "call_command", lambda *args, **kw: ran.append(args))
    for name in ("HUB_OAUTH_CLIENT_ID", "HUB_OAUTH_CLIENT_ID_FILE", "LMS_GRADER_TOKEN",
                 "LMS_GRADER_TOKEN_FILE", "LMS_TUTOR_TOKEN", "LMS_TUTOR_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    for folder in ("python-101", "data-201"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "course.yml").write_text("slug: x\n")
    (tmp_path / "notes").mkdir()
    settings.STUDIO_COURSES_DIR = tmp_path
    settings.LMS_COLLECT_STATIC, settings.LMS_IMPORT_COURSES, settings.LMS_SEED_DEMO = (
        True, True, False)
    return ran


def test_the_image_imports_every_course_and_leaves_static_files_as_built(commands, settings,
                                                                         tmp_path):
    settings.LMS_COLLECT_STATIC = False
    up.prepare()
    assert commands[0][0] == "migrate"
    assert "collectstatic" not in [c[0] for c in commands]
    assert ("import_course", str(tmp_path / "data-201"), str(tmp_path / "python-101")) in commands
    assert "seed_demo" not in [c[0] for c in commands]


def test_make_up_collects_static_files_and_seeds_the_demo_which_imports_the_courses(
    commands, settings
):
    settings.LMS_SEED_DEMO = True
    up.prepare()
    names = [c[0] for c in commands]
    assert names == ["migrate", "collectstatic", "seed_demo"]


def test_no_course_import_when_turned_off(commands, settings):
    settings.LMS_IMPORT_COURSES = False
    up.prepare()
    assert [c[0] for c in commands] == ["migrate", "collectstatic"]


def test_the_hub_client_is_registered_when_its_id_is_given(commands, monkeypatch):
    monkeypatch.setenv("HUB_OAUTH_CLIENT_ID", "jupyterhub")
    up.prepare()
    assert ("register_hub_client",) in commands


def test_serve_becomes_gunicorn_on_the_bind_address_with_the_workers(monkeypatch, settings,
                                                                     tmp_path):
    settings.LMS_BIND, settings.LMS_WORKERS, settings.LMS_THREADS = "0.0.0.0:8000", 5, 3
    settings.VAR_DIR = tmp_path  # where its workers' metrics go
    became: list[tuple] = []
    monkeypatch.setattr(os, "execv", lambda path, argv: became.append((path, argv)))
    up.serve()
    ((path, argv),) = became
    assert str(path).endswith("gunicorn") and argv[0] == str(path)
    assert argv[1:8] == ["lms.wsgi", "--bind", "0.0.0.0:8000", "--workers", "5", "--threads", "3"]


def test_the_gunicorn_workers_count_their_metrics_into_one_fresh_folder(monkeypatch, settings,
                                                                         tmp_path):
    settings.VAR_DIR = tmp_path
    left = tmp_path / "metrics" / "lms" / "counter_123.db"  # an earlier run's worker's counts
    left.parent.mkdir(parents=True)
    left.write_bytes(b"old")
    became: list[tuple] = []
    monkeypatch.setattr(os, "execv", lambda path, argv: became.append((path, argv)))
    up.serve()
    ((_, argv),) = became
    assert argv[argv.index("--env") + 1] == f"PROMETHEUS_MULTIPROC_DIR={left.parent}"
    assert left.parent.is_dir() and not any(left.parent.iterdir())
