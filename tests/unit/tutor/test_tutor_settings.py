"""The tutor's settings: defaults under the studio's var folder, values from the environment,
clear errors for unusable values."""

from __future__ import annotations

import pytest

from servicekit.settings import SettingError
from tutor.settings import Settings


def test_defaults_live_under_the_studio_var_folder_and_mean_offline(tmp_path):
    settings = Settings.from_env({"STUDIO_VAR_DIR": str(tmp_path)})
    assert settings.db_url == f"sqlite:///{tmp_path / 'tutor' / 'tutor.sqlite'}"
    assert settings.offline is True and settings.api_key == ""
    assert settings.model == "gpt-4o-mini"
    assert (settings.rate_per_minute, settings.daily_quota) == (6, 100)
    assert settings.default_policy == "full"
    assert settings.policy_seconds == 30
    assert settings.lms_url == "http://127.0.0.1:8000"
    assert settings.lms_token == ""
    assert settings.service_url == settings.bind_url == "http://127.0.0.1:10102"
    assert settings.trusted_services == frozenset({"lms"})
    assert settings.courses_dir.name == "courses"


def test_values_come_from_the_environment(tmp_path):
    settings = Settings.from_env({
        "STUDIO_VAR_DIR": str(tmp_path),
        "OPENAI_API_KEY": "sk-test",
        "OPENAI_BASE_URL": "http://127.0.0.1:11434/v1/",
        "TUTOR_MODEL": "llama3.2",
        "TUTOR_DB_URL": "postgres://u:p@db/tutor",
        "TUTOR_MAX_INPUT_CHARS": "4000",
        "TUTOR_TIMEOUT_SECONDS": "2.5",
        "TUTOR_RATE_PER_MINUTE": "10",
        "TUTOR_DAILY_QUOTA": "20",
        "TUTOR_DEFAULT_POLICY": "hints-only",
        "TUTOR_POLICY_SECONDS": "0",
        "TUTOR_TRUSTED_SERVICES": "lms, reports",
        "JUPYTERHUB_SERVICE_URL": "http://127.0.0.1:19102",
        "TUTOR_BIND_URL": "http://0.0.0.0:19102",
        "LMS_PUBLIC_URL": "https://lms.example.org",
        "LMS_INTERNAL_URL": "http://lms:8000/",
        "LMS_TUTOR_TOKEN": "t" * 40,
    })
    assert settings.offline is False
    assert settings.base_url == "http://127.0.0.1:11434/v1"
    assert settings.model == "llama3.2"
    assert settings.db_url == "postgres://u:p@db/tutor"
    assert settings.max_input_chars == 4000 and settings.timeout_seconds == 2.5
    assert (settings.rate_per_minute, settings.daily_quota) == (10, 20)
    assert settings.default_policy == "hints-only" and settings.policy_seconds == 0
    assert settings.trusted_services == frozenset({"lms", "reports"})
    assert settings.bind_url == "http://0.0.0.0:19102"
    assert settings.lms_url == "http://lms:8000" and settings.lms_token == "t" * 40


def test_secrets_may_come_from_files(tmp_path):
    (tmp_path / "key").write_text("sk-from-file\n")
    (tmp_path / "token").write_text("lms-token-from-file\n")
    settings = Settings.from_env({"OPENAI_API_KEY_FILE": str(tmp_path / "key"),
                                  "LMS_TUTOR_TOKEN_FILE": str(tmp_path / "token")})
    assert settings.api_key == "sk-from-file"
    assert settings.lms_token == "lms-token-from-file"


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("TUTOR_RATE_PER_MINUTE", "0", "at least 1"),
        ("TUTOR_DAILY_QUOTA", "many", "a whole number"),
        ("TUTOR_TIMEOUT_SECONDS", "-1", "at least 0.1"),
        ("TUTOR_MAX_INPUT_CHARS", "10", "at least 1000"),
        ("TUTOR_DEFAULT_POLICY", "sometimes", "off, hints-only, full"),
    ],
)
def test_unusable_values_are_refused_with_the_variable_named(name, value, says):
    with pytest.raises(SettingError, match=f"{name}.*{says}"):
        Settings.from_env({name: value})


def test_a_bad_value_is_refused_naming_its_variable_the_value_and_the_bound():
    with pytest.raises(SettingError) as refused:
        Settings.from_env({"TUTOR_LMS_TIMEOUT_SECONDS": "0"})
    assert str(refused.value) == "TUTOR_LMS_TIMEOUT_SECONDS='0': must be at least 0.1"
    assert refused.value.name == "TUTOR_LMS_TIMEOUT_SECONDS"


def test_the_default_policy_may_be_written_in_capitals():
    assert Settings.from_env({"TUTOR_DEFAULT_POLICY": "Hints-Only"}).default_policy == "hints-only"


def test_the_cookie_secret_is_generated_once_and_kept(tmp_path):
    settings = Settings.from_env({"STUDIO_VAR_DIR": str(tmp_path)})
    first = settings.cookie_secret()
    assert first == settings.cookie_secret()
    assert (tmp_path / "secrets" / "tutor-cookie-secret").stat().st_mode & 0o077 == 0
    assert Settings.from_env({"TUTOR_COOKIE_SECRET": "given"}).cookie_secret() == b"given"
