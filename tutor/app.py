"""The tutor's HTTP API: a tornado application run as the JupyterHub service ``tutor``.

Handlers stay thin: :class:`TutorHandler` identifies the caller (``tutor.auth``); the
decisions are :class:`tutor.tutoring.Tutor`'s. Errors are JSON ``{"error", "message"}``
with the fitting status; ``POST ask`` answers with server-sent events (one JSON object per
``data:`` line) once the request is accepted, and every stream ends with ``done`` or ``error``.
The paths and payloads are docs/tutor.md's.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
from collections.abc import AsyncIterator
from http import HTTPStatus
from typing import Any
from urllib.parse import urlparse

from jupyterhub.services.auth import (
    HubOAuth,
    HubOAuthCallbackHandler,
    HubOAuthenticated,
    UserNotAllowed,
)
from tornado.httpserver import HTTPServer
from tornado.iostream import StreamClosedError
from tornado.web import Application, HTTPError, RequestHandler

from courses.naming import COURSE_SLUG_REGEX, is_assignment_name, is_course_slug
from tutor.ask import MAX_BODY_BYTES, BadRequest, parse
from tutor.auth import Caller, hub_auth
from tutor.limits import LimitExceeded
from tutor.settings import Settings
from tutor.store import HISTORY_LIMIT, ExchangeLog, exchange_json
from tutor.tutoring import Tutor, TutorRefused

log = logging.getLogger(__name__)

COURSE = rf"(?P<course>{COURSE_SLUG_REGEX})"
READ_BODY_BYTES = 4 * 1024 * 1024  # bodies up to this size are read, to answer 413 politely


class ServiceError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class TutorHandler(HubOAuthenticated, RequestHandler):
    """Every API handler: the caller must be a hub user (or service) the hub vouches for."""

    current_user: Caller

    def initialize(self) -> None:
        self.hub_auth = self.settings["hub_auth"]

    @property
    def tutor(self) -> Tutor:
        return self.settings["tutor"]

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
            raise ServiceError(403, "forbidden", f"{model.get('name')} may not use the tutor "
                               "(the hub has not granted access to it).") from None
        trusted = self.settings["trusted_services"]
        self.current_user = Caller.from_hub_model(model, trusted)

    # -- arguments and answers ------------------------------------------------------------------

    def course_argument(self) -> str:
        course = self.get_query_argument("course", "")
        if not is_course_slug(course):
            raise ServiceError(400, "invalid", "'course' must be a course slug, e.g. python-101.")
        return course

    def send_json(self, body: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(body))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        error = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(error, ServiceError | TutorRefused | LimitExceeded):
            code, message = error.code, error.message
        elif isinstance(error, BadRequest):
            code, message = "invalid", error.message
        elif isinstance(error, HTTPError):
            code = HTTPStatus(status_code).phrase.lower().replace(" ", "-")
            message = error.log_message or HTTPStatus(status_code).description
        else:
            code, message = "internal", "The tutor failed to answer; the error is in its log."
        if isinstance(error, LimitExceeded):
            self.set_header("Retry-After", str(error.retry_after))
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish(json.dumps({"error": code, "message": message}))

    def send_error(self, status_code: int = 500, **kwargs: Any) -> None:
        error = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(error, ServiceError | TutorRefused):
            status_code = error.status
        elif isinstance(error, LimitExceeded):
            status_code = 429
        elif isinstance(error, BadRequest):
            status_code = 400
        super().send_error(status_code, **kwargs)

    def log_exception(self, typ, value, tb) -> None:
        if isinstance(value, ServiceError | TutorRefused | LimitExceeded | BadRequest):
            log.info("%s %s: %s", self.request.method, self.request.path, value)
            return
        super().log_exception(typ, value, tb)


class StatusHandler(TutorHandler):
    """``GET api/status?course=&assignment=``: what the panel shows before asking."""

    async def get(self) -> None:
        course = self.course_argument()
        assignment = self.get_query_argument("assignment", "") or None
        if assignment is not None and not is_assignment_name(assignment):
            raise ServiceError(400, "invalid", "'assignment' must be an assignment's name.")
        self.send_json(await self.tutor.status(self.current_user, course, assignment))


class AskHandler(TutorHandler):
    """``POST api/ask``: checked before the stream starts (JSON errors), then events. When the
    learner goes away the stream is cancelled at once: the model is not asked for the rest."""

    left = False
    streaming: asyncio.Task | None = None

    async def post(self) -> None:
        if len(self.request.body) > MAX_BODY_BYTES:
            raise ServiceError(413, "too-large", f"The request is larger than {MAX_BODY_BYTES} "
                               "bytes; the tutor trims long cells itself, send less output.")
        try:
            body = json.loads(self.request.body or b"null")
        except ValueError:
            raise ServiceError(400, "invalid", "The body is not JSON.") from None
        request = parse(body)
        prepared = await self.tutor.prepare(self.current_user, request)
        self.set_header("Content-Type", "text/event-stream; charset=UTF-8")
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Accel-Buffering", "no")  # proxies must pass events on at once
        events = self.tutor.reply(prepared)
        self.streaming = asyncio.ensure_future(self.send_events(events))
        try:
            await self.streaming
        except (asyncio.CancelledError, StreamClosedError):
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise  # the server is stopping, not just this learner leaving
            self.left = True
        except Exception:
            log.exception("the stream to %s failed", self.current_user.name)
            self.write("data: " + json.dumps({"type": "error", "message": "The tutor failed to "
                       "answer; the error is in its log."}) + "\n\n")
        finally:
            await events.aclose()
        if not self.left:
            self.finish()

    async def send_events(self, events: AsyncIterator[dict[str, Any]]) -> None:
        async for event in events:
            self.write(f"data: {json.dumps(event, ensure_ascii=False)}\n\n")
            await self.flush()

    def on_connection_close(self) -> None:
        self.left = True
        if self.streaming is not None and not self.streaming.done():
            self.streaming.cancel()  # the learner went away: stop asking the model


class HistoryHandler(TutorHandler):
    """``GET api/history?course=``: the caller's own exchanges; instructors may add
    ``learner=<name>`` or ``all=1``; ``before=<id>`` pages back."""

    async def get(self) -> None:
        course = self.course_argument()
        caller = self.current_user
        self.tutor.require_member(caller, course)
        learner: str | None = self.get_query_argument("learner", "") or None
        everyone = self.get_query_argument("all", "") in {"1", "true", "yes"}
        if (learner not in (None, caller.name) or everyone) and not caller.teaches(course):
            raise ServiceError(403, "forbidden", "Learners read only their own exchanges.")
        if everyone:
            learner = None
        elif learner is None:
            learner = caller.name
        before_text = self.get_query_argument("before", "")
        if before_text and not before_text.isdigit():
            raise ServiceError(400, "invalid", "'before' must be an exchange id.")
        before = int(before_text) if before_text else None
        rows = await self.tutor.run(self.tutor.exchanges.history, course, learner, before,
                                    HISTORY_LIMIT)
        self.send_json({"exchanges": [exchange_json(row) for row in rows]})


class SummaryHandler(TutorHandler):
    """``GET api/courses/{course}/summary``: the course's instructors (and trusted services)."""

    async def get(self, course: str) -> None:
        if not self.current_user.teaches(course):
            raise ServiceError(403, "forbidden", f"Only instructors of {course} read its summary.")
        summary = await self.tutor.run(self.tutor.exchanges.summary, course)
        self.send_json(summary.as_json())


