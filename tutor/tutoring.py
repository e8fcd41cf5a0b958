"""The tutor's decisions, in one place: who may ask what, under which policy, and the reply.

:meth:`Tutor.decide` is the one place that decides where a request belongs (which course's
assignment or lesson, from what the request shows of its notebook, checked against the course
files: ``tutor.placement``) and so which policy applies. :meth:`Tutor.prepare` checks a request
before anything streams (membership, the placement and its policy, the answer cell, the limits,
the trimming) and raises
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

from courses.naming import assignment_page_slug, board_draft_path
from servicekit.errors import ServiceError, forbidden, not_found
from servicekit.hub_auth import Caller
from tutor import metrics, offline, prompts
from tutor.ask import AskRequest, trim
from tutor.course_data import AnswerCell, CourseData, CourseLibrary
from tutor.guard import SolutionIndex
from tutor.limits import LimitExceeded, Limits, Usage
from tutor.model import Model, ModelFailed
from tutor.placement import LESSON, Shown
from tutor.policy import AssignmentPolicy, PolicySource, strictest, strictness
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
class Place:
    """A notebook of one of the caller's courses that a request showed: an assignment's, or a
    lesson's (``assignment`` None; its policy is ``TUTOR_DEFAULT_POLICY``)."""

    course: str
    policy: str
    title: str
    assignment: AssignmentPolicy | None = None
    lesson: str | None = None
    """The lesson's slug, for a lesson's notebook."""

    @property
    def page_slug(self) -> str | None:
        """The slug of the place's page on the LMS (the course import names them)."""
        if self.assignment is not None:
            return assignment_page_slug(self.assignment.name)
        return self.lesson


@dataclass(frozen=True)
class Decision:
    """Where a request belongs and what applies to it."""

    policy: str
    course: str
    """The course of the place whose policy applies (the request's when it was not placed)."""
    assignment: AssignmentPolicy | None
    """The assignment whose policy applies; None for a lesson or a request placed nowhere."""
    message: str
    places: tuple[Place, ...] = ()
    """Every place the request showed, and the assignment it named; empty: placed nowhere."""


@dataclass(frozen=True)
class Prepared:
    caller: Caller
    request: AskRequest
    decision: Decision
    solutions: SolutionIndex
    cell: AnswerCell | None
    notices: tuple[str, ...]
    course: str
    """Where the exchange is logged: the decision's course, or the answer cell's."""
    assignment: AssignmentPolicy | None
    """The assignment the reply is about (its hints guide it): the decision's, or the answer
    cell's."""
    received: float = 0.0
    """When the request came in (``time.monotonic()``): the first token's wait starts there."""


def _name(assignment: AssignmentPolicy | None) -> str | None:
    return assignment.name if assignment else None


def _title(decision_assignment: AssignmentPolicy | None, name: str | None) -> str:
    if decision_assignment:
        return f"“{decision_assignment.title}”"
    return f"“{name}”" if name else "this course"


def shown_by(request: AskRequest) -> Shown:
    """What a request shows of its notebook: its ids (``cell_id`` is a grade id) and the text
    it asks about, untrimmed."""
    grade_ids = {*request.grade_ids, *([request.cell_id] if request.cell_id else [])}
    text = "\n".join((request.cell_source, request.context_markdown, request.question or ""))
    return Shown(frozenset(request.cell_ids), frozenset(grade_ids), text)


def unplaced_message(policy: str, title: str, offline_mode: bool) -> str:
    """The message for a request placed nowhere whose policy is ``title``'s (the strictest)."""
    cannot = "The tutor cannot tell which assignment this notebook belongs to"
    if policy == "off":
        return (f"{cannot}, and it is off for {title}, so it is off here too. Ask from the "
                "assignment's or the lesson's own notebook; your instructors' hints on the "
                "assignment page are still there.")
    if policy == "hints-only" and not offline_mode:
        return (f"{cannot}, so it gives hints only, as for {title}: explanations and hints, "
                "no code.")
    return policy_message(policy, "this course", offline_mode)


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


def ask_class(lms_public_url: str, course: str, decision: Decision) -> dict:
    """Where the panel's "Ask the class" drafts a thread (``GET status``): the LMS's draft page
    on the board of the course the notebook belongs to (``url``), and the page of the lesson or
    assignment it is a notebook of (``about``, its LMS page slug) when the request showed exactly
    one; otherwise the board of ``course`` and no page. The LMS checks both again: this only
    saves the learner from choosing."""
    pages = {(place.course, place.page_slug) for place in decision.places}
    board, about = next(iter(pages)) if len(pages) == 1 else (course, None)
    return {"url": lms_public_url + board_draft_path(board), "about": about}


