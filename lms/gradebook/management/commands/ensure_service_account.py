"""``ensure_service_account grader``: create or update the grader's service account and set its
API token from ``LMS_GRADER_TOKEN`` (or the file named by ``LMS_GRADER_TOKEN_FILE``).

Run it at every start (it is idempotent): the grader service is given the same token in its own
environment and pushes grades to ``/api/v1/grades/`` with ``Authorization: Token <token>``.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from lms.gradebook.services import ensure_grader_account
from lms.settings.secrets import env_secret

# Service name -> (the environment variable holding its token, the function that ensures it).
SERVICES = {"grader": ("LMS_GRADER_TOKEN", ensure_grader_account)}


class Command(BaseCommand):
    help = "Create or update a service account (svc-<name>) and set its API token."

    def add_arguments(self, parser):
        parser.add_argument("service", choices=sorted(SERVICES))

    def handle(self, *args, service: str, **options):
        variable, ensure = SERVICES[service]
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
            user, created = ensure(token)
        except ValidationError as error:
            raise CommandError(f"{variable}: {' '.join(error.messages)}") from error
        verb = "Created" if created else "Updated"
        self.stdout.write(f"{verb} the {service} service account {user.username}; token set.")
