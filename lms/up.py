"""``python -m lms.up``: the one way the LMS starts, for ``make up`` and for its container.

Prepares the database and the site, then replaces itself with gunicorn in the foreground, so
Ctrl-C (or, in the container, the SIGTERM tini forwards) reaches gunicorn directly and it shuts
down cleanly. Every step is idempotent and runs at every start, because a new version may bring
new migrations, courses or tokens:

1. ``migrate``;
2. ``collectstatic``, unless ``LMS_COLLECT_STATIC=0`` (the image collects them when it is built);
3. ``register_hub_client`` when ``HUB_OAUTH_CLIENT_ID`` (or ``_FILE``) is set: the hub signs in
   through this LMS;
4. ``ensure_service_account <service>`` for each service whose token is given (``LMS_GRADER_TOKEN``,
   ``LMS_TUTOR_TOKEN``, or their ``_FILE``): the grader pushes grades, the tutor reads policies;
5. every course folder under ``STUDIO_COURSES_DIR`` imported (``LMS_IMPORT_COURSES``, default on);
   with ``LMS_SEED_DEMO=1`` instead ``seed_demo``, which imports them too and adds the demo
   accounts, enrolled in every course (``make up`` sets it; never in production: their passwords
   are printed);
6. gunicorn on ``LMS_BIND`` with ``LMS_WORKERS`` workers of ``LMS_THREADS`` threads, which count
   their metrics into ``<STUDIO_VAR_DIR>/metrics/lms`` (emptied here), summed by ``/metrics``
   (``servicekit.metrics``).

What differs between a laptop and the image is settings (docs/configuration.md, "LMS"), read
with the LMS's other variables (``lms.settings.environment``). Django is set up once for all of
it (one ``python -m lms`` process per step would cost a second each). Settings module:
``lms.settings.dev`` unless ``DJANGO_SETTINGS_MODULE`` says otherwise (the image sets
``lms.settings.prod``).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from courses.course_file import COURSE_FILE_NAME
from servicekit.metrics import MULTIPROCESS_VARIABLE, fresh_multiprocess_dir


def _given(variable: str) -> bool:
    """Whether a secret is given, as ``NAME`` or ``NAME_FILE`` (the command reads it)."""
    return bool(os.environ.get(variable, "").strip() or os.environ.get(f"{variable}_FILE", ""))


def prepare() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lms.settings.dev")
    import django

    django.setup()
    # After django.setup(): the settings and the apps' registries exist only then.
    from django.conf import settings
    from django.core.management import call_command

    from lms.accounts.service_accounts import SERVICE_ACCOUNTS

    call_command("migrate", interactive=False, verbosity=1)
    if settings.LMS_COLLECT_STATIC:
        call_command("collectstatic", interactive=False, verbosity=0)
    if _given("HUB_OAUTH_CLIENT_ID"):
        call_command("register_hub_client")
    for account in SERVICE_ACCOUNTS.values():
        if _given(account.token_variable):
            call_command("ensure_service_account", account.service)
    if settings.LMS_SEED_DEMO:
        call_command("seed_demo")
    elif settings.LMS_IMPORT_COURSES:
        courses = Path(settings.STUDIO_COURSES_DIR)
        folders = sorted(str(course.parent) for course in courses.glob(f"*/{COURSE_FILE_NAME}"))
        if folders:
            call_command("import_course", *folders)


def serve() -> None:
    """Replace this process with gunicorn serving the LMS on ``LMS_BIND``."""
    from django.conf import settings

    gunicorn = Path(sys.executable).parent / "gunicorn"
    if not gunicorn.exists():
        gunicorn = Path(shutil.which("gunicorn") or gunicorn)
    bind, workers, threads = settings.LMS_BIND, settings.LMS_WORKERS, settings.LMS_THREADS
    # gunicorn names it to its workers, which import prometheus_client only after it did.
    counted = fresh_multiprocess_dir(Path(settings.VAR_DIR) / "metrics" / "lms")
    print(f"LMS: http://{bind}/  ({workers} workers x {threads} threads; Ctrl-C stops it)",
          flush=True)
    os.execv(  # noqa: S606 - replaces this process on purpose (signals go to gunicorn)
        gunicorn,
        # Sync workers by default (LMS_THREADS=1): no idle keep-alive connections to wait for, so
        # a stop is prompt. More threads: gunicorn's gthread workers, which keep a browser's
        # connection open and may take up to the graceful timeout to stop.
        [str(gunicorn), "lms.wsgi", "--bind", bind, "--workers", str(workers),
         "--threads", str(threads),
         "--access-logfile", "-", "--graceful-timeout", "10",
         "--env", f"{MULTIPROCESS_VARIABLE}={counted}"],
    )


if __name__ == "__main__":
    prepare()
    serve()