def _solutions(courses: dict[str, CourseData | None]) -> SolutionIndex:
    """The solution regions of every course a request may belong to, for the leak guard."""
    indexes = [data.solutions for data in courses.values() if data is not None]
    if len(indexes) == 1:
        return indexes[0]
    return SolutionIndex(region for index in indexes for region in index.regions)


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

    def courses_of(self, caller: Caller, course: str) -> dict[str, CourseData | None]:
        """The courses a request of ``caller`` in ``course`` may belong to: that one (first,
        with or without a folder) and every other course of the caller that has a folder."""
        found: dict[str, CourseData | None] = {course: self.courses.get(course)}
        for slug in caller.courses():
            if slug not in found and (data := self.courses.get(slug)) is not None:
                found[slug] = data
        return found

    async def decide(self, caller: Caller, course: str, assignment: str | None,
                     shown: Shown) -> Decision:
        """Where a request of ``caller`` belongs and the policy that applies: the one place
        that decides it (docs/tutor.md, "Which policy applies").

        The request is placed by what it shows of its notebook (``shown``), checked against
        the files of the caller's courses (``tutor.placement``), never by a field alone.
        ``assignment``, the client's word, must name an assignment of ``course`` the caller may
        know of (404 otherwise) and counts only beside a placement. The policy is the strictest
        of every place the request showed and the assignment it named; a request placed nowhere
        gets the strictest policy of all the caller's courses (``off`` > ``hints-only`` >
        ``full``).
        """
        courses = self.courses_of(caller, course)
        shown_in = {slug: data.places.places(shown) if data else set()
                    for slug, data in courses.items()}
        policies = await self._policies(
            courses, [course, *(slug for slug, found in shown_in.items() if found)], {})

        def visible(slug: str, found: AssignmentPolicy) -> bool:
            return found.released or caller.teaches(slug)

        hinted = policies[course].get(assignment) if assignment is not None else None
        if assignment is not None and (hinted is None or not visible(course, hinted)):
            raise not_found(f"There is no assignment {assignment!r} in {course}.")
        places: list[Place] = []
        for slug, found_here in shown_in.items():
            for kind, name in sorted(found_here):
                if kind == LESSON:
                    lessons = courses[slug].lessons if courses[slug] else {}
                    places.append(Place(slug, self.settings.default_policy,
                                        f"“{lessons.get(name, name)}”", lesson=name))
                elif (found := policies[slug].get(name)) is not None:
                    places.append(Place(slug, found.policy, _title(found, name), found))
        if not places:
            policies = await self._policies(courses, list(courses), policies)
            return self._placed_nowhere(course, [
                (slug, found) for slug, listed in policies.items() for found in listed.values()
                if visible(slug, found)])
        if hinted is not None and not any(
                p.course == course and p.assignment and p.assignment.name == hinted.name
                for p in places):
            places.append(Place(course, hinted.policy, _title(hinted, hinted.name), hinted))
        governing = min(places, key=lambda place: strictness(place.policy))
        return Decision(governing.policy, governing.course, governing.assignment,
                        policy_message(governing.policy, governing.title, self.offline),
                        tuple(places))

    async def _policies(self, courses: dict[str, CourseData | None], slugs: list[str],
                        read: dict[str, dict[str, AssignmentPolicy]]
                        ) -> dict[str, dict[str, AssignmentPolicy]]:
        """``read`` and the assignments' policies of the ``slugs`` not in it (read together:
        a slow LMS costs one wait, not one per course)."""
        missing = [slug for slug in dict.fromkeys(slugs) if slug not in read]
        found = await asyncio.gather(*(self.policies.assignments(slug, courses[slug])
                                       for slug in missing))
        return {**read, **dict(zip(missing, found, strict=True))}

    def _placed_nowhere(self, course: str,
                        assignments: list[tuple[str, AssignmentPolicy]]) -> Decision:
        """The decision for a request placed nowhere: the strictest policy of ``assignments``
        (every assignment of the caller's courses they may know of) and the default."""
        default = self.settings.default_policy
        policy = strictest([default, *(found.policy for _slug, found in assignments)])
        stricter = [(slug, found) for slug, found in assignments
                    if found.policy == policy and policy != default]
        if not stricter:
            return Decision(policy, course, None,
                            policy_message(policy, "this course", self.offline))
        slug, found = stricter[0]
        title = _title(found, found.name) + ("" if slug == course else f" ({slug})")
        return Decision(policy, course, None, unplaced_message(policy, title, self.offline))

    async def usage(self, caller: Caller) -> Usage:
        if self.limits.knows_today(caller.name):
            return self.limits.usage(caller.name)
        return await self.run(self.limits.usage, caller.name)

    async def status(self, caller: Caller, course: str, assignment: str | None,
                     shown: Shown) -> dict:
        self.require_member(caller, course)
        decision = await self.decide(caller, course, assignment, shown)
        usage = await self.usage(caller)
        return {
            "policy": decision.policy,
            "offline": self.offline,
            "model": None if self.offline else self.settings.model,
            "quota": {"used": usage.used, "limit": usage.limit,
                      "resets_at": usage.resets_at.isoformat()},
            "rate": {"per_minute": self.limits.per_minute},
            "message": decision.message,
            "ask_class": ask_class(self.settings.lms_public_url, course, decision),
        }

    async def prepare(self, caller: Caller, request: AskRequest) -> Prepared:
        """``request`` checked, with what applies to it; a refusal is raised (and counted)."""
        received = time.monotonic()
        policy = "none"  # until decided
        try:
            if not caller.is_person:
                raise forbidden("Only people ask the tutor, not services.")
            self.require_member(caller, request.course)
            decision = await self.decide(caller, request.course, request.assignment,
                                         shown_by(request))
            policy = decision.policy
            if decision.policy == "off":
                raise ServiceError(403, "tutor-off", decision.message)
            courses = self.courses_of(caller, request.course)
            course, assignment, cell = decision.course, decision.assignment, None
            if request.mode == "hint":
                place, cell = self._answer_cell(decision, courses, request.cell_id or "")
                course, assignment = place.course, place.assignment
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
        return Prepared(caller, trimmed, decision, _solutions(courses), cell, tuple(notices),
                        course, assignment, received)

    def _answer_cell(self, decision: Decision, courses: dict[str, CourseData | None],
                     cell_id: str) -> tuple[Place, AnswerCell]:
        """The answer cell ``cell_id`` of an assignment the request was placed in, and that
        place; 404 ``not-an-answer-cell`` when there is none."""
        named = []
        for place in decision.places:
            data = courses.get(place.course)
            if place.assignment is None or data is None:
                continue
            named.append(place.assignment.name)
            found = data.assignments.get(place.assignment.name)
            cell = found.cells.get(cell_id) if found else None
            if cell is not None:
                return place, cell
        where = " or ".join(dict.fromkeys(named)) or "an assignment this notebook belongs to"
        raise ServiceError(404, "not-an-answer-cell", f"{cell_id!r} is not an answer cell of "
                           f"{where}: hints are given on answer cells.")

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
        assignment = prepared.assignment
        assignment_hints = assignment.hints if assignment else ()
        if request.mode == "hint":
            cell = prepared.cell
            assert cell is not None
            hints = offline.ranked_hints(cell.hints, assignment_hints, request.cell_source,
                                         request.context_markdown)
            given = await self.run(self.exchanges.hints_given, prepared.caller.name,
                                   prepared.course, cell.assignment, cell.cell_id)
            return offline.hint(hints, given)
        if assignment_hints:
            listed = "\n".join(f"- {hint}" for hint in assignment_hints)
            return (f"{offline.OFFLINE_CHAT}\n\nYour instructors' hints for "
                    f"{_title(assignment, assignment.name)}:\n\n{listed}")
        return offline.OFFLINE_CHAT

    async def _model_reply(self, prepared: Prepared, outcome: dict[str, Any]
                           ) -> AsyncIterator[Event]:
        assert self.model is not None
        request = prepared.request
        cell_hints = prepared.cell.hints if prepared.cell else ()
        messages = prompts.messages(request, prepared.decision.policy, prepared.assignment,
                                    cell_hints)
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
                        "the solution of %s", prepared.caller.name, prepared.course,
                        _name(prepared.assignment), guard.leak.lines_shown, leaked.cell_id)
            yield {"type": "notice", "text": REFUSAL_NOTICE.format(cell=leaked.cell_id,
                                                                   assignment=leaked.assignment)}

    async def _record(self, prepared: Prepared, outcome: dict[str, Any], started: float):
        request = prepared.request
        row = await self.run(functools.partial(
            self.exchanges.record,
            course=prepared.course,
            assignment=_name(prepared.assignment),
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
        log.info("exchange %s: %s %s/%s %s%s%s%s", row.id, prepared.caller.name,
                 prepared.course, _name(prepared.assignment) or "-", request.mode,
                 " offline" if self.offline else "", " refused" if outcome["refused"] else "",
                 " failed" if outcome["failed"] else "")
        return row

    async def close(self) -> None:
        if self.model:
            await self.model.close()
