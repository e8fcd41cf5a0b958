"""Tar archives in and out of the exchange: unpacking uploads safely, packing folders.

An upload is a learner's assignment folder as a (gzipped) tar, its paths relative to that
folder (``ps1-basics.ipynb``, ``data/input.csv``). :func:`unpack` checks the whole archive
before it writes a byte, and refuses rather than repairs: absolute paths, ``..``, links,
devices, duplicate names, more than ``max_files`` files, more than ``max_folders`` folders
(counting those a file's path implies: ``a/b/c.txt`` makes two), folders nested deeper than
:data:`MAX_DEPTH`, names too long for the file system, or more than ``max_bytes`` unpacked all
raise :class:`ArchiveError` with a sentence for the learner. Entries are counted while the
archive is read, one header at a time, and reading stops at the first one past the limits: an
archive of millions of tiny entries is refused after reading a few hundred, and never listed
whole in memory. Files are written with ``O_EXCL`` and ``O_NOFOLLOW`` and fsynced, with their
folders, before :func:`unpack` returns.
"""

from __future__ import annotations

import io
import os
import tarfile
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import BinaryIO

COPY_CHUNK = 1024 * 1024
MAX_DEPTH = 16
"""Folders one path may go down (``a/b/c.txt`` goes down two)."""
MAX_NAME_BYTES = 255  # one file or folder name: Linux's NAME_MAX
MAX_PATH_BYTES = 1024  # a whole path inside the assignment folder
DEFAULT_MAX_FOLDERS = 50  # GRADER_MAX_SUBMISSION_FOLDERS's default


class ArchiveError(ValueError):
    """An upload that is not a tar the grader accepts; the message says why."""


def _shown(name: str, chars: int = 80) -> str:
    """A member's name for a sentence: quoted, and cut when long."""
    return repr(name) if len(name) <= chars else f"{name[:chars]!r}…"


def _member_path(member: tarfile.TarInfo) -> PurePosixPath:
    name = member.name
    if "\\" in name or "\x00" in name:
        raise ArchiveError(f"{name!r}: file names may not contain backslashes")
    path = PurePosixPath(name)
    if path.is_absolute():
        raise ArchiveError(f"{name!r}: absolute paths are not allowed; paths are relative to "
                           "the assignment folder")
    parts = [part for part in path.parts if part != "."]
    if ".." in parts:
        raise ArchiveError(f"{name!r}: '..' is not allowed in a path")
    if any(len(part.encode()) > MAX_NAME_BYTES for part in parts):
        raise ArchiveError(f"{_shown(name)}: a file or folder name is longer than "
                           f"{MAX_NAME_BYTES} bytes")
    if len("/".join(parts).encode()) > MAX_PATH_BYTES:
        raise ArchiveError(f"{_shown(name)}: the path is longer than {MAX_PATH_BYTES} bytes")
    return PurePosixPath(*parts) if parts else PurePosixPath(".")


HERE = PurePosixPath(".")


def _checked_members(
    archive: tarfile.TarFile, max_files: int, max_bytes: int, max_folders: int
) -> list[tuple[tarfile.TarInfo, PurePosixPath]]:
    members: list[tuple[tarfile.TarInfo, PurePosixPath]] = []
    seen: set[PurePosixPath] = set()
    folders: set[PurePosixPath] = set()
    files = 0
    total = 0
    max_entries = max_files + max_folders
    # Iterating reads one header at a time (tarfile lists the members read so far): the count
    # stops the reading, so a huge number of entries never reaches memory.
    for entries, member in enumerate(archive, start=1):
        if entries > max_entries:
            raise ArchiveError(f"more than {max_entries} entries (files and folders): submit "
                               "only the assignment folder")
        path = _member_path(member)
        if member.issym() or member.islnk():
            raise ArchiveError(f"{member.name!r}: links are not allowed")
        if not (member.isfile() or member.isdir()):
            raise ArchiveError(f"{member.name!r}: only files and folders are allowed")
        folder = path if member.isdir() else path.parent
        if len(folder.parts) > MAX_DEPTH:
            raise ArchiveError(f"{_shown(member.name)}: folders are nested more than "
                               f"{MAX_DEPTH} deep")
        if folder != HERE:
            folders.update(p for p in (folder, *folder.parents) if p != HERE)
            if len(folders) > max_folders:
                raise ArchiveError(f"more than {max_folders} folders: submit only the "
                                   "assignment folder")
        if member.isdir():
            if path != HERE:
                members.append((member, path))
            continue
        if path == HERE or path in seen:
            raise ArchiveError(f"{member.name!r}: the archive holds this file twice")
        seen.add(path)
        files += 1
        total += member.size
        if files > max_files:
            raise ArchiveError(f"more than {max_files} files: submit only the assignment folder")
        if total > max_bytes:
            raise ArchiveError(
                f"the files add up to more than {max_bytes} bytes: remove large outputs or data"
            )
        members.append((member, path))
    for path in seen:  # a file cannot also be a folder
        clash = path if path in folders else None
        if clash is not None:
            raise ArchiveError(f"{str(clash)!r} is both a file and a folder")
    if not files:
        raise ArchiveError("the archive holds no files")
    return members


