"""The pieces of a studio's state, each of which a backup writes to one file and a restore puts
back: a SQLite database (copied with SQLite's online backup API, never as a file, so a running
studio's database is copied consistently), a PostgreSQL database (``pg_dump`` custom format, on
this machine or in the compose stack's ``postgres`` container), a folder and a Docker volume
(tar archives; a volume through a throwaway container of a local image, never pulled).

Every item can say whether its target already holds something (:meth:`Item.conflict`), so that
a restore refuses to overwrite a studio unless told to.
"""

from __future__ import annotations

import contextlib
import fnmatch
import hashlib
import os
import shutil
import sqlite3
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from ops.commands import run
from ops.errors import OpsError

# The tables in which a database records its schema's revision: Alembic's (the hub's own, and
# the grader's and the tutor's under names of their own) and Django's migrations (the LMS).
VERSION_TABLES = ("alembic_version", "grader_schema_version", "tutor_schema_version")
SQLITE_COMPANIONS = ("", "-wal", "-shm", "-journal")  # a SQLite database's files


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def tree_digest(tar_path: Path) -> str:
    """One checksum of what a tar archive holds: every member's path, kind, mode, link target
    and content, in path order (two archives of the same files made in another order, by
    another tar, agree)."""
    entries = []
    with tarfile.open(tar_path) as archive:
        for member in archive:
            name = os.path.normpath(member.name.removeprefix("./")) if member.name != "." else "."
            content = ""
            if member.isfile():
                stream = archive.extractfile(member)
                content = hashlib.sha256(stream.read() if stream else b"").hexdigest()
            entries.append(f"{name}\0{member.type!r}\0{member.mode & 0o7777:o}\0"
                           f"{member.linkname}\0{content}")
    return hashlib.sha256("\n".join(sorted(entries)).encode()).hexdigest()


class Item:
    """One piece of state: ``name`` (its key in the manifest), ``kind``, the file ``suffix`` it
    is archived as."""

    name: str
    kind: str
    suffix: str

    def describe(self) -> str:
        raise NotImplementedError

    def exists(self) -> bool:
        """Whether there is anything to back up (a tutor that never ran has no database)."""
        return True

    def dump(self, file: Path) -> dict:
        """Write the item to ``file``; what the manifest records beside its checksum."""
        raise NotImplementedError

    def conflict(self, entry: dict) -> str | None:
        """Why restoring ``entry`` here would overwrite something (None: nothing would be)."""
        raise NotImplementedError

    def restore(self, file: Path, entry: dict) -> str:
        """Put ``file`` back, replacing what is there; a few words on what was done."""
        raise NotImplementedError


# -- databases ---------------------------------------------------------------------------------


def _revisions(query: Callable[[str], list[tuple]], tables: set[str]) -> dict:
    """The schema revisions a database records: Alembic's version tables, and the newest
    Django migration of each app."""
    found: dict = {}
    for table in VERSION_TABLES:
        if table in tables:
            found[table] = sorted(row[0] for row in query(f"SELECT version_num FROM {table}"))  # noqa: S608 - a fixed name
    if "django_migrations" in tables:
        rows = query("SELECT app, name FROM django_migrations")
        newest: dict[str, str] = {}
        for app, name in rows:
            newest[app] = max(newest.get(app, ""), name)
        found["django_migrations"] = dict(sorted(newest.items()))
    return found


