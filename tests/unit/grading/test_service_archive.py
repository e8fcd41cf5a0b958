"""Unpacking uploads: the whole archive is checked first, anything unsafe is refused with a
sentence, and a refused archive writes nothing."""

from __future__ import annotations

import io
import tarfile

import pytest

from grading.archive import ArchiveError, pack, unpack


def _unpack(data: bytes, target, max_files: int = 10, max_bytes: int = 10_000):
    return unpack(io.BytesIO(data), target, max_files=max_files, max_bytes=max_bytes)


def test_files_are_unpacked_relative_to_the_assignment_folder(tmp_path, tar_of):
    data = tar_of({"ps1.ipynb": b"{}", "./data/input.csv": b"a,b\n"})
    written = _unpack(data, tmp_path / "files")
    assert written == ["data/input.csv", "ps1.ipynb"]
    assert (tmp_path / "files" / "data" / "input.csv").read_bytes() == b"a,b\n"


def test_a_plain_tar_is_accepted_too(tmp_path, tar_of):
    assert _unpack(tar_of({"a.ipynb": b"{}"}, gzip=False), tmp_path / "files") == ["a.ipynb"]


@pytest.mark.parametrize(
    ("files", "links", "hardlinks", "problem"),
    [
        ({"/etc/cron.d/x": b"x"}, None, None, "absolute paths"),
        ({"../outside.ipynb": b"x"}, None, None, "'..'"),
        ({"a/../../outside.ipynb": b"x"}, None, None, "'..'"),
        ({"a.ipynb": b"x"}, {"link": "/etc/passwd"}, None, "links"),
        ({"a.ipynb": b"x"}, None, {"hard": "a.ipynb"}, "links"),
        ({"a\\b.ipynb": b"x"}, None, None, "backslashes"),
        ({}, None, None, "no files"),
    ],
)
def test_unsafe_archives_are_refused_and_nothing_is_written(
    tmp_path, tar_of, files, links, hardlinks, problem
):
    data = tar_of({"ok.ipynb": b"{}", **files} if files else {}, links, hardlinks)
    with pytest.raises(ArchiveError, match=problem):
        _unpack(data, tmp_path / "files")
    assert not (tmp_path / "files").exists()
    assert not (tmp_path.parent / "outside.ipynb").exists()


def test_a_device_or_fifo_is_refused(tmp_path):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo("pipe")
        info.type = tarfile.FIFOTYPE
        archive.addfile(info)
    with pytest.raises(ArchiveError, match="only files and folders"):
        _unpack(buffer.getvalue(), tmp_path / "files")


def test_too_many_files_are_refused(tmp_path, tar_of):
    data = tar_of({f"f{i}.txt": b"x" for i in range(4)})
    with pytest.raises(ArchiveError, match="more than 3 files"):
        _unpack(data, tmp_path / "files", max_files=3)
    assert not (tmp_path / "files").exists()


def test_files_adding_up_to_more_than_the_limit_are_refused(tmp_path, tar_of):
    # compresses to almost nothing: the unpacked size is what counts
    data = tar_of({"a.txt": b"0" * 6000, "b.txt": b"0" * 6000})
    assert len(data) < 1000
    with pytest.raises(ArchiveError, match="more than 10000 bytes"):
        _unpack(data, tmp_path / "files", max_bytes=10_000)
    assert not (tmp_path / "files").exists()


def test_the_same_file_twice_is_refused(tmp_path):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for content in (b"first", b"second"):
            info = tarfile.TarInfo("a.ipynb")
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    with pytest.raises(ArchiveError, match="twice"):
        _unpack(buffer.getvalue(), tmp_path / "files")


def test_a_name_that_is_both_file_and_folder_is_refused(tmp_path, tar_of):
    with pytest.raises(ArchiveError, match="both a file and a folder"):
        _unpack(tar_of({"a": b"x", "a/b.txt": b"y"}), tmp_path / "files")


@pytest.mark.parametrize("data", [b"", b"not a tar at all", b"\x1f\x8b\x08\x00garbage"])
def test_bytes_that_are_no_tar_are_refused(tmp_path, data):
    with pytest.raises(ArchiveError, match=r"not a tar archive|damaged"):
        _unpack(data, tmp_path / "files")
    assert not (tmp_path / "files").exists()


