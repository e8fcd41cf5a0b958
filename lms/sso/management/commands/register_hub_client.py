"""``manage.py register_hub_client``: register (or update) JupyterHub as the LMS's OIDC client.

Run at every deploy: it is idempotent. The values come from the environment when it runs
(``lms.settings.environment.HubClientEnvironment``), the same ones the hub is configured with, so
the two cannot drift apart:

- ``HUB_OAUTH_CLIENT_ID`` and ``HUB_OAUTH_CLIENT_SECRET`` (or ``*_FILE``, for Docker secrets);
- ``HUB_OAUTH_CALLBACK_URL``: the hub's ``/hub/oauth_callback`` URL (several, space-separated,
  if the hub is reached under more than one name). Default ``http://localhost:8001/hub/oauth_callback``.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from lms.settings.environment import HubClientEnvironment
from lms.sso.services import register_confidential_client


class Command(BaseCommand):
    help = "Register or update JupyterHub as a confidential OIDC client (from HUB_OAUTH_* env)."

    def add_arguments(self, parser):
        parser.add_argument("--name", default="JupyterHub", help="Name shown in the admin.")

    def handle(self, *args, name: str, **options):
        hub = HubClientEnvironment.from_env()
        client_id, client_secret = hub.client_id, hub.client_secret
        missing = [
            var
            for var, value in [
                ("HUB_OAUTH_CLIENT_ID", client_id),
                ("HUB_OAUTH_CLIENT_SECRET", client_secret),
            ]
            if not value
        ]
        if missing:
            raise CommandError(
                " and ".join(f"{var} (or {var}_FILE)" for var in missing)
                + " must be set: the hub's OAuth client credentials, shared with the hub."
            )
        redirect_uris = hub.callback_url.split()
        try:
            app, created = register_confidential_client(
                client_id, client_secret, redirect_uris, name
            )
        except ValidationError as exc:
            raise CommandError(
                f"Cannot register the hub client: {'; '.join(exc.messages)}"
            ) from exc
        verb = "Registered" if created else "Updated"
        self.stdout.write(
            self.style.SUCCESS(f"{verb} OIDC client {app.client_id!r} → {app.redirect_uris}")
        )
