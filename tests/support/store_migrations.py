"""What the tests of the services' revisions share (tests/integration/grading and tutor's
test_store_migrations.py): their databases on SQLite and PostgreSQL, a table's rows as written,
and service processes started at once.

PostgreSQL databases are made on the server of ``DATABASE_URL`` (``make test`` starts it), named
after its database (so two developers' runs never meet) and dropped afterwards.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, create_engine, inspect, select, text
from sqlalchemy.engine import Engine

from servicekit.migrations import Migration, differences
from servicekit.store import Store, database_url
from tests.support.service_hub import PYTHON, ROOT, clean_env

DIALECTS = ("sqlite", "postgresql")
LOCK_WAIT_SECONDS = 60


@contextlib.contextmanager
def new_postgresql_database(purpose: str) -> Iterator[str]:
    """The URL of a new, empty database on ``DATABASE_URL``'s server, dropped afterwards."""
    base = os.environ.get("DATABASE_URL", "")
    assert base.startswith("postgres"), "the PostgreSQL tests need DATABASE_URL"
    server = database_url(base)
    name = f"{server.database}_{purpose}_{secrets.token_hex(4)}"
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


@contextlib.contextmanager
def new_database(dialect: str, folder: Path, purpose: str) -> Iterator[str]:
    """The URL of a new, empty database: a file under ``folder``, or one on PostgreSQL."""
    if dialect == "sqlite":
        (folder / purpose).mkdir(parents=True)
        yield f"sqlite:///{folder / purpose / 'db.sqlite'}"
    else:
        with new_postgresql_database(purpose) as url:
            yield url


def rows_of(engine: Engine, metadata: MetaData) -> dict[str, list[dict[str, Any]]]:
    """Every row of ``metadata``'s tables, read through those tables (their types), in the
    order of their primary keys."""
    with engine.connect() as connection:
        return {
            table.name: [dict(row._mapping) for row in connection.execute(
                select(table).order_by(*table.primary_key.columns)
            )]
            for table in metadata.sorted_tables
        }


def differences_from_the_models(store: type[Store], url: str) -> list[Any]:
    """How the database at ``url`` differs from ``store``'s models (``servicekit.migrations``)."""
    with store.locked(url) as connection:
        return differences(connection, store)


def start_on_an_empty_database(store: type[Store], url: str) -> tuple[Migration, set[str]]:
    """A start of the service on the empty database at ``url``: what it did, and the tables it
    made (but the one that records the revision)."""
    opened = store(url)
    try:
        return opened.migration, set(inspect(opened.engine).get_table_names())
    finally:
        opened.dispose()


def advisory_lock_waiters(url: str) -> int:
    """How many sessions wait for an advisory lock in the database at ``url``."""
    engine = create_engine(database_url(url))
    try:
        with engine.connect() as connection:
            return connection.execute(text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            )).scalar_one()
    finally:
        engine.dispose()


def start_at_once(service: str, store: type[Store], url: str, count: int = 2) -> list[str]:
    """``count`` processes of ``python -m <service> migrations upgrade`` (what a start does),
    started while this test holds the service's advisory lock on PostgreSQL: once all of them
    wait for it, it is let go, and they take turns. What each said, in order, once all ended."""
    env = {**clean_env(), store.variable: url}
    holder = create_engine(database_url(url))
    with holder.connect() as connection, connection.begin():
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": store.tables_lock})
        processes = [
            subprocess.Popen([str(PYTHON), "-m", service, "migrations", "upgrade"], cwd=ROOT,
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(count)
        ]
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        while advisory_lock_waiters(url) < count:
            assert all(process.poll() is None for process in processes), [
                process.communicate() for process in processes
            ]
            assert time.monotonic() < deadline, "the processes never waited for the lock"
            time.sleep(0.1)
    holder.dispose()
    said = []
    for process in processes:
        out, err = process.communicate(timeout=LOCK_WAIT_SECONDS)
        assert process.returncode == 0, err
        said.append(out.strip())
    return sorted(said)
