"""A hub service's schema history: its Alembic revisions, run when the service starts.

A service's tables change only by a revision: a file of ``op.…`` calls in the service's own
folder (``grading/migrations/``, ``tutor/migrations/``), numbered ``0001``, ``0002``, …, each
revising the one before. servicekit runs them with Alembic, configured here in code (no
``alembic.ini``); the one ``env.py`` and revision template every service uses are in
``servicekit/migration_env/``. The service's ``Store`` (``servicekit.store``) says where its
revisions are, which table holds a database's revision (one per service: services, and
JupyterHub with its ``alembic_version``, may share a PostgreSQL database) and how to recognise a
database made before there were revisions.

:func:`upgrade` is what ``Store(url)`` does on start, in one transaction that holds the
service's lock (``Store.locked``: PostgreSQL's advisory lock, SQLite's write lock), so
processes starting at once take turns: the first upgrades, the others then find nothing to do.

- A new database (none of the service's tables) is made by running every revision.
- A database made before the revisions, by ``create_all`` (and the columns added since by
  ``ALTER TABLE … ADD COLUMN``), has the tables and no revision: it is recognised by its tables
  and columns (``Store.legacy_revisions``), stamped with the revision it equals, then upgraded.
- A database at a revision this code does not know (a newer version of the service upgraded it)
  or whose tables fit no revision is refused with a sentence naming the variable
  (:class:`SchemaError`); so is a revision that fails, and the database is left as it was.
- On SQLite the migrating connection runs with foreign keys off (a revision that rebuilds a
  table others refer to drops and recreates it, as SQLite's ALTER TABLE procedure says) and
  ``PRAGMA foreign_key_check`` must find nothing before it commits.

A database only moves forward: revisions have no downgrade (going back is restoring a backup).

For developers and admins, ``python -m grading migrations …`` (and ``python -m tutor``) runs
:func:`run_command`: ``upgrade`` (what a start does), ``current`` (the database's revision),
``check`` (whether the models differ from the newest revision) and ``revision -m MESSAGE``
(writes the next revision from that difference). ``check`` and ``revision`` compare the models
with a scratch SQLite database made by the revisions, never with a real one.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from alembic import command, context
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, MetaData, inspect, text
from sqlalchemy.types import TypeDecorator

ENVIRONMENT = Path(__file__).with_name("migration_env")
"""The ``env.py`` and ``script.py.mako`` of every service's revisions."""
ACTIONS = ("upgrade", "current", "check", "revision")


class SchemaError(RuntimeError):
    """A database the service's revisions cannot bring up to date."""


class ServiceSchema(Protocol):
    """What this module needs of a service's ``Store`` class (``servicekit.store.Store``)."""

    metadata: MetaData
    migrations: Path
    version_table: str
    legacy_revisions: Mapping[str, Sequence[str]]
    variable: str

    def locked(self, url: str) -> AbstractContextManager[Connection]: ...

    def upgrade(self, url: str) -> Migration: ...


@dataclass(frozen=True)
class Migration:
    """What :func:`upgrade` did."""

    head: str
    """The newest revision: where the database is now."""
    applied: tuple[str, ...] = ()
    """The revisions run, oldest first (none when the database was up to date)."""
    stamped: str | None = None
    """The revision a database made before the revisions was found to be at."""

    def __str__(self) -> str:
        found = (f"made before migrations, found at revision {self.stamped}; "
                 if self.stamped else "")
        if not self.applied:
            return f"{found}at revision {self.head}, the newest: nothing to do"
        return f"{found}upgraded to revision {self.head} (ran {', '.join(self.applied)})"


def alembic_config(store: ServiceSchema, connection: Connection | None = None) -> Config:
    """Alembic's configuration for ``store``'s revisions, run on ``connection``."""
    config = Config()
    # set_main_option interpolates %-signs: a path's own must be doubled.
    config.set_main_option("script_location", str(ENVIRONMENT).replace("%", "%%"))
    config.set_main_option("version_locations", str(store.migrations).replace("%", "%%"))
    config.set_main_option("path_separator", "os")
    config.attributes["store"] = store
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def render_item(type_: str, item: Any, _autogen_context: Any) -> str | bool:
    """Autogenerate writes a column of a service's own type (``UTCDateTime``) as the SQLAlchemy
    type it is made of: a revision depends on no service code that may change after it."""
    if type_ == "type" and isinstance(item, TypeDecorator):
        return f"sa.{item.impl!r}"
    return False


