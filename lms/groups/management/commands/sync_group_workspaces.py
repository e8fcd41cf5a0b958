"""Put the hub's shares of every study group's workspace in step with the groups' members: after
the hub could not be reached when someone joined or left (``lms.groups.workspace`` logs it)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from lms.groups import workspace
from lms.groups.models import StudyGroup


class Command(BaseCommand):
    help = "Make the hub's shares of each study group's workspace exactly the group's members."

    def handle(self, *args, **options) -> None:
        if not workspace.enabled():
            raise CommandError("LMS_HUB_API_URL is empty: this LMS has no group workspaces.")
        failed = 0
        for group in StudyGroup.objects.prefetch_related("memberships__user"):
            members = [m.user.username for m in group.memberships.all()]
            try:
                workspace.sync(group, members)
            except workspace.WorkspaceError as error:
                failed += 1
                self.stderr.write(f"Group {group.pk} ({group.name}): {error.message}")
            else:
                self.stdout.write(f"Group {group.pk} ({group.name}): {len(members)} members")
        if failed:
            raise CommandError(f"{failed} group(s) could not be synced; try again.")
