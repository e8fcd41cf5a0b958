"""The grader's settings: defaults under the studio's var folder, values from the environment,
clear errors for unusable values."""

from __future__ import annotations

import os

import pytest

from grading.settings import MIB, Settings
from servicekit.settings import SettingError


def test_defaults_live_under_the_studio_var_folder(tmp_path):
    settings = Settings.from_env({"STUDIO_VAR_DIR": str(tmp_path)})
    assert settings.root == tmp_path / "grader"
    assert settings.db_url == f"sqlite:///{tmp_path / 'grader' / 'grader.sqlite'}"
    assert settings.workers == os.cpu_count()
    assert settings.max_submission_bytes == 20 * MIB
    assert settings.lms_url == "http://127.0.0.1:8000"
    assert settings.lms_token == ""
    assert settings.courses_dir.name == "courses"
    assert settings.submissions_dir == tmp_path / "grader" / "submissions"
    assert settings.gradebook_scan_seconds == 15
    course_dir = settings.nbgrader_course_dir("python-101")
    assert course_dir == tmp_path / "grader" / "courses" / "python-101"


def test_values_come_from_the_environment(tmp_path):
    settings = Settings.from_env({
        "STUDIO_VAR_DIR": str(tmp_path),
        "GRADER_ROOT": str(tmp_path / "elsewhere"),
        "GRADER_DB_URL": "postgres://u:p@db:5432/grader",
        "GRADER_WORKERS": "0",
        "GRADER_MAX_SUBMISSION_BYTES": "1000",
        "GRADER_LEASE_SECONDS": "12.5",
        "LMS_PUBLIC_URL": "https://lms.example.org",
        "LMS_INTERNAL_URL": "http://lms:8000/",
        "STUDIO_COURSES_DIR": str(tmp_path / "c"),
        "GRADER_GRADEBOOK_SCAN_SECONDS": "0",
    })
    assert settings.root == tmp_path / "elsewhere"
    assert settings.db_url == "postgres://u:p@db:5432/grader"
    assert settings.workers == 0
    assert settings.max_submission_bytes == 1000
    assert settings.lease_seconds == 12.5
    assert settings.gradebook_scan_seconds == 0  # no scan for manual grades
    assert settings.lms_url == "http://lms:8000"
    assert settings.studio_course_dir("python-101") == tmp_path / "c" / "python-101"


def test_the_lms_url_defaults_to_the_public_one():
    settings = Settings.from_env({"LMS_PUBLIC_URL": "https://lms.example.org"})
    assert settings.lms_url == "https://lms.example.org"


def test_the_lms_token_may_come_from_a_file(tmp_path):
    secret = tmp_path / "token"
    secret.write_text("tok-from-file\n")
    assert Settings.from_env({"LMS_GRADER_TOKEN_FILE": str(secret)}).lms_token == "tok-from-file"
    assert Settings.from_env({"LMS_GRADER_TOKEN": "direct"}).lms_token == "direct"


@pytest.mark.parametrize(
    ("name", "value"),
    [("GRADER_WORKERS", "many"), ("GRADER_WORKERS", "-1"), ("GRADER_LEASE_SECONDS", "0"),
     ("GRADER_MAX_SUBMISSION_BYTES", "1.5")],
)
def test_unusable_numbers_are_refused_by_name(name, value):
    with pytest.raises(SettingError, match=name):
        Settings.from_env({name: value})


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("GRADER_WORKERS", "many", "GRADER_WORKERS='many': must be a whole number"),
        ("GRADER_WORKERS", "-1", "GRADER_WORKERS='-1': must be at least 0"),
        ("GRADER_POLL_SECONDS", "0", "GRADER_POLL_SECONDS='0': must be at least 0.01"),
        ("GRADER_SANDBOX_PIDS", "8", "GRADER_SANDBOX_PIDS='8': must be at least 16"),
        ("GRADER_SANDBOX_CPUS", "lots", "GRADER_SANDBOX_CPUS='lots': must be a number"),
    ],
)
def test_a_bad_value_names_its_variable_and_what_it_must_be(name, value, message):
    with pytest.raises(SettingError) as refused:
        Settings.from_env({name: value})
    assert str(refused.value) == message
    assert refused.value.name == name


def test_the_cookie_secret_is_generated_once_and_kept(tmp_path):
    settings = Settings.from_env({"STUDIO_VAR_DIR": str(tmp_path)})
    first = settings.cookie_secret()
    assert len(first) == 64
    assert settings.cookie_secret() == first
    assert (tmp_path / "secrets" / "grader-cookie-secret").stat().st_mode & 0o777 == 0o600
    assert Settings.from_env({"GRADER_COOKIE_SECRET": "given"}).cookie_secret() == b"given"


def test_the_api_listens_where_the_hub_reaches_it_unless_told_otherwise(tmp_path):
    hub_given = {"STUDIO_VAR_DIR": str(tmp_path), "JUPYTERHUB_SERVICE_URL": "http://127.0.0.1:9"}
    assert Settings.from_env(hub_given).bind_url == "http://127.0.0.1:9"
    bound = Settings.from_env({**hub_given, "GRADER_BIND_URL": "http://0.0.0.0:9"})
    assert (bound.bind_url, bound.service_url) == ("http://0.0.0.0:9", "http://127.0.0.1:9")


def test_the_lms_is_the_trusted_service_by_default(tmp_path):
    assert Settings.from_env({"STUDIO_VAR_DIR": str(tmp_path)}).trusted_services == {"lms"}
    named = Settings.from_env(
        {"STUDIO_VAR_DIR": str(tmp_path), "GRADER_TRUSTED_SERVICES": " lms, ops ,"}
    )
    assert named.trusted_services == {"lms", "ops"}


def test_the_sandbox_is_configured_from_the_environment(tmp_path):
    from grading.sandbox import Sandbox

    settings = Settings.from_env({
        "STUDIO_VAR_DIR": str(tmp_path), "GRADER_SANDBOX_PREFIX": "pls-test-grading",
        "GRADER_SANDBOX_MEM": "512m", "GRADER_CELL_TIMEOUT": "5", "GRADER_POOL_SIZE": "0",
        "GRADER_SANDBOX_IMAGE": "site:1",
    })
    sandbox = Sandbox(**settings.sandbox)
    assert (sandbox.name_prefix, sandbox.mem_limit, sandbox.cell_timeout) == (
        "pls-test-grading", "512m", 5
    )
    assert (sandbox.pool_size, sandbox.image, sandbox.pids_limit) == (0, "site:1", 256)
    with pytest.raises(SettingError, match="GRADER_CELL_TIMEOUT"):
        Settings.from_env({"STUDIO_VAR_DIR": str(tmp_path), "GRADER_CELL_TIMEOUT": "0"})
