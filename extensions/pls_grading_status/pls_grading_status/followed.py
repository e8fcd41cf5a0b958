"""The submissions this server follows: what the exchange announced, with the grader's last word.

nbgrader's exchange (``pls_grading.exchange.HttpExchangeSubmit``) runs inside this server when
the Assignments panel submits; once the grader has stored the submission it emits
:data:`SUBMITTED_EVENT` on the server's event bus. The extension registers the event's schema
(so JupyterLab's event socket carries it to the browser) and listens to it here, keeping the
newest :data:`KEEP` submissions in memory: a server restarted has nothing to follow, and by
then the submissions have their result on the LMS's assignment page.

The learner's own browser can emit the same event (jupyter_server's ``POST /api/events``), so
nothing here is trusted: a made-up submission only makes this server ask the grader, with the
learner's own token, about an id the grader answers for only when it is the learner's; the names
go into the grader's URL quoted, and at most :data:`KEEP` are kept.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

SUBMITTED_EVENT = "urn:python-learning-studio:events:grading:submitted:v1"
"""The event's id: the exchange emits it under this name (``pls_grading.exchange``)."""

SUBMITTED_SCHEMA: dict[str, Any] = {
    "$id": SUBMITTED_EVENT,
    "version": "1",
    "title": "A submission stored by the grader",
    "personal-data": True,
    "description": (
        "nbgrader's exchange sent an assignment folder to the studio's grader, which stored it "
        "as a submission and queued its grading. The grading status extension follows it."
    ),
    "type": "object",
    "required": ["course", "assignment", "submission", "submitted_at"],
    "properties": {
        "course": {"type": "string", "description": "The course's slug."},
        "assignment": {"type": "string", "description": "The assignment's name."},
        "submission": {"type": "string", "description": "The grader's submission id."},
        "submitted_at": {"type": "string", "description": "When, ISO 8601 in UTC."},
    },
}

KEEP = 20
"""The most submissions one server remembers (the oldest are forgotten first)."""

FINAL_STATES = frozenset({"graded", "could-not-be-graded", "invalid"})
"""The grader's states after which a submission's status no longer changes."""


@dataclass
class Submission:
    """One followed submission: what the event said, and the grader's last answer."""

    course: str
    assignment: str
    id: str
    submitted_at: str
    status: dict[str, Any] | None = None
    problem: str = ""

    @property
    def final(self) -> bool:
        return self.status is not None and self.status.get("state") in FINAL_STATES

    def as_json(self) -> dict[str, Any]:
        """The grader's status (docs/grading.md), or ``submitted`` before its first answer,
        with ``problem`` when the grader could not be asked just now."""
        answer = dict(self.status) if self.status else {"state": "submitted"}
        answer.update(id=self.id, course=self.course, assignment=self.assignment,
                      submitted_at=self.submitted_at)
        if self.problem:
            answer["problem"] = self.problem
        return answer


@dataclass
class Followed:
    """The newest :data:`KEEP` submissions announced on this server, by id."""

    submissions: OrderedDict[str, Submission] = field(default_factory=OrderedDict)

    def add(self, data: dict[str, Any]) -> None:
        """Follow the submission an event announced (again: nothing changes)."""
        submission_id = str(data["submission"])
        if submission_id in self.submissions:
            return
        self.submissions[submission_id] = Submission(
            course=str(data["course"]), assignment=str(data["assignment"]), id=submission_id,
            submitted_at=str(data["submitted_at"]),
        )
        while len(self.submissions) > KEEP:
            self.submissions.popitem(last=False)

    def newest_first(self) -> list[Submission]:
        return list(reversed(self.submissions.values()))

    async def listener(self, logger: Any, schema_id: str, data: dict[str, Any]) -> None:
        """The event bus's listener (``EventLogger.add_listener``)."""
        self.add(data)
