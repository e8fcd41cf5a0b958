"""``python -m lms send_digests``: send every pending daily digest now (what the worker's daily
task does; for an admin, or a school that prefers its own scheduler). Idempotent: an item goes
out once."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from lms.notifications.mailing import send_digests


class Command(BaseCommand):
    help = "Send every pending daily digest of notifications now."

    def handle(self, *args, **options) -> None:
        sent = send_digests()
        self.stdout.write(f"sent {sent} digest{'s' if sent != 1 else ''}")
