"""The tutor service as this server sees it: one client for its HTTP API (docs/tutor.md).

The browser never talks to the tutor directly: it has no hub token of its own to show, and the
learner's server does (``JUPYTERHUB_API_TOKEN``, set by the hub). The server extension's
handlers and the jupyter-ai persona both go through :class:`TutorService`, so both send the
same token, keep the same timeouts and turn the same failures into the same sentences.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

# The events that end a reply (docs/tutor.md: "the stream always ends with done or error").
TERMINAL_EVENTS = frozenset({"done", "error"})
# The tutor accepts at most 256 KiB per request; larger ones are refused here, before a round trip.
MAX_REQUEST_BYTES = 256 * 1024
# tornado's code for "no HTTP answer at all" (refused, reset, timed out, unresolvable).
NO_ANSWER = 599


class TutorProblem(Exception):
    """A request the tutor could not answer, as the browser gets it: an HTTP status and the
    contract's ``{"error": code, "message": sentence}``, plus ``Retry-After`` when the tutor
    gave one (rate limit, quota)."""

    def __init__(self, status: int, code: str, message: str, retry_after: str | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after

    def as_json(self) -> dict[str, str]:
        return {"error": self.code, "message": self.message}

    def as_event(self) -> dict[str, str]:
        """The same problem as the stream's last event, once a reply has started."""
        return {"type": "error", "message": self.message}


def not_configured() -> TutorProblem:
    return TutorProblem(
        503,
        "tutor_not_configured",
        "The tutor is not set up for this server (PLS_TUTOR_URL is not set). Ask the studio's "
        "admins to enable the tutor service.",
    )


def unreachable(detail: str) -> TutorProblem:
    return TutorProblem(
        502,
        "tutor_unreachable",
        f"The tutor does not answer right now ({detail}). Try again in a minute.",
    )


def cut_off() -> TutorProblem:
    return TutorProblem(
        502, "tutor_stream_cut", "The tutor's reply was cut off before it finished. Try again."
    )


def api_base(url: str) -> str:
    """The tutor's API root from ``PLS_TUTOR_URL``: the hub may give the service's prefix
    (``.../services/tutor/``) or its API (``.../services/tutor/api``); both mean the API."""
    base = url.strip().rstrip("/")
    if not base:
        return ""
    return base if base.endswith("/api") else f"{base}/api"


@dataclass
class SseEvent:
    """One server-sent event as it came (``raw``, relayed byte for byte) and its JSON data
    (``None`` for comments and keep-alives, which carry none)."""

    raw: bytes
    data: dict[str, Any] | None

    @property
    def type(self) -> str | None:
        return self.data.get("type") if self.data else None


@dataclass
class SseSplitter:
    """Cuts a byte stream into whole server-sent events, however the network chunked it: an
    event is relayed only once its blank line has arrived, so the browser never gets half
    of one."""

    pending: bytes = b""
    events: list[SseEvent] = field(default_factory=list)

    def feed(self, chunk: bytes) -> list[SseEvent]:
        self.pending += chunk.replace(b"\r\n", b"\n")
        complete = []
        while b"\n\n" in self.pending:
            block, self.pending = self.pending.split(b"\n\n", 1)
            if block.strip():
                complete.append(SseEvent(block + b"\n\n", parse_data(block)))
        self.events.extend(complete)
        return complete


def parse_data(block: bytes) -> dict[str, Any] | None:
    """The JSON object of an event's ``data:`` lines, or None when it has none or it is not
    JSON (a malformed event is still relayed; the browser ignores what it cannot read)."""
    lines = [line[5:].lstrip() for line in block.split(b"\n") if line.startswith(b"data:")]
    if not lines:
        return None
    try:
        data = json.loads(b"\n".join(lines))
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def problem_from_answer(status: int, body: bytes, retry_after: str | None) -> TutorProblem:
    """The tutor's own error answer (``{"error", "message"}``) with its status; anything else
    it might send (an HTML page from a proxy, say) becomes a plain "bad answer"."""
    try:
        answer = json.loads(body or b"null")
    except ValueError:
        answer = None
    if isinstance(answer, dict) and isinstance(answer.get("message"), str):
        return TutorProblem(status, str(answer.get("error") or "tutor_error"), answer["message"],
                            retry_after)
    if status >= 500:
        return TutorProblem(502, "tutor_failed",
                            f"The tutor failed (HTTP {status}). Try again in a minute.")
    return TutorProblem(status, "tutor_refused", f"The tutor refused the request (HTTP {status}).",
                        retry_after)


