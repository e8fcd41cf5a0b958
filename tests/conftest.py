"""Fixtures shared by every test: one per real component, built once and reused.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.support.lms_databases import drop_postgresql_test_database, postgresql_test_database

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


@pytest.fixture(scope="session")
def django_db_setup(
    request,
    django_test_environment,
    django_db_blocker,
    django_db_use_migrations,
    django_db_keepdb,
    django_db_createdb,
    django_db_modify_db_settings,
):
    """pytest-django's test database (one per xdist worker), copied from a migrated template
    (:mod:`tests.support.lms_databases`) instead of migrated afresh, and dropped at the end.
    ``--reuse-db``, ``--no-migrations`` and databases other than PostgreSQL take
    pytest-django's own way."""
    from django.db import connections
    from pytest_django.fixtures import django_db_setup as pytest_djangos

    connection = connections["default"]
    templated = (connection.vendor == "postgresql" and django_db_use_migrations
                 and not (django_db_keepdb and not django_db_createdb))
    if not templated:
        yield from pytest_djangos.__wrapped__(
            request, django_test_environment, django_db_blocker, django_db_use_migrations,
            django_db_keepdb, django_db_createdb, django_db_modify_db_settings,
        )
        return
    serialize = any(marker.kwargs.get("serialized_rollback")
                    for item in request.session.items for marker in item.iter_markers("django_db"))
    with django_db_blocker.unblock():
        name = postgresql_test_database(connection, serialize=serialize)
    yield
    with django_db_blocker.unblock():
        drop_postgresql_test_database(connection, name)
