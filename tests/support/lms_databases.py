"""The LMS's databases for tests, migrated once and copied.

Migrating the LMS (Django, Wagtail, the OAuth provider and the LMS's own apps: 250-odd
migrations) takes 20-50 s on this machine, and the suite needs a migrated LMS for every whole
studio (each on a fresh SQLite) and every pytest-xdist worker (PostgreSQL). Here the
migrated database is built once and kept as a template, named by :func:`schema_key`, which covers
everything the migrated schema depends on: the LMS's migrations and settings and every installed
package (Django's and Wagtail's migrations come with them). A change to any of them gives a new
key, so a stale template is never used, from a clean clone or after switching branches; the
templates of other keys are removed when a new one is built.

- :func:`sqlite_template`: a migrated ``lms.sqlite3`` in ``var/cache/tests/`` (git-ignored);
  :func:`tests.support.studio.own_studio` copies it into each studio's var dir, where the LMS's
  own ``migrate`` then finds nothing to do.
- :func:`postgresql_test_database`: pytest-django's test database (one per xdist worker) created
  with PostgreSQL's ``CREATE DATABASE ... TEMPLATE`` from a migrated template database kept on
  the server, instead of migrating each one; dropped at the end as pytest-django drops it.

Builders of one template take a lock (a file lock; PostgreSQL's advisory lock), so the xdist
workers that need it at the same time build it once.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.metadata
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYTHON = ROOT / ".venv" / "bin" / "python"
CACHE = ROOT / "var" / "cache" / "tests"
MIGRATE_SECONDS = 600


def schema_key() -> str:
    """A hash of what the migrated LMS schema depends on: the LMS's migration files and settings,
    and the name and version of every installed distribution."""
    digest = hashlib.sha256()
    sources = sorted((ROOT / "lms").glob("*/migrations/*.py"))
    sources += sorted((ROOT / "lms" / "settings").glob("*.py"))
    for path in sources:
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    installed = sorted({f"{d.metadata['Name']}=={d.version}"
                        for d in importlib.metadata.distributions()})
    digest.update("\n".join(installed).encode())
    return digest.hexdigest()[:12]


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# -- SQLite: the whole studio's LMS ------------------------------------------------------------


def sqlite_template(env: dict[str, str]) -> Path:
    """A migrated ``lms.sqlite3`` (built on first use with ``python -m lms migrate`` in the
    environment ``env`` the studio's LMS runs in); copy it, never open it."""
    key = schema_key()
    template = CACHE / f"lms-{key}.sqlite3"
    if template.exists():
        return template
    CACHE.mkdir(parents=True, exist_ok=True)
    with _file_lock(CACHE / "lms-sqlite.lock"):
        if template.exists():  # another worker built it while this one waited
            return template
        work = Path(tempfile.mkdtemp(prefix="lms-template-", dir=CACHE))
        try:
            env = {**env, "STUDIO_VAR_DIR": str(work), "DJANGO_SETTINGS_MODULE": "lms.settings.dev"}
            migrated = subprocess.run(
                [str(PYTHON), "-m", "lms", "migrate", "--no-input", "-v", "0"], cwd=ROOT, env=env,
                capture_output=True, text=True, timeout=MIGRATE_SECONDS, check=False,
            )
            assert migrated.returncode == 0, ("migrating the LMS's template database failed:\n"
                                              f"{migrated.stdout}\n{migrated.stderr}")
            os.replace(work / "lms.sqlite3", template)  # whole, or not at all
        finally:
            shutil.rmtree(work, ignore_errors=True)
        for old in CACHE.glob("lms-*.sqlite3"):
            if old != template:
                old.unlink(missing_ok=True)
    return template


# -- PostgreSQL: pytest-django's test databases ------------------------------------------------


def _admin(settings_dict: dict):
    """An autocommit connection to the server's ``postgres`` database, as the test role."""
    import psycopg

    return psycopg.connect(
        dbname="postgres", host=settings_dict.get("HOST") or None,
        port=settings_dict.get("PORT") or None, user=settings_dict.get("USER") or None,
        password=settings_dict.get("PASSWORD") or None, autocommit=True,
    )


def _exists(admin, name: str) -> bool:
    found = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    return found is not None


def _build_postgresql_template(connection, template: str) -> None:
    """Migrate a new database the way pytest-django would, and keep it as ``template``."""
    from django.conf import settings

    building = f"{template}_new"
    name = connection.settings_dict["NAME"]
    test = connection.settings_dict.setdefault("TEST", {})
    wanted = test.get("NAME")
    test["NAME"] = building
    try:
        connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    finally:
        connection.close()
        test["NAME"] = wanted
        connection.settings_dict["NAME"] = name
        settings.DATABASES[connection.alias]["NAME"] = name
    with _admin(connection.settings_dict) as admin:
        admin.execute(f'ALTER DATABASE "{building}" RENAME TO "{template}"')


def postgresql_test_database(connection, serialize: bool = False) -> str:
    """Create the test database pytest-django would create for ``connection`` (its name, with
    the xdist worker's suffix, from the connection's settings) as a copy of the migrated
    template, and point the connection at it, as Django's ``create_test_db`` does. Returns the
    database's own name, for :func:`drop_postgresql_test_database`."""
    from django.conf import settings

    name = connection.settings_dict["NAME"]
    test_name = connection.settings_dict.get("TEST", {}).get("NAME") or f"test_{name}"
    template = f"test_{name}_tpl_{schema_key()}"
    lock = int.from_bytes(hashlib.sha256(f"pls-template {name}".encode()).digest()[:8], "big",
                          signed=True)
    with _admin(connection.settings_dict) as admin:
        admin.execute("SELECT pg_advisory_lock(%s)", (lock,))
        try:
            if not _exists(admin, template):
                admin.execute(f'DROP DATABASE IF EXISTS "{template}_new"')
                _build_postgresql_template(connection, template)
                stale = admin.execute(
                    "SELECT datname FROM pg_database WHERE datname LIKE %s AND datname <> %s",
                    (f"test_{name}_tpl_%", template),
                ).fetchall()
                for (old,) in stale:
                    with contextlib.suppress(Exception):  # in use by another run: next time
                        admin.execute(f'DROP DATABASE "{old}"')
            admin.execute(f'DROP DATABASE IF EXISTS "{test_name}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{test_name}" TEMPLATE "{template}"')
        finally:
            admin.execute("SELECT pg_advisory_unlock(%s)", (lock,))
    connection.close()
    settings.DATABASES[connection.alias]["NAME"] = test_name
    connection.settings_dict["NAME"] = test_name
    if serialize:
        connection._test_serialized_contents = connection.creation.serialize_db_to_string()
    connection.ensure_connection()
    return name


def drop_postgresql_test_database(connection, name: str) -> None:
    """Drop the test database and point the connection back at ``name``."""
    connection.creation.destroy_test_db(old_database_name=name, verbosity=0)
