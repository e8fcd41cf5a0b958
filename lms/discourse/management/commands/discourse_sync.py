"""Bring every live course's category, group and members on Discourse in line with the LMS
(after Discourse was down for long, restored from a backup, or newly configured); ``--pending``
runs only the queued work (from cron, say)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from lms.discourse import selectors, services


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser) -> None:
        parser.add_argument("--pending", action="store_true",
                            help="Only run the work already queued (failed calls retried).")

    def handle(self, *args, pending: bool = False, **options) -> None:
        if not selectors.sync_configured():
            raise CommandError("Discourse is not configured: DISCOURSE_URL, "
                               "DISCOURSE_CONNECT_SECRET and DISCOURSE_API_KEY must be set.")
        done, failed = services.run_pending() if pending else services.resync_all()
        self.stdout.write(f"Discourse: {done} done, {failed} failed (the log says why; a call "
                          "Discourse could not answer stays queued and is retried).")
        if failed:
            raise CommandError(f"{failed} Discourse call(s) failed.")