class SQLiteDatabase(Item):
    kind = "sqlite"
    suffix = ".sqlite3"

    def __init__(self, name: str, path: Path) -> None:
        self.name, self.path = name, path

    def describe(self) -> str:
        return f"SQLite database {self.path}"

    def exists(self) -> bool:
        return self.path.exists()

    def dump(self, file: Path) -> dict:
        source = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
        copy = sqlite3.connect(file)
        try:
            with copy:
                source.backup(copy)  # a consistent copy while the studio writes
            tables = {row[0] for row in copy.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
            return {"schema": _revisions(lambda sql: copy.execute(sql).fetchall(), tables)}
        except sqlite3.Error as exc:
            raise OpsError(f"Cannot copy the {self.describe()}: {exc}.") from None
        finally:
            source.close()
            copy.close()

    def conflict(self, entry: dict) -> str | None:
        if self.path.exists() and self.path.stat().st_size > 0:
            return f"the {self.describe()} exists"
        return None

    def restore(self, file: Path, entry: dict) -> str:
        for companion in SQLITE_COMPANIONS:
            Path(f"{self.path}{companion}").unlink(missing_ok=True)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.touch(mode=0o600)
        source, target = sqlite3.connect(file), sqlite3.connect(self.path)
        try:
            with target:
                source.backup(target)
        finally:
            source.close()
            target.close()
        return f"restored into the {self.describe()}"


def libpq_url(url: str) -> str:
    """A SQLAlchemy or Django database URL as libpq's tools take it
    (``postgresql+psycopg://`` and ``postgres://`` are ``postgresql://``)."""
    parts = urlsplit(url)
    return urlunsplit(("postgresql", *parts[1:]))


def _where(url: str) -> str:
    parts = urlsplit(url)
    return f"PostgreSQL database {parts.path.lstrip('/')} on {parts.hostname}:{parts.port or 5432}"


class PostgresDatabase(Item):
    """A PostgreSQL database this machine reaches (``DATABASE_URL`` and the like)."""

    kind = "postgres"
    suffix = ".pgdump"

    def __init__(self, name: str, url: str) -> None:
        self.name, self.url = name, libpq_url(url)

    def describe(self) -> str:
        return _where(self.url)

    def _query(self, sql: str) -> list[tuple]:
        import psycopg  # deferred: only a studio on PostgreSQL needs the driver loaded

        try:
            with psycopg.connect(self.url, connect_timeout=10) as connection:
                return list(connection.execute(sql).fetchall())
        except psycopg.Error as exc:
            raise OpsError(f"Cannot read the {self.describe()}: {str(exc).strip()}.") from None

    def _tables(self) -> set[str]:
        return {row[0] for row in self._query(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}

    def dump(self, file: Path) -> dict:
        run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges",
             f"--file={file}", f"--dbname={self.url}"], f"dump the {self.describe()}")
        return {"schema": _revisions(self._query, self._tables())}

    def conflict(self, entry: dict) -> str | None:
        return f"the {self.describe()} has tables" if self._tables() else None

    def restore(self, file: Path, entry: dict) -> str:
        run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--no-privileges",
             "--exit-on-error", "--single-transaction", f"--dbname={self.url}", str(file)],
            f"restore the {self.describe()}")
        return f"restored into the {self.describe()}"


