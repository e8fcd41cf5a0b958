"""The tutor's decisions, in one place: who may ask what, under which policy, and the reply.

:meth:`Tutor.prepare` checks a request before anything streams (membership, the assignment and
its policy, the answer cell, the limits, the trimming) and raises
``servicekit.errors.ServiceError`` (``LimitExceeded`` is one) with the status and a message.
:meth:`Tutor.reply` then yields the events of docs/tutor.md: notices, deltas that passed the
leak guard, and ``done`` or ``error``; every exchange is written to the log before ``done``.

Blocking work (the database) runs off the event loop. What it decides and how its replies end is
counted for Prometheus as it happens (``tutor.metrics``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from servicekit.errors import ServiceError, forbidden, not_found
from servicekit.hub_auth import Caller
from tutor import metrics, offline, prompts
from tutor.ask import AskRequest, trim
from tutor.course_data import AnswerCell, CourseData, CourseLibrary
from tutor.guard import SolutionIndex
from tutor.limits import LimitExceeded, Limits, Usage
from tutor.model import Model, ModelFailed
from tutor.policy import AssignmentPolicy, PolicySource
from tutor.settings import Settings
from tutor.store import ExchangeLog

log = logging.getLogger(__name__)

T = TypeVar("T")
Event = dict[str, Any]

OFFLINE_NOTICE = ("Offline mode: no AI model is configured, so this is the studio's built-in "
                  "help (explanations of common Python errors and your instructors' hints).")
HINTS_ONLY_NOTICE = "For this assignment the tutor gives hints only, without code."
REFUSAL_NOTICE = (
    "The tutor stopped this reply: it was about to show the solution of a graded exercise "
    "(“{cell}” in {assignment}), which it never gives. Ask for a hint, or about the idea "
    "behind the exercise, instead."
)
FAILED_MESSAGE = "The tutor failed to answer; the error is in its log. Try again in a moment."


@dataclass(frozen=True)
class Decision:
    """What applies to a request in ``course`` (and perhaps one assignment)."""

    policy: str
    assignment: AssignmentPolicy | None
    message: str


@dataclass(frozen=True)
class Prepared:
    caller: Caller
    request: AskRequest
    decision: Decision
    solutions: SolutionIndex
    cell: AnswerCell | None
    notices: tuple[str, ...]
    received: float = 0.0
    """When the request came in (``time.monotonic()``): the first token's wait starts there."""


def _title(decision_assignment: AssignmentPolicy | None, name: str | None) -> str:
    if decision_assignment:
        return f"“{decision_assignment.title}”"
    return f"“{name}”" if name else "this course"


def policy_message(policy: str, title: str, offline_mode: bool) -> str:
    if policy == "off":
        return (f"The tutor is off for {title}: your instructors switched it off (for example "
                "during an exam). Their hints on the assignment page are still there.")
    if offline_mode:
        return ("Offline mode: the tutor explains common Python errors and gives your "
                "instructors' hints; it cannot answer free questions.")
    if policy == "hints-only":
        return f"For {title} the tutor gives hints only: explanations and hints, no code."
    return (f"The tutor can explain errors, give hints and answer questions about {title}; it "
            "never gives the solution of a graded exercise.")


