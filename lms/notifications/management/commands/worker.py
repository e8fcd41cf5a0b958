"""``python -m lms worker``: the LMS's background worker (``make up`` and compose run one).

Queues the next daily digest, peer review reminders and pruning of finished task results
if none are queued (``tasks.schedule_digest``, ``reminders.schedule_reminders``,
``pruning.schedule_pruning``), then runs django-tasks' database worker (``db_worker``) on
every queue: notification emails, the digest, the reminders and the pruning.
``--batch`` runs what is due and exits (tests, a cron-style run)."""

from __future__ import annotations

from django.core.management import call_command
from django.core.management.base import BaseCommand

from lms.notifications.pruning import schedule_pruning
from lms.notifications.reminders import schedule_reminders
from lms.notifications.tasks import schedule_digest


class Command(BaseCommand):
    help = "Run the LMS's background worker: notification emails and the daily digest."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--batch", action="store_true",
                            help="Run the tasks that are due, then exit.")
        parser.add_argument("--interval", type=float, default=1.0,
                            help="Seconds between looks at the queue when it is empty.")

    def handle(self, *args, batch: bool = False, interval: float = 1.0, **options) -> None:
        if schedule_digest() and options.get("verbosity", 1):
            self.stdout.write("worker: the next daily digest is queued")
        if schedule_reminders() and options.get("verbosity", 1):
            self.stdout.write("worker: the next peer review reminders are queued")
        if schedule_pruning() and options.get("verbosity", 1):
            self.stdout.write("worker: the next pruning of finished task results is queued")
        call_command(
            "db_worker", queue_name="*", batch=batch, interval=interval, reload=False,
            startup_delay=False, verbosity=options.get("verbosity", 1),
        )
