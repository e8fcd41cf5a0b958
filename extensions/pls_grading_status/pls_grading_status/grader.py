"""The grader's status endpoint as this server calls it (docs/grading.md, "Grading status").

``GET {PLS_GRADER_URL}/courses/{course}/assignments/{assignment}/submissions/{id}/status`` with
this server's own hub token (``JUPYTERHUB_API_TOKEN``, the learner's): the grader answers for
the learner's own submissions only. A failure is a :class:`GraderProblem`, a sentence for the
learner; the browser then keeps showing the last state it had.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from tornado.httpclient import AsyncHTTPClient, HTTPRequest

NO_ANSWER = 599  # tornado's code for "no HTTP answer at all" (refused, reset, timed out)


class GraderProblem(Exception):
    """The grader could not be asked, or refused: ``message`` says so to the learner."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class GraderService:
    """The grader's API at ``url`` (``PLS_GRADER_URL``, e.g.
    ``http://172.17.0.1:10101/services/grader/api``, as the exchange uses it; empty: no
    grader), called with ``token``."""

    url: str
    token: str
    connect_timeout: float = 5.0
    request_timeout: float = 10.0

    async def status(self, course: str, assignment: str, submission_id: str) -> dict[str, Any]:
        """The grading status of one of the learner's submissions."""
        if not self.url:
            raise GraderProblem("The grader's address is not set for this server "
                                "(PLS_GRADER_URL).")
        path = "/".join(quote(part, safe="") for part in (
            "courses", course, "assignments", assignment, "submissions", submission_id, "status"
        ))
        request = HTTPRequest(
            f"{self.url.rstrip('/')}/{path}",
            headers={"Authorization": f"token {self.token}", "Accept": "application/json"},
            connect_timeout=self.connect_timeout, request_timeout=self.request_timeout,
            follow_redirects=False,
        )
        try:
            response = await AsyncHTTPClient().fetch(request, raise_error=False)
        except OSError as exc:  # refused or unresolvable before tornado could say 599
            raise GraderProblem(f"The grader does not answer ({type(exc).__name__}).") from exc
        if response.code == NO_ANSWER:
            raise GraderProblem("The grader does not answer right now.")
        try:
            body = json.loads(response.body or b"null")
        except ValueError:
            body = None
        if response.code != 200:
            said = body.get("message") if isinstance(body, dict) else None
            raise GraderProblem(str(said) if said else
                                f"The grader refused to say (HTTP {response.code}).")
        if not isinstance(body, dict) or not isinstance(body.get("state"), str):
            raise GraderProblem("The grader sent an answer this server cannot read.")
        return body