class ComposeDatabase(Item):
    """A database of the compose stack's ``postgres`` service, dumped and restored by the tools
    in its container (no PostgreSQL client needed on the host, no port published)."""

    kind = "postgres"
    suffix = ".pgdump"

    def __init__(self, name: str, compose: list[str], database: str, user: str) -> None:
        self.name, self.compose, self.database, self.user = name, compose, database, user

    def describe(self) -> str:
        return f"compose database {self.database}"

    def _exec(self, *command: str) -> list[str]:
        return [*self.compose, "exec", "-T", "postgres", *command]

    def _query(self, sql: str) -> list[tuple]:
        out = run(self._exec("psql", "-U", self.user, "-d", self.database, "-At", "-F", "\t",
                             "-c", sql), f"read the {self.describe()}")
        return [tuple(line.split("\t")) for line in out.splitlines() if line]

    def _tables(self) -> set[str]:
        return {row[0] for row in self._query(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}

    def dump(self, file: Path) -> dict:
        run(self._exec("pg_dump", "--format=custom", "--no-owner", "--no-privileges",
                       "-U", self.user, self.database), f"dump the {self.describe()}",
            stdout=file)
        return {"schema": _revisions(self._query, self._tables())}

    def conflict(self, entry: dict) -> str | None:
        return f"the {self.describe()} has tables" if self._tables() else None

    def restore(self, file: Path, entry: dict) -> str:
        run(self._exec("pg_restore", "--clean", "--if-exists", "--no-owner", "--no-privileges",
                       "--exit-on-error", "--single-transaction", "-U", self.user,
                       "-d", self.database), f"restore the {self.describe()}", stdin=file)
        return f"restored into the {self.describe()}"


# -- folders -----------------------------------------------------------------------------------


class Folder(Item):
    """A folder, without the files another item covers (``exclude``: paths relative to it, with
    shell wildcards); with ``courses_only`` only its course folders (``<slug>/course.yml``), as
    the courses folder of a checkout also holds the ``courses`` package's code."""

    kind = "folder"
    suffix = ".tar"

    def __init__(self, name: str, path: Path, exclude: tuple[str, ...] = (),
                 courses_only: bool = False) -> None:
        self.name, self.path, self.exclude, self.courses_only = name, path, exclude, courses_only

    def describe(self) -> str:
        return f"course folders in {self.path}" if self.courses_only else f"folder {self.path}"

    def exists(self) -> bool:
        return self.path.is_dir()

    def _top(self) -> list[Path]:
        """The entries of the folder that are this item's."""
        if not self.path.is_dir():
            return []
        entries = sorted(self.path.iterdir())
        if self.courses_only:
            return [entry for entry in entries if (entry / "course.yml").is_file()]
        return [entry for entry in entries if not self._excluded(entry)]

    def _excluded(self, path: Path) -> bool:
        relative = path.relative_to(self.path).as_posix()
        return any(fnmatch.fnmatchcase(relative, pattern) for pattern in self.exclude)

    def _walk(self) -> Iterator[Path]:
        for top in self._top():
            yield top
            if top.is_dir() and not top.is_symlink():
                for folder, names, files in os.walk(top):
                    names.sort()
                    for name in (*names, *sorted(files)):
                        path = Path(folder) / name
                        if not self._excluded(path):
                            yield path

    def dump(self, file: Path) -> dict:
        with tarfile.open(file, "w") as archive:
            for path in self._walk():
                archive.add(path, arcname=path.relative_to(self.path).as_posix(), recursive=False)
        return {"tree_sha256": tree_digest(file)}

    def _current_digest(self) -> str:
        with tempfile.TemporaryDirectory() as scratch:
            copy = Path(scratch) / "current.tar"
            self.dump(copy)
            return tree_digest(copy)

    def conflict(self, entry: dict) -> str | None:
        if not self._top() or self._current_digest() == entry.get("tree_sha256"):
            return None  # nothing there, or the same files already
        return f"the {self.describe()} holds other files"

    def restore(self, file: Path, entry: dict) -> str:
        if self._top() and self._current_digest() == entry.get("tree_sha256"):
            return f"left as it is: the {self.describe()} already has the same files"
        for top in self._top():
            if top.is_dir() and not top.is_symlink():
                shutil.rmtree(top)
            else:
                top.unlink()
        self.path.mkdir(parents=True, exist_ok=True)
        with tarfile.open(file) as archive:
            archive.extractall(self.path, filter="data")
        return f"restored into the {self.describe()}"


# -- Docker volumes ----------------------------------------------------------------------------


class Volume(Item):
    """A Docker volume, archived by ``tar`` in a throwaway container of ``image`` (a local
    image: nothing is pulled), as root, with numeric owners, so that a learner's files keep
    their owner and modes."""

    kind = "volume"
    suffix = ".tar"

    def __init__(self, name: str, volume: str, image: str,
                 labels: dict[str, str] | None = None, learner: str = "") -> None:
        self.name, self.volume, self.image = name, volume, image
        self.labels, self.learner = labels or {}, learner

    def describe(self) -> str:
        return f"Docker volume {self.volume}"

    def exists(self) -> bool:
        with contextlib.suppress(OpsError):
            run(["docker", "volume", "inspect", self.volume], f"find the {self.describe()}")
            return True
        return False

    def _container(self, mount: str, *command: str) -> list[str]:
        run(["docker", "image", "inspect", self.image],
            f"run tar for the {self.describe()} in the local image {self.image} (nothing is "
            "pulled: set HUB_IMAGE or pass --image to name a local image with sh, find and tar)")
        return ["docker", "run", "--rm", "-i", "--network", "none", "--user", "0",
                "--entrypoint", command[0], "--mount", f"type=volume,src={self.volume},dst={mount}",
                self.image, *command[1:]]

    def dump(self, file: Path) -> dict:
        run(self._container("/data,readonly", "tar", "-C", "/data", "--numeric-owner", "-cf",
                            "-", "."),
            f"archive the {self.describe()}", stdout=file)
        found = {"tree_sha256": tree_digest(file)}
        if self.learner:
            found["learner"] = self.learner
        return found

    def conflict(self, entry: dict) -> str | None:
        return f"the {self.describe()} exists" if self.exists() else None

    def restore(self, file: Path, entry: dict) -> str:
        if not self.exists():
            labels = [f"--label={key}={value}" for key, value in self.labels.items()]
            run(["docker", "volume", "create", *labels, self.volume],
                f"create the {self.describe()}")
        run(self._container("/data", "sh", "-c",
                            "find /data -mindepth 1 -delete && "
                            "tar -C /data --numeric-owner -xpf -"),
            f"restore the {self.describe()}", stdin=file)
        return f"restored into the {self.describe()}"