class Tutor:
    def __init__(
        self,
        settings: Settings,
        exchanges: ExchangeLog,
        courses: CourseLibrary,
        policies: PolicySource,
        limits: Limits,
        model: Model | None,
    ) -> None:
        self.settings = settings
        self.exchanges = exchanges
        self.courses = courses
        self.policies = policies
        self.limits = limits
        self.model = model

    @classmethod
    def from_settings(cls, settings: Settings, exchanges: ExchangeLog) -> Tutor:
        model = None
        if not settings.offline:
            model = Model(
                settings.api_key, settings.model, settings.base_url,
                stall_seconds=settings.timeout_seconds, max_seconds=settings.max_reply_seconds,
                max_output_tokens=settings.max_output_tokens, retries=settings.upstream_retries,
            )
        return cls(
            settings,
            exchanges,
            CourseLibrary(settings.courses_dir),
            PolicySource(settings.lms_url, settings.lms_token, settings.policy_seconds,
                         settings.lms_timeout_seconds),
            Limits(settings.rate_per_minute, settings.daily_quota, exchanges.count_since),
            model,
        )

    @property
    def offline(self) -> bool:
        return self.model is None

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        """Blocking work (the database) off the event loop."""
        return await asyncio.get_running_loop().run_in_executor(
            None, functools.partial(function, *args)
        )

    # -- decisions ---------------------------------------------------------------------------

    def require_member(self, caller: Caller, course: str) -> None:
        if not caller.belongs_to(course):
            raise forbidden(f"{caller.name} is not in the course {course}.")

    async def decide(self, caller: Caller, course: str, assignment: str | None) -> Decision:
        """The policy of ``assignment`` (or of the course outside assignments); 404 for an
        assignment the caller may not know of."""
        data = self.courses.get(course)
        if assignment is None:
            policy = self.settings.default_policy
            return Decision(policy, None, policy_message(policy, "this course", self.offline))
        found = (await self.policies.assignments(course, data)).get(assignment)
        if found is None or (not found.released and not caller.teaches(course)):
            raise not_found(f"There is no assignment {assignment!r} in {course}.")
        title = _title(found, assignment)
        return Decision(found.policy, found, policy_message(found.policy, title, self.offline))

    async def usage(self, caller: Caller) -> Usage:
        if self.limits.knows_today(caller.name):
            return self.limits.usage(caller.name)
        return await self.run(self.limits.usage, caller.name)

    async def status(self, caller: Caller, course: str, assignment: str | None) -> dict:
        self.require_member(caller, course)
        decision = await self.decide(caller, course, assignment)
        usage = await self.usage(caller)
        return {
            "policy": decision.policy,
            "offline": self.offline,
            "model": None if self.offline else self.settings.model,
            "quota": {"used": usage.used, "limit": usage.limit,
                      "resets_at": usage.resets_at.isoformat()},
            "rate": {"per_minute": self.limits.per_minute},
            "message": decision.message,
        }

    async def prepare(self, caller: Caller, request: AskRequest) -> Prepared:
        """``request`` checked, with what applies to it; a refusal is raised (and counted)."""
        received = time.monotonic()
        policy = "none"  # until decided
        try:
            if not caller.is_person:
                raise forbidden("Only people ask the tutor, not services.")
            self.require_member(caller, request.course)
            decision = await self.decide(caller, request.course, request.assignment)
            policy = decision.policy
            if decision.policy == "off":
                raise ServiceError(403, "tutor-off", decision.message)
            data: CourseData | None = self.courses.get(request.course)
            cell = None
            if request.mode == "hint":
                found = data.assignments.get(request.assignment or "") if data else None
                cell = found.cells.get(request.cell_id or "") if found else None
                if cell is None:
                    raise ServiceError(404, "not-an-answer-cell",
                                       f"{request.cell_id!r} is not an answer cell of "
                                       f"{request.assignment}: hints are given on answer cells.")
            if not self.limits.knows_today(caller.name):
                await self.run(self.limits.usage, caller.name)
            self.limits.admit(caller.name)
        except LimitExceeded as refused:
            metrics.QUOTA_REFUSALS.labels(refused.code).inc()
            raise
        except ServiceError as refused:
            metrics.REFUSALS.labels(refused.code, policy).inc()
            raise
        metrics.REQUESTS.labels(request.mode, decision.policy).inc()
        trimmed, trim_notice = trim(request, self.settings.max_input_chars)
        notices = []
        if self.offline:
            notices.append(OFFLINE_NOTICE)
        if trim_notice:
            notices.append(trim_notice)
        if decision.policy == "hints-only" and request.mode == "chat" and not self.offline:
            notices.append(HINTS_ONLY_NOTICE)
        solutions = data.solutions if data else SolutionIndex(())
        return Prepared(caller, trimmed, decision, solutions, cell, tuple(notices), received)

    # -- the reply -----------------------------------------------------------------------------

    async def reply(self, prepared: Prepared) -> AsyncIterator[Event]:
        """The events of one reply. Closed early (the learner went away), it still logs the
        exchange, as failed."""
        started = time.monotonic()
        outcome: dict[str, Any] = {"reply": "", "refused": False, "failed": False, "error": ""}
        recorded = False
        model_events = None
        try:
            for notice in prepared.notices:
                yield {"type": "notice", "text": notice}
            try:
                if self.offline:
                    text = await self._offline_reply(prepared)
                    outcome["reply"] = text
                    self._first_token(prepared, "offline")
                    yield {"type": "delta", "text": text}
                else:
                    model_events = self._model_reply(prepared, outcome)
                    waiting = True
                    async for event in model_events:
                        if waiting and event["type"] == "delta":
                            self._first_token(prepared, "model")
                            waiting = False
                        yield event
            except ModelFailed as failed:
                metrics.MODEL_ERRORS.labels(failed.kind).inc()
                outcome.update(failed=True, error=failed.detail, reply="")
                row = await self._record(prepared, outcome, started)
                recorded = True
                log.warning("exchange %s failed: %s", row.id, failed.detail)
                yield {"type": "error", "message": failed.message}
                return
            except Exception:  # a bug must end this reply, never the service
                log.exception("the reply to %s failed", prepared.caller.name)
                metrics.MODEL_ERRORS.labels(metrics.INTERNAL).inc()
                outcome.update(failed=True, error="internal error", reply="")
                await self._record(prepared, outcome, started)
                recorded = True
                yield {"type": "error", "message": FAILED_MESSAGE}
                return
            row = await self._record(prepared, outcome, started)
            recorded = True
            yield {"type": "done", "exchange_id": row.id, "offline": self.offline,
                   "refused": outcome["refused"]}
        finally:
            if model_events is not None:
                await model_events.aclose()
            if not recorded:
                outcome.update(failed=True, error="the learner left before the reply ended")
                await self._record(prepared, outcome, started)

    @staticmethod
    def _first_token(prepared: Prepared, source: str) -> None:
        metrics.FIRST_TOKEN_SECONDS.labels(source).observe(time.monotonic() - prepared.received)

    async def _offline_reply(self, prepared: Prepared) -> str:
        request = prepared.request
        if request.mode == "explain":
            assert request.error is not None
            return offline.explain(request.error, request.cell_source)
        assignment = prepared.decision.assignment
        assignment_hints = assignment.hints if assignment else ()
        if request.mode == "hint":
            cell = prepared.cell
            assert cell is not None
            hints = offline.ranked_hints(cell.hints, assignment_hints, request.cell_source,
                                         request.context_markdown)
            given = await self.run(self.exchanges.hints_given, prepared.caller.name,
                                   request.course, request.assignment, cell.cell_id)
            return offline.hint(hints, given)
        if assignment_hints:
            listed = "\n".join(f"- {hint}" for hint in assignment_hints)
            return (f"{offline.OFFLINE_CHAT}\n\nYour instructors' hints for "
                    f"{_title(assignment, request.assignment)}:\n\n{listed}")
        return offline.OFFLINE_CHAT

    async def _model_reply(self, prepared: Prepared, outcome: dict[str, Any]
                           ) -> AsyncIterator[Event]:
        assert self.model is not None
        request = prepared.request
        cell_hints = prepared.cell.hints if prepared.cell else ()
        messages = prompts.messages(request, prepared.decision.policy,
                                    prepared.decision.assignment, cell_hints)
        guard = prepared.solutions.guard(request.cell_source)
        pieces = self.model.stream(messages)
        try:
            async for piece in pieces:
                shown = guard.feed(piece)
                if shown:
                    yield {"type": "delta", "text": shown}
                if guard.leak:
                    break
        finally:
            await pieces.aclose()
        if guard.leak is None:
            rest = guard.finish()
            if rest:
                yield {"type": "delta", "text": rest}
        outcome["reply"] = guard.released_text
        if guard.leak is not None:
            outcome["refused"] = True
            metrics.REFUSALS.labels("leak", prepared.decision.policy).inc()
            leaked = guard.leak.region
            log.warning("refused leak: %s asked about %s/%s, the reply showed %d line(s) of "
                        "the solution of %s", prepared.caller.name, request.course,
                        request.assignment, guard.leak.lines_shown, leaked.cell_id)
            yield {"type": "notice", "text": REFUSAL_NOTICE.format(cell=leaked.cell_id,
                                                                   assignment=leaked.assignment)}

    async def _record(self, prepared: Prepared, outcome: dict[str, Any], started: float):
        request = prepared.request
        row = await self.run(functools.partial(
            self.exchanges.record,
            course=request.course,
            assignment=request.assignment,
            learner=prepared.caller.name,
            mode=request.mode,
            cell_id=request.cell_id,
            error_type=request.error_type,
            question=request.question,
            reply=outcome["reply"],
            offline=self.offline,
            refused=outcome["refused"],
            failed=outcome["failed"],
            error=outcome["error"],
            model=None if self.offline else self.settings.model,
            created_at=dt.datetime.now(dt.UTC),
            duration_ms=int((time.monotonic() - started) * 1000),
        ))
        log.info("exchange %s: %s %s/%s %s%s%s%s", row.id, prepared.caller.name, request.course,
                 request.assignment or "-", request.mode, " offline" if self.offline else "",
                 " refused" if outcome["refused"] else "", " failed" if outcome["failed"] else "")
        return row

    async def close(self) -> None:
        if self.model:
            await self.model.close()
