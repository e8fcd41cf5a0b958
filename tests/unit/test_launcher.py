"""launcher.up, the supervisor of `make up`: what it does before starting the parts."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from launcher import up
from launcher.up import LauncherSettings, keep_files_private, main, studio_environment


@pytest.fixture
def restore_umask():
    before = os.umask(0o022)
    os.umask(before)
    yield
    os.umask(before)


def test_local_fallback_closes_up_databases_and_makes_new_files_private(tmp_path, restore_umask):
    (tmp_path / "hub").mkdir()
    (tmp_path / "tutor").mkdir()
    databases = [tmp_path / "lms.sqlite3", tmp_path / "hub" / "jupyterhub.sqlite",
                 tmp_path / "tutor" / "tutor.sqlite"]
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


def test_parts_share_generated_secrets_by_file_and_the_lms_finds_the_grader(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("STUDIO_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("HUB_PUBLIC_URL", "http://localhost:9001")
    for name in ("HUB_GRADER", "LMS_GRADER_API_URL", "LMS_GRADER_TOKEN_FILE",
                 "HUB_LMS_SERVICE_TOKEN_FILE", "LMS_HUB_SERVICE_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    env = studio_environment()
    secrets = tmp_path / "secrets"
    assert env["LMS_GRADER_TOKEN_FILE"] == str(secrets / "lms-grader-token")
    assert env["HUB_LMS_SERVICE_TOKEN_FILE"] == env["LMS_HUB_SERVICE_TOKEN_FILE"]
    for variable in ("LMS_GRADER_TOKEN_FILE", "LMS_HUB_SERVICE_TOKEN_FILE"):
        secret = tmp_path / env[variable]
        assert len(secret.read_text().strip()) >= 32
        assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    # the LMS takes API token keys of 20 to 40 characters
    assert len((tmp_path / env["LMS_GRADER_TOKEN_FILE"]).read_text().strip()) == 40
    # through the proxy by the hub's public host, which routes the grader's path
    assert env["LMS_GRADER_API_URL"] == "http://localhost:9001/services/grader/api"
    assert studio_environment() == env  # generated once, the same at every start


def test_the_lms_and_the_tutor_share_the_tutors_token_and_the_lms_finds_the_tutor(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("STUDIO_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("HUB_PUBLIC_URL", "http://localhost:9001")
    for name in ("HUB_TUTOR", "LMS_TUTOR_API_URL", "LMS_TUTOR_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    env = studio_environment()
    token = tmp_path / "secrets" / "lms-tutor-token"
    assert env["LMS_TUTOR_TOKEN_FILE"] == str(token)
    assert len(token.read_text().strip()) == 40  # an LMS API token key holds at most 40
    assert stat.S_IMODE(token.stat().st_mode) == 0o600
    assert env["LMS_TUTOR_API_URL"] == "http://localhost:9001/services/tutor/api"


def test_the_lms_links_to_the_hub_and_registers_its_callback_at_the_hubs_public_url(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("STUDIO_VAR_DIR", str(tmp_path))
    for name in ("HUB_PUBLIC_URL", "STUDIO_HUB_URL", "HUB_OAUTH_CALLBACK_URL"):
        monkeypatch.delenv(name, raising=False)
    env = studio_environment()
    # not 127.0.0.1, the LMS's host: the hub and the LMS keep apart cookies
    assert env["STUDIO_HUB_URL"] == "http://localhost:8001"
    assert env["HUB_OAUTH_CALLBACK_URL"] == "http://localhost:8001/hub/oauth_callback"


def test_the_parts_import_the_launchers_own_checkout(tmp_path, monkeypatch):
    monkeypatch.setenv("STUDIO_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", "/somewhere/else")
    env = studio_environment()
    root = Path(__file__).resolve().parents[2]
    assert env["PYTHONPATH"].split(os.pathsep) == [str(root), "/somewhere/else"]
    hub = subprocess.run([sys.executable, "-c", "import sys; sys.path.pop(0); import hub; "
                          "print(hub.__file__)"], env=env, cwd=tmp_path, capture_output=True,
                         text=True, check=True)
    assert hub.stdout.strip() == str(root / "hub" / "__init__.py")


def test_every_part_is_given_the_same_metrics_token_generated_once(tmp_path, monkeypatch):
    monkeypatch.setenv("STUDIO_VAR_DIR", str(tmp_path))
    monkeypatch.delenv("STUDIO_METRICS_TOKEN_FILE", raising=False)
    env = studio_environment()
    token = tmp_path / "secrets" / "metrics-token"
    assert env["STUDIO_METRICS_TOKEN_FILE"] == str(token)  # the LMS's, the hub's, its services'
    assert len(token.read_text().strip()) >= 32
    assert stat.S_IMODE(token.stat().st_mode) == 0o600


def test_with_the_tutor_off_the_lms_is_not_pointed_at_it(tmp_path, monkeypatch):
    monkeypatch.setenv("STUDIO_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("HUB_TUTOR", "off")
    monkeypatch.delenv("LMS_TUTOR_API_URL", raising=False)
    assert "LMS_TUTOR_API_URL" not in studio_environment()


def test_the_launcher_reads_the_hubs_modes_in_any_case_as_the_hub_does(tmp_path, monkeypatch):
    monkeypatch.setenv("STUDIO_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("HUB_GRADER", "OFF")
    monkeypatch.setenv("HUB_TUTOR", " Managed ")
    for name in ("LMS_GRADER_API_URL", "LMS_TUTOR_API_URL"):
        monkeypatch.delenv(name, raising=False)
    env = studio_environment()
    assert "LMS_GRADER_API_URL" not in env
    assert env["LMS_TUTOR_API_URL"].endswith("/services/tutor/api")
    assert LauncherSettings.from_env({"HUB_SPAWNER": "Docker"}).spawner == "docker"


def test_make_up_starts_the_lms_with_its_demo_accounts(tmp_path, monkeypatch):
    monkeypatch.setenv("STUDIO_VAR_DIR", str(tmp_path))
    monkeypatch.delenv("LMS_SEED_DEMO", raising=False)
    assert studio_environment()["LMS_SEED_DEMO"] == "1"
    monkeypatch.setenv("LMS_SEED_DEMO", "0")
    assert studio_environment()["LMS_SEED_DEMO"] == "0"  # unless the environment says not to


def test_the_launcher_answers_help_without_starting_anything(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("STUDIO_VAR_DIR", str(tmp_path))
    with pytest.raises(SystemExit) as stopped:
        main(["--help"])
    assert stopped.value.code == 0
    assert "docs/configuration.md" in capsys.readouterr().out
    assert not any(tmp_path.iterdir())  # no secret generated, nothing started


class StoppedPart:
    """A started part that has already exited: main() stops the studio at once."""

    pid = 2**22 + 12345  # no such process group: stop() finds nothing to kill

    def __init__(self, command):
        self.args = command

    def poll(self):
        return 0

    def wait(self, timeout=None):
        return 0


def test_make_up_starts_the_lms_worker_once_the_lms_answers_and_says_where_mail_goes(
        tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("STUDIO_VAR_DIR", str(tmp_path))
    monkeypatch.delenv("LMS_EMAIL_HOST", raising=False)
    steps = []
    monkeypatch.setattr(up, "choose_spawner", lambda settings: "local")
    monkeypatch.setattr(up, "keep_files_private", lambda env: None)
    monkeypatch.setattr(up, "start", lambda command, env: steps.append(command[1:])
                        or StoppedPart(command))
    monkeypatch.setattr(up, "wait_until_answers",
                        lambda url, process, what, timeout: steps.append(what))
    up.print_summary(LauncherSettings.from_env({"STUDIO_VAR_DIR": str(tmp_path)}), "local")
    assert f"Email:      written to files in {tmp_path / 'mail'}/" in capsys.readouterr().out
    main([])
    assert steps[:3] == [["-m", "lms.up"], "The LMS", ["-m", "lms", "worker"]]
