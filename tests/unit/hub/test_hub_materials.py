"""Course materials land in the work folder and never overwrite a learner's file."""

import datetime as dt
import json
import subprocess
from pathlib import PurePosixPath

from courses.course_file import load_course
from hub.materials import CONTAINER_MATERIALS_DIR, copy_command, copy_missing, course_materials
from tests.unit.hub.conftest import COURSES

COURSE = load_course(COURSES / "python-101")


def released(tmp_path, name, files=("nb.ipynb",)):
    folder = tmp_path / "release" / "python-101" / name
    folder.mkdir(parents=True)
    for file in files:
        (folder / file).write_text(json.dumps({"student": file}))
    return folder


def test_lessons_go_under_the_course_slug_like_the_lms_links():
    targets = [str(m.target) for m in course_materials(COURSE)]
    assert targets == [
        "python-101/lessons/01-basics.ipynb",
        "python-101/lessons/02-control-flow.ipynb",
        "python-101/lessons/03-functions.ipynb",
        "python-101/lessons/04-data-structures.ipynb",
    ]


def test_source_notebooks_with_solutions_are_never_materials():
    for material in course_materials(COURSE, now=dt.datetime(2030, 1, 1, tzinfo=dt.UTC)):
        assert "source" not in material.source.relative_to(COURSE.root).parts


def test_released_assignments_after_their_release_date(tmp_path):
    released(tmp_path, "ps1-basics", ["ps1-basics.ipynb", "data.csv", ".hidden"])
    targets = {str(m.target) for m in course_materials(COURSE, tmp_path / "release")}
    assert "python-101/ps1-basics/ps1-basics.ipynb" in targets
    assert "python-101/ps1-basics/data.csv" in targets
    assert "python-101/ps1-basics/.hidden" not in targets
    before = dt.datetime(2026, 8, 1, tzinfo=dt.UTC)  # ps1 releases 2026-09-01
    early = {str(m.target) for m in course_materials(COURSE, tmp_path / "release", before)}
    assert not any("ps1-basics" in t for t in early)


def test_a_release_root_naming_the_slug_is_the_courses_release_folder(tmp_path):
    folder = tmp_path / "grader" / "courses" / "python-101" / "release" / "ps1-basics"
    folder.mkdir(parents=True)
    (folder / "ps1-basics.ipynb").write_text("{}")
    root = str(tmp_path / "grader" / "courses" / "{slug}" / "release")
    (material,) = [m for m in course_materials(COURSE, root) if "ps1-basics" in str(m.target)]
    assert (material.source, str(material.target)) == (
        folder / "ps1-basics.ipynb", "python-101/ps1-basics/ps1-basics.ipynb"
    )


def test_symlinks_in_a_release_folder_are_not_followed(tmp_path):
    folder = released(tmp_path, "ps1-basics")
    solution = COURSES / "python-101" / "source" / "ps1-basics" / "ps1-basics.ipynb"
    (folder / "secret.ipynb").symlink_to(solution)
    targets = {str(m.target) for m in course_materials(COURSE, tmp_path / "release")}
    assert "python-101/ps1-basics/secret.ipynb" not in targets


def test_copy_never_overwrites_a_learners_edited_file(tmp_path):
    work = tmp_path / "work"
    edited = work / "python-101" / "lessons" / "01-basics.ipynb"
    edited.parent.mkdir(parents=True)
    edited.write_text("my edits")
    copied = copy_missing(course_materials(COURSE), work)
    assert edited.read_text() == "my edits"
    assert PurePosixPath("python-101/lessons/01-basics.ipynb") not in copied
    assert len(copied) == 3
    assert (work / "python-101/lessons/02-control-flow.ipynb").read_bytes() == (
        COURSES / "python-101/lessons/02-control-flow.ipynb"
    ).read_bytes()
    assert copy_missing(course_materials(COURSE), work) == []  # second start: nothing to do


def test_deleted_lesson_comes_back_at_the_next_start(tmp_path):
    work = tmp_path / "work"
    copy_missing(course_materials(COURSE), work)
    (work / "python-101/lessons/03-functions.ipynb").unlink()
    assert copy_missing(course_materials(COURSE), work) == [
        PurePosixPath("python-101/lessons/03-functions.ipynb")
    ]


def test_copy_does_not_follow_a_link_the_learner_put_in_the_way(tmp_path):
    work, elsewhere = tmp_path / "work", tmp_path / "elsewhere"
    work.mkdir()
    elsewhere.mkdir()
    (work / "python-101").symlink_to(elsewhere)
    assert copy_missing(course_materials(COURSE), work) == []
    assert list(elsewhere.iterdir()) == []


def test_container_copy_script_keeps_edits_and_then_runs_the_server(tmp_path):
    """The shell the container runs, with the mount point moved to a temporary folder."""
    mounted = tmp_path / "materials" / "python-101" / "lessons"
    mounted.mkdir(parents=True)
    (mounted / "01-basics.ipynb").write_text("original")
    (mounted / "02-control-flow.ipynb").write_text("original")
    work = tmp_path / "work"
    (work / "python-101" / "lessons").mkdir(parents=True)
    (work / "python-101" / "lessons" / "01-basics.ipynb").write_text("my edits")
    command = copy_command(str(work), ["sh", "-c", "echo server-started"])
    command[2] = command[2].replace(CONTAINER_MATERIALS_DIR, str(tmp_path / "materials"))
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "server-started"
    assert (work / "python-101/lessons/01-basics.ipynb").read_text() == "my edits"
    assert (work / "python-101/lessons/02-control-flow.ipynb").read_text() == "original"


def test_work_dir_with_spaces_is_quoted(tmp_path):
    script = copy_command("/home/jovyan/my work", ["x"])[2]
    assert "'/home/jovyan/my work'/" in script
