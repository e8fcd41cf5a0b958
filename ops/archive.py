"""The archive: one ``.tar.gz`` holding ``manifest.json`` and one file per item under
``items/``. The manifest says when and of what studio it was made, the versions of the tools
and packages that made it, and for each item where it came from, its file's size and SHA-256,
its schema revisions (databases) and a checksum of the files it holds (folders and volumes).

:func:`backup` writes it; :func:`verify` checks every item's checksum; :func:`restore` checks
them all before it touches anything, refuses a target that already holds something unless
told to replace it (``force``), and says what it restored where.
"""

from __future__ import annotations

import datetime as dt
import json
import platform
import sqlite3
import tarfile
import tempfile
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

from ops.errors import OpsError
from ops.items import sha256_of
from ops.stacks import Stack

FORMAT = 1
MANIFEST = "manifest.json"
PACKAGES = ("python-learning-studio", "django", "wagtail", "jupyterhub", "nbgrader", "alembic",
            "sqlalchemy")


def _versions() -> dict[str, str]:
    found = {"python": platform.python_version(), "sqlite": sqlite3.sqlite_version}
    for package in PACKAGES:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return found


def archive_path(destination: str | None, default_dir: Path, now: dt.datetime) -> Path:
    """The archive's file: ``destination`` itself, or a timestamped name in the folder it names
    (an existing folder, or a path ending in ``/``; default ``default_dir``)."""
    name = f"studio-backup-{now:%Y%m%dT%H%M%SZ}.tar.gz"
    if not destination:
        return default_dir / name
    if destination.endswith("/") or Path(destination).is_dir():
        return Path(destination).absolute() / name
    return Path(destination).absolute()


def backup(stack: Stack, destination: Path, say: Callable[[str], None] = print) -> Path:
    """Archive every item of ``stack`` that exists into ``destination``; its path."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    if destination.exists():
        raise OpsError(f"{destination} exists already: name another file.")
    entries = []
    with tempfile.TemporaryDirectory(dir=destination.parent, prefix=".backup-") as scratch:
        folder = Path(scratch)
        (folder / "items").mkdir()
        for item in stack.items:
            if not item.exists():
                say(f"  skipped {item.name}: no {item.describe()}")
                continue
            file = Path("items") / f"{item.name.replace(':', '-')}{item.suffix}"
            extra = item.dump(folder / file)
            entries.append({"name": item.name, "kind": item.kind, "from": item.describe(),
                            "file": file.as_posix(), "bytes": (folder / file).stat().st_size,
                            "sha256": sha256_of(folder / file), **extra})
            say(f"  saved {item.name}: {item.describe()}")
        manifest = {"format": FORMAT, "created": dt.datetime.now(dt.UTC).isoformat(
                    timespec="seconds"), "stack": stack.name, "versions": _versions(),
                    "notes": stack.notes, "items": entries}
        (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        partial = destination.with_name(f".{destination.name}.partial")
        with tarfile.open(partial, "w:gz", compresslevel=6) as archive:
            archive.add(folder / MANIFEST, arcname=MANIFEST)
            archive.add(folder / "items", arcname="items")
        partial.chmod(0o600)  # it holds every account's data
        partial.rename(destination)
    return destination


def _unpack(archive: Path, into: Path) -> dict:
    """Unpack ``archive`` into ``into`` and check every item against the manifest."""
    if not archive.is_file():
        raise OpsError(f"There is no archive at {archive}.")
    try:
        with tarfile.open(archive) as opened:
            opened.extractall(into, filter="data")
        manifest = json.loads((into / MANIFEST).read_text())
    except (tarfile.TarError, OSError, ValueError) as exc:
        raise OpsError(f"{archive} is not a studio backup that can be read ({exc}).") from None
    if manifest.get("format") != FORMAT:
        raise OpsError(f"{archive} is a backup of format {manifest.get('format')!r}; this "
                       f"version reads format {FORMAT}.")
    for entry in manifest["items"]:
        file = into / entry["file"]
        if not file.is_file():
            raise OpsError(f"{archive} lacks {entry['file']} ({entry['name']}): it is damaged.")
        if sha256_of(file) != entry["sha256"]:
            raise OpsError(f"{entry['name']} in {archive} does not match its checksum: the "
                           "archive is damaged; nothing was restored.")
    return manifest


def verify(archive: Path, say: Callable[[str], None] = print) -> dict:
    """Check every item's checksum; the manifest."""
    with tempfile.TemporaryDirectory(prefix="studio-verify-") as scratch:
        manifest = _unpack(archive, Path(scratch))
    for entry in manifest["items"]:
        say(f"  ok {entry['name']}: {entry['from']} ({entry['bytes']} bytes)")
    return manifest


def restore(archive: Path, stack: Stack, force: bool = False,
            say: Callable[[str], None] = print) -> dict:
    """Restore every item of ``archive`` into ``stack``; the manifest."""
    with tempfile.TemporaryDirectory(prefix="studio-restore-") as scratch:
        manifest = _unpack(archive, Path(scratch))
        targets = [(entry, stack.target(entry)) for entry in manifest["items"]]
        conflicts = [reason for entry, item in targets if (reason := item.conflict(entry))]
        if conflicts and not force:
            listed = "; ".join(conflicts)
            raise OpsError(f"This studio is not empty ({listed}). Restore into a fresh studio "
                           "(stopped), or pass --force to replace what is there.")
        for entry, item in targets:
            done = item.restore(Path(scratch) / entry["file"], entry)
            say(f"  {entry['name']} (from the {entry['from']}): {done}")
    return manifest
