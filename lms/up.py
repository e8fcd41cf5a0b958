"""``python -m lms.up``: prepare the LMS on embedded defaults and serve it with gunicorn.

Migrates, seeds the demo (accounts, courses, enrollments), registers the hub as OIDC client when
HUB_OAUTH_CLIENT_ID is set, the grader's service account when LMS_GRADER_TOKEN(_FILE) is and the
tutor's when LMS_TUTOR_TOKEN(_FILE) is (``make up`` sets them all), collects static files, prints
the URL and the demo logins, then replaces itself with gunicorn in the foreground, so Ctrl-C reaches
gunicorn directly and it shuts down cleanly. Settings: lms.settings.dev unless
DJANGO_SETTINGS_MODULE says otherwise.
"""

from __future__ import annotations

import os
import shutil
import sys

BIND = os.environ.get("LMS_BIND", "127.0.0.1:8000")


def prepare() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lms.settings.dev")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", interactive=False, verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    call_command("seed_demo")
    if os.environ.get("HUB_OAUTH_CLIENT_ID"):
        call_command("register_hub_client")  # make up: the hub signs in through this LMS
    if os.environ.get("LMS_GRADER_TOKEN") or os.environ.get("LMS_GRADER_TOKEN_FILE"):
        call_command("ensure_service_account", "grader")  # the grader pushes grades with it
    if os.environ.get("LMS_TUTOR_TOKEN") or os.environ.get("LMS_TUTOR_TOKEN_FILE"):
        call_command("ensure_service_account", "tutor")  # the tutor reads policies with it


def serve() -> None:
    gunicorn = shutil.which("gunicorn") or os.path.join(os.path.dirname(sys.executable), "gunicorn")
    workers = os.environ.get("LMS_WORKERS", "3")
    print(f"LMS: http://{BIND}/  (Ctrl-C stops it)", flush=True)
    os.execv(  # noqa: S606 - replaces this process on purpose (signals go to gunicorn)
        gunicorn,
        # Sync workers: no idle keep-alive connections to wait for, so Ctrl-C stops promptly.
        [gunicorn, "lms.wsgi", "--bind", BIND, "--workers", workers,
         "--access-logfile", "-", "--graceful-timeout", "10"],
    )


if __name__ == "__main__":
    prepare()
    serve()
