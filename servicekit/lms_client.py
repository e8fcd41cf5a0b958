"""The one client of the LMS's API v1 for the hub services (the grader, the tutor).

A hub service calls the LMS server to server, at ``LMS_INTERNAL_URL``, as its service account:
``Authorization: Token <token>`` (``LMS_GRADER_TOKEN``, ``LMS_TUTOR_TOKEN``). What the LMS's
answers mean is decided here, once:

- 2xx with JSON: the answer;
- 429, 5xx, a connection error or a timeout: the LMS cannot answer now, so the request is tried
  again ``retries`` times, waiting a little longer each time (exponential backoff with jitter,
  at most ``max_backoff_seconds``; a ``Retry-After`` in seconds is honoured), then
  :class:`LMSUnavailable`. Only requests the LMS may receive twice are retried (reads, and
  writes the LMS keys, like a grade by its submission id);
- any other 4xx: the LMS refuses this request for good (wrong token, unknown course, bad field):
  :class:`LMSRejected` with the LMS's own words, never retried;
- 2xx with something else than JSON (a proxy's page): :class:`LMSUnavailable`.

:meth:`LMSClient.pages` follows the ``next`` links of the API's paginated lists, on the LMS's
base URL only (the token never goes anywhere else). The client is synchronous (``requests``,
one connection pool); a service on an event loop calls it off the loop.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import requests

log = logging.getLogger(__name__)

MAX_PAGES = 20


class LMSError(Exception):
    """A call to the LMS that did not succeed."""


class LMSRejected(LMSError):
    """The LMS answered 4xx: the same request would be refused again."""

    def __init__(self, status: int, detail: str, what: str = "the request") -> None:
        self.status = status
        self.detail = detail
        super().__init__(f"the LMS refused {what} ({status}): {detail}")


class LMSUnavailable(LMSError):
    """No usable answer (after every retry: connection errors, timeouts, 429, 5xx)."""


def _detail(response: requests.Response) -> str:
    """The LMS's error message: DRF's ``detail`` or its errors by field, else the text."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:500] or response.reason
    if isinstance(body, dict) and "detail" in body:
        return str(body["detail"])
    return json.dumps(body)[:500]


class LMSClient:
    """Calls the LMS at ``base_url`` with a service account's ``token`` (``variable`` names
    where the token comes from, for the error when it is empty)."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        variable: str = "the LMS token",
        retries: int = 5,
        backoff_seconds: float = 0.5,
        max_backoff_seconds: float = 30.0,
        timeout_seconds: float = 30.0,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not token:
            raise ValueError(f"{variable} is empty: the LMS's API needs the service "
                             "account's token")
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.retries = retries
        self.backoff_seconds = backoff_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self.timeout_seconds = timeout_seconds
        self.session = session or requests.Session()
        self.sleep = sleep

    def url(self, path: str) -> str:
        """The URL of ``path`` (``/api/v1/...``) on the LMS."""
        return self.base_url + path

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        what: str = "the request",
    ) -> Any:
        """``method path`` (with ``params``, a ``json`` body); the answer's JSON. Raises
        :class:`LMSRejected` (4xx) or :class:`LMSUnavailable` (nothing better after
        ``retries`` retries). ``what`` names the request in errors and the log."""
        url = self.url(path)
        headers = {"Authorization": f"Token {self.token}", "Accept": "application/json"}
        problem = ""
        retry_after: str | None = None
        tries = self.retries + 1
        for attempt in range(tries):
            if attempt:
                log.warning("%s: %s; trying again", what, problem)
                self.sleep(self._delay(attempt, retry_after))
            try:
                response = self.session.request(
                    method, url, params=params, json=json, headers=headers,
                    timeout=self.timeout_seconds, allow_redirects=False,
                )
            except requests.RequestException as exc:
                problem, retry_after = f"{type(exc).__name__}: {exc}", None
                continue
            if response.status_code == 429 or response.status_code >= 500:
                problem = f"{response.status_code}: {_detail(response)}"
                retry_after = response.headers.get("Retry-After")
                continue
            if not 200 <= response.status_code < 300:
                raise LMSRejected(response.status_code, _detail(response), what)
            try:
                return response.json()
            except ValueError:
                raise LMSUnavailable(f"the LMS at {url} answered {what} with something that "
                                     "is not JSON") from None
        raise LMSUnavailable(f"the LMS at {url} did not answer {what} after {tries} "
                             f"{'try' if tries == 1 else 'tries'}: {problem}")

    def pages(
        self, path: str, *, what: str = "the request", max_pages: int = MAX_PAGES
    ) -> list[Any]:
        """Every item of the paginated list at ``path`` (DRF's ``{"results", "next"}``, or a
        plain list), at most ``max_pages`` pages of it."""
        items: list[Any] = []
        next_path: str | None = path
        for _page in range(max_pages):
            if next_path is None:
                break
            body = self.request("GET", next_path, what=what)
            if isinstance(body, list):
                return items + body
            results = body.get("results") if isinstance(body, dict) else None
            if not isinstance(results, list):
                raise LMSUnavailable(f"the LMS answered {what} with something that is not a "
                                     "list of results")
            items.extend(results)
            next_path = self._next_path(body.get("next"), what)
        return items

    def _next_path(self, link: Any, what: str) -> str | None:
        """The path and query of a ``next`` link, to be asked of ``base_url`` again."""
        if not link:
            return None
        if not isinstance(link, str):
            raise LMSUnavailable(f"the LMS answered {what} with a 'next' that is not a link")
        parts = urlsplit(link)
        path = parts.path
        prefix = urlsplit(self.base_url).path  # the LMS served under a path: the link has it too
        if prefix and path.startswith(prefix + "/"):
            path = path[len(prefix):]
        return path + (f"?{parts.query}" if parts.query else "")

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        if retry_after and retry_after.isdigit():
            return min(float(retry_after), self.max_backoff_seconds)
        delay = min(self.backoff_seconds * 2 ** (attempt - 1), self.max_backoff_seconds)
        return delay * random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not a secret
