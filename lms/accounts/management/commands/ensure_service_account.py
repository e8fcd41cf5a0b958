"""``ensure_service_account <service>``: create or update a service's account and set its API
token from the variable its app registered (``LMS_GRADER_TOKEN`` for ``grader``,
``LMS_TUTOR_TOKEN`` for ``tutor``), or the file named by ``…_FILE``.

Run it at every start (it is idempotent): the service is given the same token in its own
environment. The grader pushes grades to ``/api/v1/grades/``; the tutor reads each assignment's
tutor policy and hints from ``/api/v1/courses/{slug}/assignments/``; both with
``Authorization: Token <token>``. Which services there are is
``lms.accounts.service_accounts.SERVICE_ACCOUNTS``.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from lms.accounts.service_accounts import SERVICE_ACCOUNTS
from servicekit.secrets import env_secret


class Command(BaseCommand):
    help = "Create or update a service account (svc-<name>) and set its API token."

    def add_arguments(self, parser):
        parser.add_argument("service", choices=list(SERVICE_ACCOUNTS))

    def handle(self, *args, service: str, **options):
        account = SERVICE_ACCOUNTS[service]
        variable = account.token_variable
        try:
            token = env_secret(variable)
        except OSError as error:
            raise CommandError(f"Cannot read {variable}_FILE: {error}") from error
        if not token:
            raise CommandError(
                f"Set {variable} (or {variable}_FILE, a file holding it) to the token the "
                f"{service} service uses; the same value goes into the {service}'s environment."
            )
        try:
            user, created = account.ensure(token)
        except ValidationError as error:
            raise CommandError(f"{variable}: {' '.join(error.messages)}") from error
        verb = "Created" if created else "Updated"
        self.stdout.write(f"{verb} the {service} service account {user.username}; token set.")
