"""The server extension: follows this server's submissions, ``/pls-grading-status/submissions``.

The hub sets ``PLS_GRADER_URL`` (the grader's API, the one nbgrader's exchange uses) and
``JUPYTERHUB_API_TOKEN`` (this server's token, scoped to its user) in every learner's server;
both are read here and nowhere in the browser. The submitted event's schema is registered when
the extension loads, before JupyterLab opens its event socket, so the socket carries it.
Nothing runs in the background: the grader is asked only when the page asks.
"""

from __future__ import annotations

import os

from jupyter_server.extension.application import ExtensionApp
from traitlets import Float, Unicode, default

from .followed import SUBMITTED_EVENT, SUBMITTED_SCHEMA, Followed
from .grader import GraderService
from .handlers import SubmissionsHandler


class GradingStatusExtension(ExtensionApp):
    """Follows the learner's submissions to the grader for the notification in JupyterLab."""

    name = "pls_grading_status"

    grader_url = Unicode(
        help="""The grader's API (``http://172.17.0.1:10101/services/grader/api``). Defaults to
        ``PLS_GRADER_URL``, which the hub sets in each learner's server; empty means no grader,
        and the notification says so.""",
    ).tag(config=True)

    @default("grader_url")
    def _grader_url_from_hub(self) -> str:
        return os.environ.get("PLS_GRADER_URL", "")

    hub_token = Unicode(
        help="""The token shown to the grader, which identifies the learner. Defaults to this
        server's own ``JUPYTERHUB_API_TOKEN``, which nbgrader's exchange also submits with.""",
    ).tag(config=True)

    @default("hub_token")
    def _hub_token_from_hub(self) -> str:
        return os.environ.get("JUPYTERHUB_API_TOKEN", "")

    connect_timeout = Float(
        5.0, help="Seconds to wait for the grader to accept a connection."
    ).tag(config=True)

    request_timeout = Float(
        10.0, help="Seconds one status request to the grader may take."
    ).tag(config=True)

    def initialize_settings(self) -> None:
        self.followed = Followed()
        events = self.serverapp.event_logger
        events.register_event_schema(SUBMITTED_SCHEMA)
        events.add_listener(schema_id=SUBMITTED_EVENT, listener=self.followed.listener)

    def initialize_handlers(self) -> None:
        grader = GraderService(self.grader_url, self.hub_token, self.connect_timeout,
                               self.request_timeout)
        self.handlers.append((
            r"/pls-grading-status/submissions", SubmissionsHandler,
            {"followed": self.followed, "grader": grader},
        ))
        self.log.info("pls_grading_status: asking %s", self.grader_url or "(no grader: "
                      "PLS_GRADER_URL is not set)")