def test_a_truncated_archive_is_refused(tmp_path, tar_of):
    data = tar_of({"a.txt": bytes(range(256)) * 40})
    with pytest.raises(ArchiveError):
        _unpack(data[: len(data) // 2], tmp_path / "files", max_bytes=100_000)
    assert not (tmp_path / "files").exists()


def test_pack_keeps_relative_paths_and_skips_links(tmp_path):
    folder = tmp_path / "feedback"
    (folder / "sub").mkdir(parents=True)
    (folder / "ps1.html").write_text("<p>ok</p>")
    (folder / "sub" / "more.html").write_text("<p>more</p>")
    (folder / "notes.txt").write_text("x")
    (folder / "link.html").symlink_to("/etc/passwd")
    with tarfile.open(fileobj=io.BytesIO(pack(folder, [".html"]))) as archive:
        assert sorted(archive.getnames()) == ["ps1.html", "sub/more.html"]
        assert archive.extractfile("ps1.html").read() == b"<p>ok</p>"


# -- entries are counted, not only bytes ---------------------------------------------------------


def tar_with(names: list[str], folders: list[str] = (), gzip: bool = True) -> bytes:
    """A tar of empty files ``names`` and folder entries ``folders``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz" if gzip else "w") as archive:
        for name in folders:
            info = tarfile.TarInfo(name)
            info.type = tarfile.DIRTYPE
            archive.addfile(info)
        for name in names:
            archive.addfile(tarfile.TarInfo(name), io.BytesIO(b""))
    return buffer.getvalue()


def refused_and_nothing_written(data: bytes, tmp_path, problem: str, **limits) -> None:
    with pytest.raises(ArchiveError, match=problem):
        _unpack(data, tmp_path / "files", **limits)
    assert list(tmp_path.iterdir()) == []


def test_thousands_of_folders_are_refused_before_anything_is_written(tmp_path):
    data = tar_with(["a.ipynb"], folders=[f"d{i}" for i in range(3000)])
    refused_and_nothing_written(data, tmp_path, "more than 50 folders")


def test_thousands_of_empty_files_are_refused_before_anything_is_written(tmp_path):
    data = tar_with([f"f{i}.txt" for i in range(5000)])
    refused_and_nothing_written(data, tmp_path, "more than 10 files")


def test_folders_implied_by_file_paths_count_too(tmp_path):
    data = tar_with([f"d{i}/f.txt" for i in range(60)])
    refused_and_nothing_written(data, tmp_path, "more than 50 folders", max_files=200)


@pytest.mark.parametrize(
    ("names", "folders"),
    [
        (["/".join(["d"] * 40) + "/deep.txt"], []),  # one file, forty folders down
        (["a.ipynb"], ["/".join(["d"] * 17)]),  # a folder entry seventeen down
    ],
)
def test_deep_nesting_is_refused_before_anything_is_written(tmp_path, names, folders):
    refused_and_nothing_written(tar_with(names, folders), tmp_path, "nested more than 16 deep")


@pytest.mark.parametrize(
    ("name", "problem"),
    [("x" * 256 + ".txt", "name is longer than 255 bytes"),
     ("/".join(["y" * 200] * 6) + "/z.txt", "path is longer than 1024 bytes")],
)
def test_names_the_file_system_cannot_hold_are_refused(tmp_path, name, problem):
    refused_and_nothing_written(tar_with([name]), tmp_path, problem)


def test_an_archive_of_countless_entries_is_refused_without_reading_it_all(tmp_path):
    """Folder entries for the same folder, repeated: no limit on files or folders is crossed,
    the count of entries is, and reading stops there (tarfile keeps what it read in memory)."""
    data = tar_with(["a.ipynb"], folders=["same"] * 20_000, gzip=False)
    source = io.BytesIO(data)
    with pytest.raises(ArchiveError, match="more than 60 entries"):
        unpack(source, tmp_path / "files", max_files=10, max_bytes=10_000, max_folders=50)
    assert source.tell() < len(data) // 100
    assert list(tmp_path.iterdir()) == []


def test_files_and_folders_within_the_limits_are_unpacked(tmp_path):
    names = [f"data/part{i}/f{j}.csv" for i in range(4) for j in range(2)]
    written = _unpack(tar_with(["a.ipynb", *names], folders=["data", "empty"]), tmp_path / "files")
    assert written == sorted(["a.ipynb", *names])
    assert (tmp_path / "files" / "empty").is_dir()