class OAuthCallbackHandler(HubOAuthCallbackHandler):
    def initialize(self) -> None:
        self.hub_auth = self.settings["hub_auth"]


class HealthHandler(RequestHandler):
    """``GET api/health`` (and the service's root, which the hub checks when it starts): the
    service answers; no sign-in."""

    def get(self) -> None:
        self.finish({"status": "ok"})


class NotFoundHandler(TutorHandler):
    async def prepare(self) -> None:
        raise ServiceError(404, "not-found", f"No such tutor API path: {self.request.path}")


def make_app(settings: Settings, tutor: Tutor, auth: HubOAuth | None = None) -> Application:
    auth = auth or hub_auth(settings.service_name)
    prefix = auth.base_url  # JUPYTERHUB_SERVICE_PREFIX, e.g. /services/tutor/
    api = f"{prefix}api"
    return Application(
        [
            (f"{prefix}oauth_callback", OAuthCallbackHandler),
            (f"{api}/health", HealthHandler),
            (prefix, HealthHandler),
            (f"{api}/status", StatusHandler),
            (f"{api}/ask", AskHandler),
            (f"{api}/history", HistoryHandler),
            (f"{api}/courses/{COURSE}/summary", SummaryHandler),
        ],
        default_handler_class=NotFoundHandler,
        hub_auth=auth,
        tutor=tutor,
        trusted_services=settings.trusted_services,
        cookie_secret=settings.cookie_secret(),
        login_url=auth.login_url,
    )


def serve(settings: Settings) -> None:
    """``python -m tutor serve``: the API on ``TUTOR_BIND_URL`` until SIGTERM or SIGINT."""
    exchanges = ExchangeLog(settings.db_url)
    url = urlparse(settings.bind_url)

    async def main() -> None:
        tutor = Tutor.from_settings(settings, exchanges)
        app = make_app(settings, tutor)
        server = HTTPServer(app, xheaders=True, max_body_size=READ_BODY_BYTES)
        server.listen(url.port or 80, url.hostname or "127.0.0.1")
        log.info("tutor API on %s (prefix %s), %s", settings.bind_url,
                 app.settings["hub_auth"].base_url,
                 "OFFLINE (no OPENAI_API_KEY)" if tutor.offline
                 else f"model {settings.model} at {settings.base_url or 'OpenAI'}")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()
        server.stop()
        await tutor.close()

    try:
        asyncio.run(main())
    finally:
        exchanges.dispose()
