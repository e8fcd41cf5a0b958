"""The relay's handlers: what the tutor panel calls, with the learner's browser session.

``GET status`` and ``GET history`` answer the tutor's JSON as it came; ``POST ask`` answers the
tutor's ``text/event-stream`` event by event, flushing each one as soon as it is whole, so the
learner reads the reply while it is written. Every failure is the contract's JSON
(``{"error", "message"}``) with a fitting status when nothing was streamed yet, and a last
``{"type": "error"}`` event when a reply had started.
"""

from __future__ import annotations

import json
from typing import Any

from jupyter_server.base.handlers import APIHandler
from tornado import web

from .relay import MAX_REQUEST_BYTES, SseEvent, TutorProblem, TutorService

# What the panel may pass on to the tutor's GETs (anything else is dropped, not forwarded).
STATUS_PARAMS = ("course", "assignment", "cell_ids", "grade_ids")
HISTORY_PARAMS = ("course", "before")


class TutorHandler(APIHandler):
    """Shared by the relay's handlers: the tutor client and the contract's error answers."""

    def initialize(self, tutor: TutorService) -> None:
        self.tutor = tutor

    def answer_problem(self, problem: TutorProblem) -> None:
        self.set_status(problem.status)
        if problem.retry_after:
            self.set_header("Retry-After", problem.retry_after)
        self.finish(json.dumps(problem.as_json()))

    def forwarded(self, names: tuple[str, ...]) -> dict[str, str]:
        return {name: self.get_query_argument(name, "") for name in names}

    async def relay_json(self, path: str, names: tuple[str, ...]) -> None:
        try:
            answer = await self.tutor.get_json(path, self.forwarded(names))
        except TutorProblem as problem:
            self.answer_problem(problem)
            return
        self.finish(json.dumps(answer))


class StatusHandler(TutorHandler):
    """``GET /pls-tutor/status?course=&assignment=&cell_ids=&grade_ids=``: policy, quota and
    offline mode for the notebook the learner is in."""

    @web.authenticated
    async def get(self) -> None:
        await self.relay_json("status", STATUS_PARAMS)


class HistoryHandler(TutorHandler):
    """``GET /pls-tutor/history?course=``: the learner's own exchanges, newest first."""

    @web.authenticated
    async def get(self) -> None:
        await self.relay_json("history", HISTORY_PARAMS)


class AskHandler(TutorHandler):
    """``POST /pls-tutor/ask``: the request body goes to the tutor as it is (the tutor checks
    it); its reply comes back as a stream of server-sent events."""

    streaming = False
    browser_gone = False

    def on_connection_close(self) -> None:
        # The learner closed the tab or pressed Stop: nothing more to write. The tutor still
        # finishes (and logs) the exchange; the relay stops at its request timeout at most.
        self.browser_gone = True

    @web.authenticated
    async def post(self) -> None:
        body = self.request.body
        problem = check_request(body)
        if problem:
            self.answer_problem(problem)
            return
        try:
            await self.tutor.ask(body, self.relay_event)
        except TutorProblem as problem:
            if not self.streaming:
                self.answer_problem(problem)
                return
            self.relay_event(SseEvent(event_bytes(problem.as_event()), problem.as_event()))
        if not self.browser_gone:
            self.finish()

    def relay_event(self, event: SseEvent) -> None:
        if self.browser_gone:
            return
        if not self.streaming:
            self.streaming = True
            self.set_header("Content-Type", "text/event-stream; charset=utf-8")
            self.set_header("Cache-Control", "no-cache, no-transform")
            self.set_header("X-Accel-Buffering", "no")  # proxies must not hold the stream back
        self.write(event.raw)
        flushed = self.flush()
        # A tab closed mid-reply fails the flush; that is on_connection_close's business.
        flushed.add_done_callback(lambda future: future.exception())


def check_request(body: bytes) -> TutorProblem | None:
    """Refuse here what the tutor would refuse anyway: too large, or not a JSON object."""
    if len(body) > MAX_REQUEST_BYTES:
        return TutorProblem(413, "request_too_large",
                            "This request is too large for the tutor (at most 256 KiB).")
    try:
        request: Any = json.loads(body or b"null")
    except ValueError:
        request = None
    if not isinstance(request, dict):
        return TutorProblem(400, "bad_request", "The request to the tutor must be a JSON object.")
    return None


def event_bytes(data: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(data)}\n\n".encode()