def context_options(store: ServiceSchema) -> dict[str, Any]:
    """How Alembic runs and compares ``store``'s schema (``env.py`` and :func:`differences`)."""
    return {
        "target_metadata": store.metadata,
        "version_table": store.version_table,
        # Every upgrade runs in the caller's one transaction, on SQLite too (its DDL is
        # transactional): Alembic's log says so rather than SQLite's default.
        "transactional_ddl": True,
        "compare_type": True,
        "compare_server_default": True,
        # SQLite alters little in place: a revision written here rebuilds the table when needed.
        "render_as_batch": True,
        "render_item": render_item,
    }


def run_environment() -> None:
    """The body of ``servicekit/migration_env/env.py``: run what Alembic asks (upgrade, stamp,
    autogenerate) on the connection :func:`alembic_config` was given, in its transaction."""
    config = context.config
    if context.is_offline_mode() or "connection" not in config.attributes:
        raise SchemaError("A service's migrations run on its database through servicekit "
                          "(python -m grading migrations, python -m tutor migrations), "
                          "not as SQL and not by the alembic command.")
    store = config.attributes["store"]
    connection = config.attributes["connection"]
    context.configure(connection=connection, **context_options(store))
    with context.begin_transaction():
        context.run_migrations()


def current_revision(connection: Connection, store: ServiceSchema) -> str | None:
    return MigrationContext.configure(
        connection, opts={"version_table": store.version_table}
    ).get_current_revision()


def legacy_revision(connection: Connection, store: ServiceSchema) -> str | None:
    """The revision a database without a revision equals, found by its tables and columns
    (``store.legacy_revisions``: revision -> the tables, and ``table.column``, it added; newest
    first); None for a new database. A database partly like one of them, or with tables of the
    service but like none, is refused."""
    inspector = inspect(connection)
    tables = set(inspector.get_table_names())

    def present(mark: str) -> bool:
        table, _, column = mark.partition(".")
        if table not in tables:
            return False
        return not column or column in {c["name"] for c in inspector.get_columns(table)}

    known = set(store.metadata.tables)
    known.update(mark.partition(".")[0] for marks in store.legacy_revisions.values()
                 for mark in marks)
    if not tables & known:
        return None
    for revision, marks in store.legacy_revisions.items():
        found = [mark for mark in marks if present(mark)]
        if len(found) == len(marks):
            return revision
        if found:
            missing = ", ".join(mark for mark in marks if mark not in found)
            raise SchemaError(
                f"{store.variable}: the database has part of revision {revision} (it lacks "
                f"{missing}) and no record of its revision; it was changed by hand: restore a "
                "backup or make it match the revision, then start again."
            )
    raise SchemaError(
        f"{store.variable}: the database has the tables {', '.join(sorted(tables & known))} "
        "but no record of its revision, and they are no schema this service made; restore a "
        "backup or use an empty database."
    )


def revisions_after(script: ScriptDirectory, start: str | None) -> tuple[str, ...]:
    """The revisions from the one after ``start`` (None: the first) to the newest, in order."""
    chain = []
    revision = script.get_revision(script.get_current_head())
    while revision is not None and revision.revision != start:
        chain.append(revision.revision)
        down = revision.down_revision
        revision = script.get_revision(down) if isinstance(down, str) else None
    return tuple(reversed(chain))


def revisions(store: ServiceSchema) -> tuple[str, ...]:
    """``store``'s revisions, oldest first."""
    return revisions_after(ScriptDirectory.from_config(alembic_config(store)), None)


def upgrade(connection: Connection, store: ServiceSchema) -> Migration:
    """Bring the database on ``connection`` to the newest revision (see the module); the
    caller holds the service's lock in the connection's transaction and commits it."""
    config = alembic_config(store, connection)
    script = ScriptDirectory.from_config(config)
    head = script.get_current_head()
    if head is None:
        raise SchemaError(f"{store.migrations}: no revisions")
    start = current_revision(connection, store)
    stamped = None
    if start is None:
        stamped = start = legacy_revision(connection, store)
    known = {revision.revision for revision in script.walk_revisions()}
    if start is not None and start not in known:
        raise SchemaError(
            f"{store.variable}: the database is at revision {start}, which this version of "
            f"the service does not know (the newest it knows is {head}): a newer version "
            "upgraded it. Run that version, or restore a backup made before the upgrade."
        )
    applied = revisions_after(script, start)
    try:
        if stamped is not None:
            command.stamp(config, stamped)
        if applied:
            command.upgrade(config, head)
    except Exception as error:
        raise SchemaError(
            f"{store.variable}: upgrading the database to revision {head} failed "
            f"(revisions {', '.join(applied)}), so it is left as it was: {error}"
        ) from error
    if applied and connection.dialect.name == "sqlite":
        broken = connection.execute(text("PRAGMA foreign_key_check")).all()
        if broken:
            raise SchemaError(
                f"{store.variable}: after revision {head} rows of "
                f"{', '.join(sorted({row[0] for row in broken}))} refer to rows that are "
                "gone, so the upgrade is undone; the revision must keep them consistent."
            )
    return Migration(head=head, applied=applied, stamped=stamped)


