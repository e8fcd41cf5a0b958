"""``GET /pls-grading-status/submissions``: the submissions this server follows, newest first,
each with the grader's status (docs/grading.md, "Grading status").

The grader is asked only for those without a result yet (all at once), and only when the
browser asks: the page asks only while a submission waits, so an idle server stays idle for
the culler. A submission the grader cannot be asked about keeps its last known state, with
``problem`` saying why.
"""

from __future__ import annotations

import asyncio
import json

from jupyter_server.base.handlers import APIHandler
from tornado import web

from .followed import Followed, Submission
from .grader import GraderProblem, GraderService


class SubmissionsHandler(APIHandler):
    def initialize(self, followed: Followed, grader: GraderService) -> None:
        self.followed = followed
        self.grader = grader

    @web.authenticated
    async def get(self) -> None:
        listed = self.followed.newest_first()
        await asyncio.gather(*(self.refresh(s) for s in listed if not s.final))
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps({"submissions": [s.as_json() for s in listed]}))

    async def refresh(self, submission: Submission) -> None:
        try:
            submission.status = await self.grader.status(
                submission.course, submission.assignment, submission.id
            )
            submission.problem = ""
        except GraderProblem as problem:
            submission.problem = problem.message
