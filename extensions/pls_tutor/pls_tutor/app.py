"""The server extension: ``/pls-tutor/{status,history,ask}`` in the learner's own server.

The hub sets ``PLS_TUTOR_URL`` (the tutor service) and ``JUPYTERHUB_API_TOKEN`` (this server's
token, scoped to its user) in every learner's server; both are read here and nowhere in the
browser. Nothing here runs in the background: each relay is one request the learner made, so an
idle server stays idle and the hub's culler can stop it.
"""

from __future__ import annotations

import os

from jupyter_server.extension.application import ExtensionApp
from traitlets import Float, Unicode, default

from .handlers import AskHandler, HistoryHandler, StatusHandler
from .relay import TutorService, api_base


class TutorExtension(ExtensionApp):
    """Relays the tutor panel's requests to the studio's tutor service."""

    name = "pls_tutor"

    tutor_url = Unicode(
        help="""The tutor service: its prefix (``http://hub:8081/services/tutor/``) or its API
        (``.../services/tutor/api``). Defaults to ``PLS_TUTOR_URL``, which the hub sets in each
        learner's server; empty means no tutor, and the panel says so.""",
    ).tag(config=True)

    @default("tutor_url")
    def _tutor_url_from_hub(self) -> str:
        return os.environ.get("PLS_TUTOR_URL", "")

    hub_token = Unicode(
        help="""The token shown to the tutor, which identifies the learner. Defaults to this
        server's own ``JUPYTERHUB_API_TOKEN``: the tutor accepts hub tokens only, and the
        learner's server already holds one, so no other secret is needed in the container.""",
    ).tag(config=True)

    @default("hub_token")
    def _hub_token_from_hub(self) -> str:
        return os.environ.get("JUPYTERHUB_API_TOKEN", "")

    connect_timeout = Float(
        10.0, help="Seconds to wait for the tutor to accept a connection before saying it is down."
    ).tag(config=True)

    request_timeout = Float(
        300.0,
        help="""Seconds one request to the tutor may take, a whole streamed reply included; the
        tutor bounds its own upstream calls, this only stops a relay that would hang forever.""",
    ).tag(config=True)

    def tutor(self) -> TutorService:
        return TutorService(api_base(self.tutor_url), self.hub_token,
                            self.connect_timeout, self.request_timeout)

    def initialize_handlers(self) -> None:
        tutor = {"tutor": self.tutor()}
        self.handlers.extend([
            (r"/pls-tutor/status", StatusHandler, tutor),
            (r"/pls-tutor/history", HistoryHandler, tutor),
            (r"/pls-tutor/ask", AskHandler, tutor),
        ])
        self.log.info("pls_tutor: relaying to %s", api_base(self.tutor_url) or "(no tutor: "
                      "PLS_TUTOR_URL is not set)")