def differences(connection: Connection, store: ServiceSchema) -> list[Any]:
    """How the database on ``connection`` differs from ``store``'s models, as Alembic's
    autogenerate finds it (tables, columns, types, nullability, server defaults, indexes,
    keys); empty when they match. The version table is not compared."""
    migration_context = MigrationContext.configure(connection, opts=context_options(store))
    return compare_metadata(migration_context, store.metadata)


def shown(value: Any) -> str:
    """A type, a nullability or a server default, as a person reads it."""
    value = getattr(value, "arg", value)  # a server default's text
    return repr(getattr(value, "text", value))


def describe(difference: Any) -> str:
    """One of :func:`differences`' findings as a line: what, where, from what to what."""
    if isinstance(difference, list):  # the changes of one column
        return "; ".join(describe(change) for change in difference)
    kind, *details = difference
    if kind in {"add_table", "remove_table"}:
        return f"{kind} {details[0].name}"
    if kind in {"add_column", "remove_column"}:
        return f"{kind} {details[1]}.{details[2].name}"
    if kind.startswith("modify_"):
        _schema, table, column, _existing, old, new = details
        return f"{kind} {table}.{column}: {shown(old)} -> {shown(new)}"
    if kind in {"add_index", "remove_index"}:
        index = details[0]
        return f"{kind} {index.name} ({index.table.name}: {', '.join(index.columns.keys())})"
    return f"{kind} {details!r}"


@contextmanager
def scratch_database(store: ServiceSchema) -> Iterator[Connection]:
    """A connection to a scratch SQLite database made by ``store``'s revisions, to compare the
    models with (removed afterwards)."""
    with (tempfile.TemporaryDirectory(prefix="schema-") as folder,
          store.locked(f"sqlite:///{folder}/head.sqlite") as connection):
        upgrade(connection, store)
        yield connection


def next_revision_id(script: ScriptDirectory) -> str:
    numbers = [int(r.revision) for r in script.walk_revisions() if r.revision.isdigit()]
    return f"{max(numbers, default=0) + 1:04d}"


def write_revision(store: ServiceSchema, message: str) -> tuple[Path, list[Any]]:
    """Write the next revision of ``store`` from how its models differ from the newest one;
    the file and the differences it was written from (none: a revision to fill by hand)."""
    with scratch_database(store) as connection:
        found = differences(connection, store)
        config = alembic_config(store, connection)
        rev_id = next_revision_id(ScriptDirectory.from_config(config))
        written = command.revision(config, message=message, autogenerate=True, rev_id=rev_id)
    assert written is not None and not isinstance(written, list)
    return Path(written.path), found


def add_command(commands: argparse._SubParsersAction, service: str) -> None:
    """The ``migrations`` command of ``python -m <service>`` (see :func:`run_command`)."""
    parser = commands.add_parser(
        "migrations", help=f"the {service}'s database schema: {', '.join(ACTIONS)}",
        description=(
            "upgrade: bring the database to the newest revision (as a start does); current: "
            "print its revision; check: exit 1 if the models differ from the newest revision; "
            "revision -m MESSAGE: write the next revision from that difference"
        ),
    )
    parser.add_argument("action", choices=ACTIONS)
    parser.add_argument("-m", "--message", help="what the new revision does (for revision)")


def run_command(
    store: ServiceSchema, url: str, args: argparse.Namespace, say: Callable[[str], None] = print
) -> int:
    """Run ``python -m <service> migrations <action>`` on the database at ``url``."""
    if args.action == "upgrade":
        say(str(store.upgrade(url)))
    elif args.action == "current":
        with store.locked(url) as connection:
            current = current_revision(connection, store)
            legacy = legacy_revision(connection, store) if current is None else None
        say(current or (f"none recorded: made before migrations, at {legacy}" if legacy
                        else "none: an empty database"))
    elif args.action == "check":
        with scratch_database(store) as connection:
            found = differences(connection, store)
        for difference in found:
            say(f"not in a revision: {describe(difference)}")
        if found:
            say(f"{len(found)} differences: write a revision (migrations revision -m ...)")
            return 1
        say("the models match the newest revision")
    else:
        if not args.message:
            say("revision needs -m MESSAGE: what the revision does")
            return 2
        path, found = write_revision(store, args.message)
        for difference in found:
            say(f"in the revision: {describe(difference)}")
        if not found:
            say("no difference from the models: the revision is empty, to be written by hand")
        say(f"wrote {path}: read it, adjust it, and test it (docs/architecture.md)")
    return 0
