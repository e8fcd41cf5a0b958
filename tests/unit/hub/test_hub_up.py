"""hub.up, the supervisor of `make up`: what it does before starting the parts."""

from __future__ import annotations

import os
import stat

import pytest

from hub.up import keep_files_private


@pytest.fixture
def restore_umask():
    before = os.umask(0o022)
    os.umask(before)
    yield
    os.umask(before)


def test_local_fallback_closes_up_databases_and_makes_new_files_private(tmp_path, restore_umask):
    (tmp_path / "hub").mkdir()
    databases = [tmp_path / "lms.sqlite3", tmp_path / "hub" / "jupyterhub.sqlite"]
    for database in databases:
        database.write_bytes(b"")
        database.chmod(0o644)

    keep_files_private({"STUDIO_VAR_DIR": str(tmp_path)})

    for database in databases:
        assert stat.S_IMODE(database.stat().st_mode) == 0o600, database
    created = tmp_path / "new-secret"
    created.write_text("x")
    assert stat.S_IMODE(created.stat().st_mode) == 0o600


def test_local_fallback_keeps_the_way_to_learners_folders_passable_not_listable(
    tmp_path, restore_umask
):
    var = tmp_path / "var"

    keep_files_private({"STUDIO_VAR_DIR": str(var)})

    for folder in (var, var / "hub"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o711, folder