@dataclass
class TutorService:
    """The tutor service's API at ``url`` (an API root, see :func:`api_base`), called with
    this server's hub token. ``url`` empty: the tutor is not configured."""

    url: str
    token: str
    connect_timeout: float = 10.0
    request_timeout: float = 300.0

    def _request(self, path: str, method: str = "GET", body: bytes | None = None,
                 **kwargs: Any) -> HTTPRequest:
        if not self.url:
            raise not_configured()
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"token {self.token}"
        if body is not None:
            headers["Content-Type"] = "application/json"
        return HTTPRequest(
            f"{self.url}/{path}", method=method, body=body, headers=headers,
            connect_timeout=self.connect_timeout, request_timeout=self.request_timeout,
            follow_redirects=False, **kwargs,
        )

    async def get_json(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        """GET one of the tutor's JSON resources (``status``, ``history``); its answer, or a
        TutorProblem saying why there is none."""
        query = urlencode({key: value for key, value in params.items() if value})
        request = self._request(f"{path}?{query}" if query else path)
        try:
            response = await AsyncHTTPClient().fetch(request, raise_error=False)
        except OSError as exc:  # refused or unresolvable before tornado could say 599
            raise unreachable(type(exc).__name__) from exc
        if response.code == NO_ANSWER:
            raise unreachable(type(response.error).__name__ if response.error else "no answer")
        if response.code != 200:
            raise problem_from_answer(response.code, response.body,
                                      response.headers.get("Retry-After"))
        try:
            answer = json.loads(response.body)
        except ValueError as exc:
            raise TutorProblem(502, "tutor_bad_answer",
                               "The tutor sent an answer that is not JSON.") from exc
        if not isinstance(answer, dict):
            raise TutorProblem(502, "tutor_bad_answer", "The tutor sent an unexpected answer.")
        return answer

    async def ask(self, body: bytes, on_event: Callable[[SseEvent], None]) -> None:
        """POST ``ask`` and hand each whole event of the reply to ``on_event`` as it arrives.

        Raises TutorProblem before the first event when the tutor cannot be reached or refuses
        (nothing was relayed: the caller answers with JSON), and after it when the stream
        breaks off or ends without ``done`` or ``error`` (the caller ends its own stream with
        an error event)."""
        splitter = SseSplitter()
        answer = _Answer()

        def streaming(chunk: bytes) -> None:
            if answer.status == 200 and answer.is_event_stream:
                for event in splitter.feed(chunk):
                    on_event(event)
            else:
                answer.refusal += chunk

        request = self._request("ask", "POST", body, header_callback=answer.header_line,
                                streaming_callback=streaming)
        try:
            response = await AsyncHTTPClient().fetch(request, raise_error=False)
        except OSError as exc:
            raise unreachable(type(exc).__name__) from exc
        except HTTPClientError as exc:  # pragma: no cover - raise_error=False returns these
            raise unreachable(str(exc)) from exc
        if response.code == NO_ANSWER:
            if splitter.events:
                raise cut_off()
            raise unreachable(type(response.error).__name__ if response.error else "no answer")
        if response.code != 200:
            raise problem_from_answer(response.code, answer.refusal,
                                      response.headers.get("Retry-After"))
        if not answer.is_event_stream:
            raise TutorProblem(502, "tutor_bad_answer",
                               "The tutor answered, but not with a stream of events.")
        if splitter.pending.strip():  # a last event without its blank line
            for event in splitter.feed(b"\n\n"):
                on_event(event)
        if not any(event.type in TERMINAL_EVENTS for event in splitter.events):
            raise cut_off()


@dataclass
class _Answer:
    """What the tutor's answer said before its body: the status and the content type."""

    status: int = 0
    content_type: str = ""
    refusal: bytes = b""

    def header_line(self, line: str) -> None:
        if line.startswith("HTTP/"):
            # A new answer (tornado also reports the headers of a 100 Continue).
            parts = line.split(" ", 2)
            self.status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
            self.content_type = ""
        elif line.lower().startswith("content-type:"):
            self.content_type = line.split(":", 1)[1].strip().lower()

    @property
    def is_event_stream(self) -> bool:
        return self.content_type.startswith("text/event-stream")
