"""The LMS reads its environment through one EnvSettings class: a value it cannot use stops it
naming the variable (and never showing a secret), and every variable is documented."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lms.settings.environment import HubClientEnvironment, LMSEnvironment
from servicekit.settings import SettingError

ROOT = Path(__file__).resolve().parents[3]
PEM = "-----BEGIN PRIVATE KEY-----\nMIIE...\n-----END PRIVATE KEY-----\n"


def test_a_bad_value_stops_the_lms_naming_its_variable():
    env = {k: v for k, v in os.environ.items() if not k.startswith("LMS_")}
    result = subprocess.run(
        [sys.executable, "-c", "from lms.settings import base"],
        env={**env, "LMS_GRADER_TIMEOUT": "abc"}, cwd=ROOT, capture_output=True, text=True,
    )
    assert result.returncode != 0
    assert "LMS_GRADER_TIMEOUT='abc': must be a number" in result.stderr


@pytest.mark.parametrize(("environ", "message"), [
    ({"LMS_GRADER_TIMEOUT": "abc"}, "LMS_GRADER_TIMEOUT='abc': must be a number"),
    ({"LMS_TUTOR_TIMEOUT": "0"}, "LMS_TUTOR_TIMEOUT='0': must be more than 0"),
    ({"LMS_WORKERS": "many"}, "LMS_WORKERS='many': must be a whole number"),
    ({"LMS_THREADS": "0"}, "LMS_THREADS='0': must be at least 1"),
    ({"LMS_DB_CONN_MAX_AGE": "-1"}, "LMS_DB_CONN_MAX_AGE='-1': must be at least 0"),
    ({"OIDC_ID_TOKEN_SECONDS": "1h"}, "OIDC_ID_TOKEN_SECONDS='1h': must be a whole number"),
    ({"LMS_SEED_DEMO": "maybe"},
     "LMS_SEED_DEMO='maybe': must be 1/0, true/false, yes/no or on/off"),
    ({"LMS_PUBLIC_URL": "lms.example.org"},
     "LMS_PUBLIC_URL='lms.example.org': must be an http:// or https:// URL"),
    ({"LMS_GRADER_API_URL": "grader:10101"},
     "LMS_GRADER_API_URL='grader:10101': must be an http:// or https:// URL"),
    ({"LMS_API_THROTTLE_USER": "lots"}, "LMS_API_THROTTLE_USER='lots': must be a rate such as "
     "60/min: a number of requests per s, min, hour or day"),
    ({"LMS_TIME_ZONE": "Mars/Olympus"},
     "LMS_TIME_ZONE='Mars/Olympus': must be a time zone name such as UTC or Europe/Berlin"),
    ({"LMS_LOG_LEVEL": "loud"},
     "LMS_LOG_LEVEL='loud': must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL"),
    ({"LMS_LOGIN_FAILURES_PER_ACCOUNT": "0"},
     "LMS_LOGIN_FAILURES_PER_ACCOUNT='0': must be at least 1"),
    ({"LMS_LOGIN_LOCKOUT_MINUTES": "soon"},
     "LMS_LOGIN_LOCKOUT_MINUTES='soon': must be a whole number"),
    ({"LMS_EMAIL_SECURITY": "tls"},
     "LMS_EMAIL_SECURITY='tls': must be one of starttls, ssl, none"),
    ({"LMS_EMAIL_PORT": "70000"}, "LMS_EMAIL_PORT='70000': must be at most 65535"),
    ({"LMS_NOTIFICATIONS_DIGEST_HOUR": "24"},
     "LMS_NOTIFICATIONS_DIGEST_HOUR='24': must be at most 23"),
    ({"LMS_TASK_RESULTS_RETENTION_DAYS": "0"},
     "LMS_TASK_RESULTS_RETENTION_DAYS='0': must be at least 1"),
    ({"LMS_TRUSTED_PROXIES": "front,the proxy"},
     "LMS_TRUSTED_PROXIES='front,the proxy': 'the proxy' is not an address, a network or a "
     "host name: list the proxies in front of the LMS, comma-separated, e.g. front or "
     "10.0.0.5,10.1.0.0/16"),
])
def test_a_bad_value_names_its_variable_and_what_it_must_be(environ, message):
    with pytest.raises(SettingError) as caught:
        LMSEnvironment.from_env(environ)
    assert str(caught.value) == message
    assert caught.value.name == next(iter(environ))


def test_unset_variables_keep_their_defaults():
    env = LMSEnvironment.from_env({})
    assert (env.public_url, env.hub_url, env.grader_api_url, env.tutor_api_url) == (
        "http://127.0.0.1:8000", "http://localhost:8001", "", "")
    assert (env.grader_timeout, env.tutor_timeout, env.workers, env.bind) == (
        30.0, 10.0, 3, "127.0.0.1:8000")
    assert (env.collect_static, env.import_courses, env.seed_demo) == (True, True, False)
    assert (env.hosts(), env.trusted_origins(), env.log_level) == (
        ["127.0.0.1", "localhost"], [], "INFO")
    assert (env.login_failures_per_account, env.login_failures_per_address,
            env.login_lockout_minutes, env.proxies()) == (5, 50, 15, [])


def test_trusted_proxies_are_addresses_networks_or_host_names():
    env = LMSEnvironment.from_env({"LMS_TRUSTED_PROXIES": "front, 10.0.0.5,172.18.0.0/16,::1"})
    assert env.proxies() == ["front", "10.0.0.5", "172.18.0.0/16", "::1"]


def test_the_signing_key_may_come_base64_encoded_on_one_line():
    encoded = base64.b64encode(PEM.encode()).decode()
    assert LMSEnvironment.from_env({"OIDC_RSA_PRIVATE_KEY_BASE64": encoded}).oidc_private_key() \
        == PEM
    assert LMSEnvironment.from_env({"OIDC_RSA_PRIVATE_KEY": "plain",
                                    "OIDC_RSA_PRIVATE_KEY_BASE64": encoded}).oidc_private_key() \
        == "plain"


def test_a_bad_base64_key_is_named_without_being_shown():
    env = LMSEnvironment.from_env({"OIDC_RSA_PRIVATE_KEY_BASE64": "not base64: hunter2"})
    with pytest.raises(SettingError) as caught:
        env.oidc_private_key()
    assert caught.value.name == "OIDC_RSA_PRIVATE_KEY_BASE64"
    assert "hunter2" not in str(caught.value)


def test_a_bad_database_url_is_named_without_its_password(tmp_path):
    env = LMSEnvironment.from_env({"DATABASE_URL": "mysqlx://lms:hunter2@db/lms"})
    with pytest.raises(SettingError) as caught:
        env.database(default_sqlite=tmp_path / "lms.sqlite3")
    assert caught.value.name == "DATABASE_URL"
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize(("url", "engine"), [
    ("postgres://lms:secret@db:5432/lms", "lms.base.database.postgresql"),
    ("", "django_prometheus.db.backends.sqlite3"),
])
def test_the_database_is_used_through_a_backend_that_counts_queries(tmp_path, url, engine):
    database = LMSEnvironment.from_env({"DATABASE_URL": url}).database(tmp_path / "lms.sqlite3")
    assert database["ENGINE"] == engine


def test_sqlite_writers_wait_for_each_other_instead_of_failing(tmp_path):
    sqlite = LMSEnvironment.from_env({}).database(tmp_path / "lms.sqlite3")
    assert sqlite["OPTIONS"] == {"transaction_mode": "IMMEDIATE", "timeout": 20}
    postgres = LMSEnvironment.from_env({"DATABASE_URL": "postgres://lms:s@db:5432/lms"})
    assert "transaction_mode" not in postgres.database(tmp_path / "lms.sqlite3").get("OPTIONS", {})


def test_every_lms_variable_is_documented():
    documented = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    variables = {*LMSEnvironment.variables().values(), *HubClientEnvironment.variables().values()}
    assert {v for v in variables if f"`{v}`" not in documented} == set()


PROD_COOKIES = (
    "from lms.settings import prod\n"
    "print(getattr(prod, 'SESSION_COOKIE_NAME', 'sessionid'), "
    "getattr(prod, 'CSRF_COOKIE_NAME', 'csrftoken'))"
)


@pytest.mark.parametrize(("insecure", "names"), [
    ("0", "__Host-sessionid __Host-csrftoken"),
    ("1", "sessionid csrftoken"),  # browsers drop __Host- cookies without the Secure flag
])
def test_production_cookies_are_ones_no_other_host_can_toss(insecure, names):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LMS_", "DJANGO_"))}
    env |= {"LMS_SECRET_KEY": "x" * 50, "OIDC_RSA_PRIVATE_KEY": PEM,
            "LMS_INSECURE_COOKIES": insecure}
    result = subprocess.run([sys.executable, "-c", PROD_COOKIES], env=env, cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == names.split()


EMAIL_SETTINGS = (
    "from django.conf import settings; import django; django.setup(); "
    "print(settings.EMAIL_BACKEND, getattr(settings, 'EMAIL_FILE_PATH', ''), "
    "getattr(settings, 'EMAIL_HOST', ''), getattr(settings, 'EMAIL_USE_TLS', ''), "
    "getattr(settings, 'EMAIL_USE_SSL', ''))"
)


@pytest.mark.parametrize(("environ", "expected"), [
    ({}, "django.core.mail.backends.filebased.EmailBackend {var}/mail localhost False False"),
    ({"LMS_EMAIL_HOST": "smtp.example.org"},
     "django.core.mail.backends.smtp.EmailBackend  smtp.example.org True False"),
    ({"LMS_EMAIL_HOST": "smtp.example.org", "LMS_EMAIL_SECURITY": "ssl"},
     "django.core.mail.backends.smtp.EmailBackend  smtp.example.org False True"),
])
def test_email_goes_to_files_under_var_mail_unless_an_smtp_server_is_set(tmp_path, environ,
                                                                       expected):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LMS_", "DJANGO_"))}
    env.update(environ, STUDIO_VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="lms.settings.dev")
    result = subprocess.run([sys.executable, "-c", EMAIL_SETTINGS], env=env, cwd=ROOT,
                            capture_output=True, text=True, check=True)
    assert result.stdout.strip() == expected.format(var=tmp_path).strip()
