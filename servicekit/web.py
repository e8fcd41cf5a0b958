"""The tornado side of a hub service: who is calling, JSON answers and errors, start and stop.

A service's handlers derive from :class:`ServiceHandler`, which identifies the caller before
any handler runs (``prepare``): JupyterHub's ``HubOAuth`` (``servicekit.hub_auth``) asks the hub
who the token or cookie belongs to; no one is 401 (a browser's ``GET`` is sent to the hub's
login instead), a hub user the hub has not granted access to the service is 403, anyone else
becomes ``self.current_user``, a :class:`~servicekit.hub_auth.Caller`. A trusted hub service (the
LMS) acting for an instructor names them in ``X-Studio-User``; the request is logged with it.

Every error is JSON ``{"error": code, "message": sentence}``: a
:class:`~servicekit.errors.ServiceError` with its own status, code, sentence and headers,
tornado's own errors with their status's phrase, anything else 500 ``internal`` (the traceback
goes to the log, never to the caller).

:func:`service_application` adds what every service answers besides its API (the OAuth
callback, ``api/health`` and the service's root for the hub's start-up check, ``metrics`` for
Prometheus, JSON 404 for any other path) and :func:`serve_until_signalled` runs it until
SIGTERM or SIGINT. ``metrics`` is read with the studio's metrics token, not a hub sign-in
(Prometheus is no hub user): the rule is ``servicekit.metrics``'s.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import signal
from collections.abc import Callable, Sequence
from http import HTTPStatus
from typing import Any, TypeVar
from urllib.parse import urlparse

from jupyterhub.services.auth import (
    HubOAuth,
    HubOAuthCallbackHandler,
    HubOAuthenticated,
    UserNotAllowed,
)
from tornado.httpserver import HTTPServer
from tornado.web import Application, HTTPError, RequestHandler

from servicekit import metrics
from servicekit.errors import ServiceError, invalid, not_found
from servicekit.hub_auth import Caller

log = logging.getLogger(__name__)

T = TypeVar("T")


class JSONErrorsHandler(RequestHandler):
    """A service's handler whose errors are JSON ``{"error": code, "message": sentence}``
    (``service_title`` in the application's settings names the service in sentences)."""

    @property
    def service_title(self) -> str:
        return self.settings.get("service_title", "service")

    def send_error(self, status_code: int = 500, **kwargs: Any) -> None:
        error = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(error, ServiceError):
            status_code = error.status
        super().send_error(status_code, **kwargs)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        error = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(error, ServiceError):
            code, message = error.code, error.message
            for name, value in error.headers.items():
                self.set_header(name, value)
        elif isinstance(error, HTTPError):
            code = HTTPStatus(status_code).phrase.lower().replace(" ", "-")
            message = error.log_message or HTTPStatus(status_code).description
        else:
            code = "internal"
            message = f"The {self.service_title} failed to answer; the error is in its log."
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish(json.dumps({"error": code, "message": message}))

    def log_exception(self, typ, value, tb) -> None:
        if isinstance(value, ServiceError):  # a refusal, not a failure: one line, no traceback
            log.info("%s %s: %s %s", self.request.method, self.request.path, value.status,
                     value.message)
            return
        super().log_exception(typ, value, tb)


class ServiceHandler(HubOAuthenticated, JSONErrorsHandler):
    """Every API handler of a hub service: the caller must be one the hub vouches for.

    The application's settings (:func:`service_application`) give ``hub_auth`` and
    ``trusted_services``."""

    current_user: Caller

    def initialize(self) -> None:
        self.hub_auth = self.settings["hub_auth"]

    async def prepare(self) -> None:
        model = await self.hub_auth.get_user(self, sync=False)
        if model is None:
            browser = "Authorization" not in self.request.headers
            if browser and self.request.method in {"GET", "HEAD"}:
                self.redirect(self.get_login_url())  # a browser: sign in through the hub
                return
            raise ServiceError(401, "unauthenticated", "Sign in to the hub: send "
                               "'Authorization: token <hub API token>' or use the hub's login.")
        try:
            model = self.check_hub_user(model)
        except UserNotAllowed:
            raise ServiceError(403, "forbidden", f"{model.get('name')} may not use the "
                               f"{self.service_title} (the hub has not granted access to it).",
                               ) from None
        trusted = self.settings.get("trusted_services", frozenset())
        self.current_user = Caller.from_hub_model(model, trusted)
        acting_for = self.request.headers.get("X-Studio-User", "")
        if self.current_user.trusted and acting_for:
            log.info("%s %s by %s for %s", self.request.method, self.request.path,
                     self.current_user.name, acting_for[:64])

    async def run(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run blocking work (database, files) off the event loop."""
        call = functools.partial(function, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(None, call)

    # -- requests and answers ----------------------------------------------------------------

    def json_body(self) -> Any:
        """The request's JSON; an empty body is None, anything else but JSON is 400."""
        if not self.request.body.strip():
            return None
        try:
            return json.loads(self.request.body)
        except ValueError:
            raise invalid("The body is not JSON.") from None

    def json_object(self) -> dict[str, Any]:
        """The request's JSON object; an empty body is ``{}``."""
        body = self.json_body()
        if body is None:
            return {}
        if not isinstance(body, dict):
            raise invalid("The body must be a JSON object.")
        return body

    def send_json(self, body: Any, status: int = 200) -> None:
        """``body`` as JSON; an answer about the caller's own data, so no cache keeps it."""
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(body))


class OAuthCallbackHandler(HubOAuthCallbackHandler):
    """Where the hub sends a browser back after sign-in (sets the service's OAuth cookie)."""

    def initialize(self) -> None:
        self.hub_auth = self.settings["hub_auth"]


class HealthHandler(RequestHandler):
    """``GET api/health``: the service answers (no sign-in; for supervisors and tests). The
    service's root answers the same: the hub checks it when it starts."""

    def get(self) -> None:
        self.finish({"status": "ok"})


class MetricsHandler(JSONErrorsHandler):
    """``GET metrics``: the service's metrics for Prometheus, with the studio's metrics token
    (``servicekit.metrics.refusal``); what ``metrics_collectors`` measure is read off the event
    loop (the grader's queue is a database query)."""

    async def get(self) -> None:
        refused = metrics.refusal(self.request.headers.get("Authorization"),
                                  self.settings.get("metrics_token", ""))
        if refused is not None:
            raise ServiceError(refused.status, refused.code, refused.message, refused.headers)
        body, content_type = await asyncio.get_running_loop().run_in_executor(
            None, metrics.exposition, *self.settings.get("metrics_collectors", ())
        )
        self.set_header("Content-Type", content_type)
        self.set_header("Cache-Control", "no-store")
        self.finish(body)


class NotFoundHandler(ServiceHandler):
    """Any other path: JSON 404."""

    async def prepare(self) -> None:
        raise not_found(f"No such {self.service_title} API path: {self.request.path}")


def service_application(
    auth: HubOAuth,
    routes: Sequence[tuple[Any, ...]],
    *,
    title: str,
    trusted_services: frozenset[str],
    cookie_secret: bytes,
    metrics_token: str = "",
    metrics_collectors: Sequence[Any] = (),
    **settings: Any,
) -> Application:
    """A hub service's tornado application: ``routes`` (under ``auth.base_url``, the service's
    ``JUPYTERHUB_SERVICE_PREFIX``), the OAuth callback, ``api/health`` and the root,
    ``metrics`` (read with ``metrics_token``, ``STUDIO_METRICS_TOKEN``; with what
    ``metrics_collectors`` measure when scraped), and JSON 404 for the rest. ``title`` names
    the service in sentences ("the grader"); ``trusted_services`` act for the instructors of
    every course; ``settings`` are the service's own (handlers read them as
    ``self.settings[name]``)."""
    prefix = auth.base_url
    return Application(
        [
            (f"{prefix}oauth_callback", OAuthCallbackHandler),
            (f"{prefix}api/health", HealthHandler),
            (f"{prefix}metrics", MetricsHandler),
            (prefix, HealthHandler),
            *routes,
        ],
        default_handler_class=NotFoundHandler,
        hub_auth=auth,
        login_url=auth.login_url,
        cookie_secret=cookie_secret,
        service_title=title,
        trusted_services=trusted_services,
        metrics_token=metrics_token,
        metrics_collectors=tuple(metrics_collectors),
        **settings,
    )


async def serve_until_signalled(app: Application, bind_url: str, max_body_size: int) -> None:
    """Serve ``app`` on ``bind_url`` (``http://host:port``) until SIGTERM or SIGINT, then stop
    listening. A body larger than ``max_body_size`` is refused (400) before any handler reads
    it."""
    url = urlparse(bind_url)
    server = HTTPServer(app, xheaders=True, max_body_size=max_body_size)
    server.listen(url.port or 80, url.hostname or "127.0.0.1")
    log.info("%s API on %s (prefix %s)", app.settings.get("service_title", "service"), bind_url,
             app.settings["hub_auth"].base_url)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGTERM, signal.SIGINT)
    for signum in signals:
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        server.stop()
        for signum in signals:
            loop.remove_signal_handler(signum)