def _open(source: BinaryIO) -> tarfile.TarFile:
    try:
        return tarfile.open(fileobj=source, mode="r:*")
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise ArchiveError(f"not a tar archive (gzip or plain): {exc}") from None


def fsync_dir(path: Path) -> None:
    """Make a folder's entries (new or renamed files in it) durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def unpack(
    source: BinaryIO,
    target: Path,
    max_files: int,
    max_bytes: int,
    max_folders: int = DEFAULT_MAX_FOLDERS,
) -> list[str]:
    """Check the tar in ``source``, then write its files under ``target`` (created; must not
    exist). Returns the files' relative paths, sorted. Raises :class:`ArchiveError`, before
    anything is written."""
    try:
        with _open(source) as archive:
            members = _checked_members(archive, max_files, max_bytes, max_folders)
    except (tarfile.TarError, EOFError, OSError, ValueError) as exc:
        if isinstance(exc, ArchiveError):
            raise
        raise ArchiveError(f"the archive is damaged: {exc}") from None
    source.seek(0)
    target.mkdir(parents=True)
    folders = {target}
    written: list[str] = []
    with _open(source) as archive:
        by_name = {member.name: path for member, path in members}
        for member in archive:
            path = by_name.get(member.name)
            if path is None:
                continue
            destination = target.joinpath(*path.parts)
            if member.isdir():
                destination.mkdir(parents=True, exist_ok=True)
                folders.add(destination)
                continue
            destination.parent.mkdir(parents=True, exist_ok=True)
            folders.update(p for p in [destination.parent, *destination.parent.parents]
                           if p.is_relative_to(target))
            _write_file(archive, member, destination)
            written.append(path.as_posix())
    for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
        fsync_dir(folder)
    return sorted(written)


def _write_file(archive: tarfile.TarFile, member: tarfile.TarInfo, destination: Path) -> None:
    reader = archive.extractfile(member)
    if reader is None:  # not reachable for regular files; kept as a guard
        raise ArchiveError(f"{member.name!r}: cannot be read")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
    fd = os.open(destination, flags, 0o644)
    with os.fdopen(fd, "wb") as out, reader:
        remaining = member.size
        while remaining > 0:
            chunk = reader.read(min(COPY_CHUNK, remaining))
            if not chunk:
                raise ArchiveError(f"{member.name!r}: the archive ends inside this file")
            out.write(chunk)
            remaining -= len(chunk)
        out.flush()
        os.fsync(out.fileno())


def pack(folder: Path, only: Iterable[str] | None = None) -> bytes:
    """``folder``'s regular files as a gzipped tar, paths relative to ``folder`` (links and
    anything else skipped). ``only``: file name suffixes to keep, e.g. ``[".html"]``."""
    suffixes = tuple(only) if only is not None else None
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_symlink() or not path.is_file():
                continue
            if suffixes is not None and not path.name.endswith(suffixes):
                continue
            info = archive.gettarinfo(str(path), arcname=path.relative_to(folder).as_posix())
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mode = 0o644
            with path.open("rb") as handle:
                archive.addfile(info, handle)
    return buffer.getvalue()
