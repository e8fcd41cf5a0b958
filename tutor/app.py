"""The tutor's HTTP API: a tornado application run as the JupyterHub service ``tutor``.

Handlers stay thin: :class:`TutorHandler` (a ``servicekit.web.ServiceHandler``) identifies the
caller; the decisions are :class:`tutor.tutoring.Tutor`'s. Errors are JSON ``{"error", "message"}``
with the fitting status; ``POST ask`` answers with server-sent events (one JSON object per
``data:`` line) once the request is accepted, and every stream ends with ``done`` or ``error``.
The paths and payloads are docs/tutor.md's; ``metrics`` is for Prometheus (``tutor.metrics``),
read with ``STUDIO_METRICS_TOKEN``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from jupyterhub.services.auth import HubOAuth
from tornado.iostream import StreamClosedError
from tornado.web import Application

from courses.naming import COURSE_SLUG_REGEX, is_assignment_name, is_course_slug
from servicekit.errors import ServiceError, forbidden, invalid
from servicekit.hub_auth import hub_auth
from servicekit.web import ServiceHandler, serve_until_signalled, service_application
from tutor.ask import MAX_BODY_BYTES, ids, parse
from tutor.placement import Shown
from tutor.settings import Settings
from tutor.store import HISTORY_LIMIT, ExchangeLog, exchange_json
from tutor.tutoring import Tutor

log = logging.getLogger(__name__)

COURSE = rf"(?P<course>{COURSE_SLUG_REGEX})"
READ_BODY_BYTES = 4 * 1024 * 1024  # bodies up to this size are read, to answer 413 politely


class TutorHandler(ServiceHandler):
    """Every API handler: the caller must be a hub user (or service) the hub vouches for."""

    @property
    def tutor(self) -> Tutor:
        return self.settings["tutor"]

    def course_argument(self) -> str:
        course = self.get_query_argument("course", "")
        if not is_course_slug(course):
            raise invalid("'course' must be a course slug, e.g. python-101.")
        return course


class StatusHandler(TutorHandler):
    """``GET api/status?course=&assignment=&cell_ids=&grade_ids=``: what the panel shows
    before asking (the ids comma-separated: the notebook the learner is in)."""

    async def get(self) -> None:
        course = self.course_argument()
        assignment = self.get_query_argument("assignment", "") or None
        if assignment is not None and not is_assignment_name(assignment):
            raise invalid("'assignment' must be an assignment's name.")
        shown = Shown(frozenset(self.ids_argument("cell_ids")),
                      frozenset(self.ids_argument("grade_ids")))
        self.send_json(await self.tutor.status(self.current_user, course, assignment, shown))

    def ids_argument(self, name: str) -> tuple[str, ...]:
        listed = self.get_query_argument(name, "")
        return ids(listed.split(",") if listed else None, name)


class AskHandler(TutorHandler):
    """``POST api/ask``: checked before the stream starts (JSON errors), then events. When the
    learner goes away the stream is cancelled at once: the model is not asked for the rest."""

    left = False
    streaming: asyncio.Task | None = None

    async def post(self) -> None:
        if len(self.request.body) > MAX_BODY_BYTES:
            raise ServiceError(413, "too-large", f"The request is larger than {MAX_BODY_BYTES} "
                               "bytes; the tutor trims long cells itself, send less output.")
        request = parse(self.json_body())
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
            raise forbidden("Learners read only their own exchanges.")
        if everyone:
            learner = None
        elif learner is None:
            learner = caller.name
        before_text = self.get_query_argument("before", "")
        if before_text and not before_text.isdigit():
            raise invalid("'before' must be an exchange id.")
        before = int(before_text) if before_text else None
        rows = await self.tutor.run(self.tutor.exchanges.history, course, learner, before,
                                    HISTORY_LIMIT)
        self.send_json({"exchanges": [exchange_json(row) for row in rows]})


class SummaryHandler(TutorHandler):
    """``GET api/courses/{course}/summary``: the course's instructors (and trusted services)."""

    async def get(self, course: str) -> None:
        if not self.current_user.teaches(course):
            raise forbidden(f"Only instructors of {course} read its summary.")
        summary = await self.tutor.run(self.tutor.exchanges.summary, course)
        self.send_json(summary.as_json())


def make_app(settings: Settings, tutor: Tutor, auth: HubOAuth | None = None) -> Application:
    auth = auth or hub_auth(settings.service_name)
    api = f"{auth.base_url}api"  # JUPYTERHUB_SERVICE_PREFIX, e.g. /services/tutor/
    return service_application(
        auth,
        [
            (f"{api}/status", StatusHandler),
            (f"{api}/ask", AskHandler),
            (f"{api}/history", HistoryHandler),
            (f"{api}/courses/{COURSE}/summary", SummaryHandler),
        ],
        title="tutor",
        trusted_services=settings.trusted_services,
        cookie_secret=settings.cookie_secret(),
        metrics_token=settings.metrics_token,
        tutor=tutor,
    )


def serve(settings: Settings) -> None:
    """``python -m tutor serve``: the API on ``TUTOR_BIND_URL`` until SIGTERM or SIGINT."""
    exchanges = ExchangeLog(settings.db_url)

    async def main() -> None:
        tutor = Tutor.from_settings(settings, exchanges)
        app = make_app(settings, tutor)
        log.info("tutor: %s", "OFFLINE (no OPENAI_API_KEY)" if tutor.offline
                 else f"model {settings.model} at {settings.base_url or 'OpenAI'}")
        try:
            await serve_until_signalled(app, settings.bind_url, max_body_size=READ_BODY_BYTES)
        finally:
            await tutor.close()

    try:
        asyncio.run(main())
    finally:
        exchanges.dispose()
