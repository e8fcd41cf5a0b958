"""The LMS container's entry point: prepare the database, then become gunicorn.

Runs at every start, because each step is idempotent and a new image may bring new migrations:
``migrate``; the hub's OIDC client (``register_hub_client``) and the grader's and the tutor's
service accounts (``ensure_service_account``), from the same env-file secrets the hub and the
services get, so they cannot drift apart; every course folder under ``STUDIO_COURSES_DIR``
imported (``LMS_IMPORT_COURSES``, default on); the demo accounts only with ``LMS_SEED_DEMO=1``
(never in production: their passwords are printed to the log). Django is set up once for all of
it (one command per ``python -m lms`` process would cost a second each). Static files were
collected when the image was built.

``OIDC_RSA_PRIVATE_KEY_BASE64``: an env file holds one line per variable, and a PEM key has
several, so the key may come base64-encoded; it is decoded into ``OIDC_RSA_PRIVATE_KEY``, which
``lms.settings.prod`` reads, before Django starts. With arguments, this runs that management
command instead (:func:`manage`).
"""

from __future__ import annotations

import base64
import os
import sys
from collections.abc import MutableMapping
from pathlib import Path

BIND = "0.0.0.0:8000"  # inside the container; only the front proxy reaches it


def decode_key(environ: MutableMapping[str, str]) -> None:
    """``OIDC_RSA_PRIVATE_KEY`` from ``OIDC_RSA_PRIVATE_KEY_BASE64`` when only that is set."""
    encoded = environ.pop("OIDC_RSA_PRIVATE_KEY_BASE64", "").strip()
    if encoded and not environ.get("OIDC_RSA_PRIVATE_KEY"):
        environ["OIDC_RSA_PRIVATE_KEY"] = base64.b64decode(encoded).decode()


def has_secret(name: str) -> bool:
    return bool(os.environ.get(name) or os.environ.get(f"{name}_FILE"))


def prepare() -> None:
    import django
    from django.conf import settings
    from django.core.management import call_command

    django.setup()
    call_command("migrate", interactive=False, verbosity=1)
    if os.environ.get("HUB_OAUTH_CLIENT_ID"):
        call_command("register_hub_client")
    for service, token in (("grader", "LMS_GRADER_TOKEN"), ("tutor", "LMS_TUTOR_TOKEN")):
        if has_secret(token):
            call_command("ensure_service_account", service)
    if os.environ.get("LMS_IMPORT_COURSES", "1") == "1":
        courses = Path(settings.STUDIO_COURSES_DIR)
        folders = sorted(str(course.parent) for course in courses.glob("*/course.yml"))
        if folders:
            call_command("import_course", *folders)
    if os.environ.get("LMS_SEED_DEMO") == "1":
        call_command("seed_demo")


def serve() -> None:
    """Replace this process with gunicorn (tini then forwards SIGTERM to it directly)."""
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    workers = os.environ.get("LMS_WORKERS", "3")
    os.execv(  # noqa: S606 - replaces this process on purpose
        gunicorn,
        [gunicorn, "lms.wsgi", "--bind", BIND, "--workers", workers,
         "--access-logfile", "-", "--graceful-timeout", "10"],
    )


def manage(arguments: list[str]) -> None:
    """``start.py <command> [...]``: one of ``python -m lms``'s management commands with the
    key decoded as for the server (``docker-compose exec lms python images/lms/start.py
    import-course /srv/courses/<slug>``); a plain ``python -m lms`` in the container lacks it."""
    from lms.__main__ import main

    sys.argv = ["python -m lms", *arguments]
    main()


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lms.settings.prod")
    decode_key(os.environ)
    if len(sys.argv) > 1:
        manage(sys.argv[1:])
    else:
        prepare()
        serve()
