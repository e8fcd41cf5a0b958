"""The formgrader's configuration and its hardened parts, without a hub (the running service
behind a real hub: tests/integration/grading/test_service_api.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from nbgrader.exchange import ExchangeError
from tornado import web

from grading import formgrader
from grading.settings import Settings

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings.from_env({"STUDIO_VAR_DIR": str(tmp_path / "var"),
                              "STUDIO_COURSES_DIR": str(REPO / "courses")})


def test_only_the_formgrader_runs_rooted_at_the_courses_nbgrader_directory(settings):
    c = formgrader.formgrader_config(settings, "python-101")
    course_dir = settings.nbgrader_course_dir("python-101")
    assert c.ServerApp.root_dir == c.CourseDirectory.root == str(course_dir)
    assert c.CourseDirectory.course_id == "python-101"
    assert c.ServerApp.jpserver_extensions == {"jupyterhub": True, "grading.formgrader": True}
    assert c.ServerApp.terminals_enabled is False
    assert c.ServerApp.kernel_manager_class is formgrader.NoKernels
    assert c.ServerApp.contents_manager_class is formgrader.ReadOnlyContents
    assert c.NbGrader.load_cwd_config is False  # no nbgrader_config.py is ever executed
    assert c.FormgradeExtension.debug is False  # it would show the gradebook's URL


def test_nbgraders_exchange_steps_are_the_refusing_ones(settings):
    c = formgrader.formgrader_config(settings, "python-101")
    assert c.ExchangeFactory.release_assignment == "grading.formgrader.RefusedReleaseAssignment"
    assert c.ExchangeFactory.collect == "grading.formgrader.RefusedCollect"
    assert c.ExchangeFactory.release_feedback == "grading.formgrader.RefusedReleaseFeedback"
    assert c.ExchangeFactory.list == "grading.formgrader.NothingListed"


def test_a_refusing_exchange_step_names_the_lms_button(settings, tmp_path):
    from nbgrader.auth import Authenticator
    from nbgrader.coursedir import CourseDirectory

    coursedir = CourseDirectory(root=str(tmp_path), course_id="python-101")
    step = formgrader.RefusedReleaseAssignment(coursedir=coursedir,
                                               authenticator=Authenticator())
    with pytest.raises(ExchangeError, match='"Release" on the assignment\'s page in the LMS'):
        step.start()
    listing = formgrader.NothingListed(coursedir=coursedir, authenticator=Authenticator())
    assert listing.start() == []
    listing.remove = True
    with pytest.raises(ExchangeError, match="Unrelease"):
        listing.start()


def test_no_kernel_is_ever_started():
    manager = formgrader.NoKernels()
    with pytest.raises(web.HTTPError) as refused:
        asyncio.run(manager.start_kernel(kernel_name="python3"))
    assert refused.value.status_code == 403
    assert manager.list_kernel_ids() == []


def test_contents_are_read_only_and_show_nbgraders_folders_only(tmp_path):
    for folder in ("source", "autograded"):
        (tmp_path / folder).mkdir()
    (tmp_path / "source" / "notes.txt").write_text("hello")
    (tmp_path / "nbgrader_config.json").write_text('{"db_url": "postgresql://u:secret@db/g"}')
    (tmp_path / "gradebook.db").write_bytes(b"")
    contents = formgrader.ReadOnlyContents(root_dir=str(tmp_path))
    listed = asyncio.run(contents.get(""))
    assert sorted(entry["name"] for entry in listed["content"]) == ["autograded", "source"]
    assert asyncio.run(contents.get("source/notes.txt"))["content"] == "hello"
    for private in ("nbgrader_config.json", "gradebook.db"):
        with pytest.raises(web.HTTPError) as hidden:
            asyncio.run(contents.get(private))
        assert hidden.value.status_code == 404
    model = {"type": "file", "format": "text", "content": "c = get_config()"}
    for write in (lambda: contents.save(model, "nbgrader_config.py"),
                  lambda: contents.delete_file("source/notes.txt"),
                  lambda: contents.rename_file("source/notes.txt", "source/x.txt")):
        with pytest.raises(web.HTTPError) as refused:
            write()
        assert refused.value.status_code == 403
    with pytest.raises(web.HTTPError):
        asyncio.run(contents.new_untitled("source"))
    assert not (tmp_path / "nbgrader_config.py").exists()
    assert (tmp_path / "source" / "notes.txt").read_text() == "hello"


def test_a_course_that_does_not_exist_is_refused(settings):
    with pytest.raises(SystemExit, match="no course 'nope-101'"):
        formgrader.serve(settings, "nope-101")
    with pytest.raises(SystemExit, match="is not a course slug"):
        formgrader.serve(settings, "../etc")


# nbgrader's formgrader API handlers that run one of nbgrader's apps: nbgrader answers a failure
# of one with its traceback (nbgrader.utils.capture_log), paths of the grader's machine included.
RUNS_AN_NBGRADER_APP = {
    "AssignHandler", "UnReleaseHandler", "ReleaseHandler", "CollectHandler", "AutogradeHandler",
    "GenerateAllFeedbackHandler", "ReleaseAllFeedbackHandler", "GenerateFeedbackHandler",
    "ReleaseFeedbackHandler",
}


def test_every_formgrader_step_that_could_answer_a_traceback_is_refused_with_a_sentence():
    from nbgrader.server_extensions.formgrader import apihandlers

    routes = [(path, handler) for path, handler in apihandlers.default_handlers
              if handler.__name__ in RUNS_AN_NBGRADER_APP]
    assert len(routes) == len(RUNS_AN_NBGRADER_APP)
    refused = dict(formgrader.REFUSED_HANDLERS)
    for path, handler in routes:
        assert path in refused, path
        assert issubclass(refused[path], handler)
        assert refused[path].post is not handler.post, path
