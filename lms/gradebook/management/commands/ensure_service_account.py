"""``ensure_service_account grader|tutor``: create or update a service's account and set its API
token from ``LMS_GRADER_TOKEN`` / ``LMS_TUTOR_TOKEN`` (or the file named by ``…_FILE``).

Run it at every start (it is idempotent): the service is given the same token in its own
environment. The grader pushes grades to ``/api/v1/grades/``; the tutor reads each assignment's
tutor policy and hints from ``/api/v1/courses/{slug}/assignments/``; both with
``Authorization: Token <token>``.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from lms.gradebook.services import ensure_grader_account
from lms.settings.secrets import env_secret
from lms.tutor.services import ensure_tutor_account

# Service name -> (the environment variable holding its token, the function that ensures it).
SERVICES = {
    "grader": ("LMS_GRADER_TOKEN", ensure_grader_account),
    "tutor": ("LMS_TUTOR_TOKEN", ensure_tutor_account),
}


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
